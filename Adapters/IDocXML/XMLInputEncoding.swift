/// Tells from an input's first bytes whether it is UTF-8, so that its bytes can go into
/// records as they are (``IDocSAXReader``), or in another encoding that libxml2 must
/// transcode (``IDocXMLReader``).
///
/// It follows XML's own rules: a UTF-16 or UCS-4 byte order mark or pattern (a NUL among the
/// first two bytes) or the EBCDIC signature means
/// another encoding; otherwise the XML declaration's `encoding`, when there is one, decides,
/// and without one the input is UTF-8 (a UTF-8 byte order mark may precede it).
enum XMLInputEncoding {
    private static let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]
    private static let declarationStart = Array("<?xml".utf8)
    private static let encodingName = Array("encoding".utf8)
    private static let utf8Names: Set<String> = ["utf-8", "utf8"]

    static func isUTF8(prefix: UnsafeRawBufferPointer) -> Bool {
        var bytes = prefix[...]
        if bytes.starts(with: byteOrderMark) { bytes = bytes.dropFirst(byteOrderMark.count) }
        guard let first = bytes.first else { return true }
        if first == 0x00 || first == 0xFE || first == 0xFF { return false }
        if bytes.dropFirst().first == 0x00 { return false }
        if bytes.starts(with: [0x4C, 0x6F, 0xA7, 0x94]) { return false }
        guard bytes.starts(with: declarationStart),
              let blank = bytes.dropFirst(declarationStart.count).first, XMLSyntax.isBlank(blank)
        else { return true }
        guard let end = firstIndex(of: Array("?>".utf8), in: bytes) else { return false }
        let declaration = bytes[bytes.startIndex..<end]
        guard let name = firstIndex(of: encodingName, in: declaration) else { return true }
        var rest = declaration[(name + encodingName.count)...].drop(while: XMLSyntax.isBlank)
        guard rest.first == UInt8(ascii: "=") else { return false }
        rest = rest.dropFirst().drop(while: XMLSyntax.isBlank)
        guard let quote = rest.first, quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") else { return false }
        let value = rest.dropFirst().prefix { $0 != quote }
        return utf8Names.contains(String(decoding: value, as: UTF8.self).lowercased())
    }

    private static func firstIndex(of needle: [UInt8], in bytes: Slice<UnsafeRawBufferPointer>) -> Int? {
        guard bytes.count >= needle.count else { return nil }
        return bytes.indices.dropLast(needle.count - 1).first { bytes[$0...].starts(with: needle) }
    }
}
