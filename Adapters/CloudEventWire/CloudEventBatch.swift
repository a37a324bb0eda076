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
        [UInt8](unsafeUninitializedCapacity: bodySize(events)) { buffer, count in
            count = write(events, into: UnsafeMutableRawBufferPointer(buffer))
        }
    }

    /// Writes the body for `events` into `out`, which must hold at least `bodySize(events)`
    /// bytes, and returns how many it wrote (that size): the body built in place, in a buffer
    /// of the caller's (the HTTP sink's request buffer), with no copy in between.
    public static func write(_ events: [OutboundEvent], into out: UnsafeMutableRawBufferPointer) -> Int {
        precondition(out.count >= bodySize(events), "the body needs \(bodySize(events)) bytes, the buffer holds \(out.count)")
        var at = 0
        out[at] = UInt8(ascii: "[")
        at += 1
        for (i, e) in events.enumerated() {
            if i > 0 {
                out[at] = UInt8(ascii: ",")
                at += 1
            }
            at += writeSequencePrefix(e.sequence, into: UnsafeMutableRawBufferPointer(rebasing: out[at...]))
            let rest = e.json.dropFirst()
            rest.withUnsafeBytes { bytes in
                UnsafeMutableRawBufferPointer(rebasing: out[at..<(at + bytes.count)]).copyMemory(from: bytes)
            }
            at += rest.count
        }
        out[at] = UInt8(ascii: "]")
        return at + 1
    }

    /// `{"sequence":"<20 digits>",` into `out`; returns ``sequencePrefixLength``.
    private static func writeSequencePrefix(_ sequence: Int64, into out: UnsafeMutableRawBufferPointer) -> Int {
        let head = #"{"sequence":""#.utf8
        var at = 0
        for byte in head {
            out[at] = byte
            at += 1
        }
        var value = UInt64(max(0, sequence))
        for i in stride(from: at + 19, through: at, by: -1) {
            out[i] = UInt8(ascii: "0") + UInt8(value % 10)
            value /= 10
        }
        at += 20
        out[at] = UInt8(ascii: "\"")
        out[at + 1] = UInt8(ascii: ",")
        return at + 2
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
