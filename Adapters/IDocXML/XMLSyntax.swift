/// Byte classes of XML's grammar that several readers here share.
enum XMLSyntax {
    /// XML white space (`S`): space, tab, LF, CR.
    @inline(__always)
    static func isBlank(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }
}
