/// How the body a sink sends for a batch grows with its events, so that the forwarder can
/// fill a batch up to `batch_max_bytes` without knowing the sink's wire format.
public struct BatchBodySize: Sendable, Equatable {
    /// Bytes of the body around the events (an empty batch's body).
    public var framing: Int
    /// Bytes each event adds beyond its stored JSON (the `sequence` attribute, a separator).
    public var perEvent: Int

    public init(framing: Int, perEvent: Int) {
        self.framing = framing
        self.perEvent = perEvent
    }

    /// The body's bytes for events whose stored JSON has these sizes.
    public func of<S: Sequence<Int>>(storedBytes: S) -> Int {
        storedBytes.reduce(framing) { $0 + $1 + perEvent }
    }
}
