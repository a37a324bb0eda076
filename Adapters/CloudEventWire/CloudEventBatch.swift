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
    /// of the caller's (the HTTP sink's request buffer), with no copy in between. Each event's
    /// room is checked as it is written, so the events are gone through once.
    public static func write(_ events: [OutboundEvent], into out: UnsafeMutableRawBufferPointer) -> Int {
        precondition(out.count >= 2, "a body needs at least 2 bytes, the buffer holds \(out.count)")
        out[0] = UInt8(ascii: "[")
        var at = 1
        for (i, e) in events.enumerated() {
            let rest = e.json.dropFirst()
            // The separator before it, the event, and room for the closing bracket after it.
            let needed = (i > 0 ? 1 : 0) + sequencePrefixLength + rest.count + 1
            precondition(at + needed <= out.count, "the buffer holds \(out.count) bytes, less than the body (bodySize)")
            if i > 0 {
                out[at] = UInt8(ascii: ",")
                at += 1
            }
            at += writeSequencePrefix(e.sequence, into: UnsafeMutableRawBufferPointer(rebasing: out[at...]))
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
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: sequencePrefixLength))
        out.withUnsafeMutableBytes { bytes in
            _ = writeSequencePrefix(e.sequence, into: UnsafeMutableRawBufferPointer(rebasing: bytes[start...]))
        }
        out.append(contentsOf: e.json.dropFirst())
    }
}
