import EventModel

/// The `EDI_DC40` fields Outpost keeps, matched on the element name's bytes so that the
/// other fields cost no string at all.
enum ControlRecordFields {
    static let kept: [(name: [UInt8], field: WritableKeyPath<ControlRecord, String> & Sendable)] = [
        (Array("MANDT".utf8), \.mandt), (Array("DOCNUM".utf8), \.docnum), (Array("IDOCTYP".utf8), \.idoctyp),
        (Array("CIMTYP".utf8), \.cimtyp), (Array("MESTYP".utf8), \.mestyp), (Array("SNDPRN".utf8), \.sndprn),
        (Array("RCVPRN".utf8), \.rcvprn), (Array("CREDAT".utf8), \.credat), (Array("CRETIM".utf8), \.cretim),
    ]

    /// A field's text without leading and trailing spaces, tabs, CR and LF.
    static func trimmed<Bytes: BidirectionalCollection<UInt8>>(_ bytes: Bytes) -> String {
        guard let first = bytes.firstIndex(where: { !XMLSyntax.isBlank($0) }),
              let last = bytes.lastIndex(where: { !XMLSyntax.isBlank($0) })
        else { return "" }
        return String(decoding: bytes[first...last], as: UTF8.self)
    }
}
