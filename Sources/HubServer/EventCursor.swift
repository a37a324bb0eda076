/// An opaque position in the hub's arrival order (`after=` / `next` of `GET /v1/events`).
public struct EventCursor: Sendable, Hashable, RawRepresentable, CustomStringConvertible {
    /// The arrival sequence number of the last event before this position.
    public var sequence: Int64

    public init(sequence: Int64) {
        self.sequence = sequence
    }

    /// Parses a cursor the hub handed out; `nil` for anything else.
    public init?(rawValue: String) {
        guard let sequence = Int64(rawValue), sequence >= 0 else { return nil }
        self.sequence = sequence
    }

    public var rawValue: String { String(sequence) }
    public var description: String { rawValue }
}
