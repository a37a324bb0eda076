/// Extension attributes a source adds to its events (``IncomingDocument/attributes``), e.g.
/// the properties of a queue message.
///
/// CloudEvents extension names are lowercase `a-z0-9` only. A name that breaks that rule, or
/// that Outpost itself writes (``reservedNames``), is left out of the event rather than
/// written twice or invalid; values are JSON strings. They are written sorted by name, after
/// Outpost's own attributes and before `traceparent`.
public enum ExtensionAttributes {
    /// Attribute names the encoder writes itself (context attributes, data, Outpost's extensions).
    public static let reservedNames: Set<String> = [
        "specversion", "id", "source", "type", "subject", "time", "datacontenttype", "dataschema", "data",
        "data_base64", "dataref", "partitionkey", "sequence", "agentid", "region", "idoctype", "cimtype",
        "mestyp", "docnum", "mandt", "sndprn", "rcvprn", "credat", "filename", "filesha256", "ordinal",
        "traceparent", "tracestate", "reason",
    ]

    /// Whether `name` may be added: 1–64 characters `a-z0-9`, and not reserved.
    public static func isAllowed(_ name: String) -> Bool {
        let utf8 = name.utf8
        guard (1...64).contains(utf8.count), !reservedNames.contains(name) else { return false }
        return utf8.allSatisfy { (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) }
    }

    /// `,"name":"value"` for each allowed attribute, sorted by name.
    public static func members(_ attributes: [String: String]) -> [UInt8] {
        guard !attributes.isEmpty else { return [] }
        var writer = JSONWriter(capacity: 256)
        for name in attributes.keys.sorted() where isAllowed(name) {
            writer.raw(",")
            writer.string(name)
            writer.raw(":")
            writer.string(attributes[name]!)
        }
        return writer.bytes
    }
}
