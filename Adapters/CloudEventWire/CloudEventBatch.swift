import EventModel

/// The `application/cloudevents-batch+json` body for a batch: the stored JSON objects with
/// the `sequence` attribute spliced in, no re-encoding.
public enum CloudEventBatch {
    /// How the body grows: "[" and "]" around objects joined by ","; each object is the
    /// stored JSON with its "{" replaced by the sequence prefix. Exact for a batch of one
    /// event or more.
    public static let size = BatchBodySize(framing: 1, perEvent: sequencePrefixLength)

    /// Total body size for `events`, to check `batch_max_bytes` before building it.
    public static func bodySize<S: Sequence>(_ events: S) -> Int where S.Element == OutboundEvent {
        var empty = true
        let n = size.of(storedBytes: events.lazy.map { empty = false; return $0.json.count })
        return empty ? 2 : n
    }

    /// `{"sequence":"00000000000000000042",` is this many bytes.
    public static let sequencePrefixLength = 35

    public static func body(_ events: [OutboundEvent]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(bodySize(events))
        out.append(UInt8(ascii: "["))
        for (i, e) in events.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            appendEvent(e, to: &out)
        }
        out.append(UInt8(ascii: "]"))
        return out
    }

    /// One event as a JSON object with `sequence` first.
    public static func appendEvent(_ e: OutboundEvent, to out: inout [UInt8]) {
        out.append(contentsOf: Array("{\"sequence\":\"".utf8))
        let digits = Array(String(max(0, e.sequence)).utf8)
        out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: max(0, 20 - digits.count)))
        out.append(contentsOf: digits)
        out.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ",")])
        out.append(contentsOf: e.json.dropFirst())
    }
}
