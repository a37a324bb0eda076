import EventModel

/// An event whose id the outbox already holds with other document data: not the same
/// document again (which is dropped), but another one under a reused id, e.g. an IDoc
/// number SAP hands out again after a system refresh.
///
/// Such an event is never dropped: it is kept as a dead letter with reason `id_conflict`,
/// under the id `<id>~conflict-<16 hex digits of an FNV-1a hash of its data>` (written into
/// its JSON too, so that a replay reaches the hub as an event of its own), where
/// `outpost dlq list|show` shows it and `outpost dlq replay|purge` decide its fate. The id
/// is deterministic, so reading the same input again adds no second copy.
///
/// Only the `data` (or `data_base64`) member is compared: the other members (pickup time,
/// file name, trace context) differ between two reads of the same document.
enum IDConflict {
    /// How the stored reason begins.
    static let reasonCode = "id_conflict"

    /// The reason stored with the dead letter.
    static func reason(for id: String) -> String {
        reasonCode + ": the outbox already holds \(id) with other data (an id reused, e.g. an IDoc number after an "
            + "SAP system refresh); replay to send this version under its own id, or purge it"
    }

    /// The `"data":…` or `"data_base64":…` member of an event's JSON, up to the next member
    /// the encoder writes after it (`partitionkey`), or to the end.
    static func data(of json: [UInt8]) -> ArraySlice<UInt8> {
        let start = find(dataMember, in: json[...]) ?? find(base64Member, in: json[...])
        guard let start else { return json[...] }
        let end = find(endMember, in: json[start...]) ?? json.endIndex
        return json[start..<end]
    }

    /// The id the conflicting version is kept under.
    static func conflictID(for id: String, data: ArraySlice<UInt8>) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in data {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return id + "~conflict-" + String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// `json` with the value of its leading `"id"` member replaced by `id` (the encoder
    /// writes it right after `specversion`); unchanged when it does not start that way.
    static func replacingID(in json: [UInt8], with id: String) -> [UInt8] {
        guard json.starts(with: idPrefix) else { return json }
        var index = idPrefix.count
        while index < json.count, json[index] != UInt8(ascii: "\"") {
            index += json[index] == UInt8(ascii: "\\") ? 2 : 1
        }
        guard index < json.count else { return json }
        var escaped: [UInt8] = []
        id.utf8CString.withUnsafeBytes { raw in
            JSONWriter.appendEscaped(UnsafeRawBufferPointer(rebasing: raw.dropLast()), to: &escaped)
        }
        return Array(json[..<idPrefix.count]) + escaped + json[index...]
    }

    private static let idPrefix = Array("{\"specversion\":\"1.0\",\"id\":\"".utf8)
    private static let dataMember = Array(",\"data\":".utf8)
    private static let base64Member = Array(",\"data_base64\":".utf8)
    private static let endMember = Array(",\"partitionkey\":".utf8)

    private static func find(_ needle: [UInt8], in haystack: ArraySlice<UInt8>) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        var index = haystack.startIndex
        while index <= haystack.endIndex - needle.count {
            if haystack[index] == needle[0], haystack[index..<index + needle.count].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }
}
