/// The document formats Outpost reads (`format:` in a source's configuration).
public enum DocumentFormat: String, Sendable, CaseIterable {
    /// SAP IDoc as XML (`<ORDERS05><IDOC BEGIN="1">…`).
    case idocXML = "idoc-xml"
    /// SAP IDoc flat file (`EDI_DC40` control record lines, `EDI_DD40`-style data records).
    case idocFlat = "idoc-flat"
    /// Any bytes: one event per input, no parsing.
    case raw

    /// Tells the format of a document from its first bytes (`format: auto`).
    ///
    /// Skips a UTF-8/UTF-16 byte order mark and leading white space; `<` means XML,
    /// `EDI_DC40` means a flat IDoc. Returns `nil` when neither matches.
    public static func detect<C: Collection>(prefix: C) -> DocumentFormat? where C.Element == UInt8 {
        var bytes = Array(prefix.prefix(4096))
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        else if bytes.starts(with: [0xFE, 0xFF]) || bytes.starts(with: [0xFF, 0xFE]) { return .idocXML }
        guard let start = bytes.firstIndex(where: { !($0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D) }) else {
            return nil
        }
        let rest = bytes[start...]
        if rest.first == UInt8(ascii: "<") { return .idocXML }
        if rest.starts(with: Array("EDI_DC40".utf8)) { return .idocFlat }
        return nil
    }
}
