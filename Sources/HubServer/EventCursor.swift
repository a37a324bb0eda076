/// An opaque position in the hub's arrival order (`after=` / `next` of `GET /v1/events`).
///
/// Storages order events by a pair: SQLite by its arrival sequence alone (`epoch` 0, written
/// as the sequence), PostgreSQL by the writing transaction's id and then the sequence
/// (written `epoch.sequence`), because concurrent writers commit out of sequence order.
public struct EventCursor: Sendable, Hashable, RawRepresentable, CustomStringConvertible {
    /// The first key of the last event before this position (0 where the storage has one key).
    public var epoch: Int64
    /// The arrival sequence number of the last event before this position.
    public var sequence: Int64

    public init(epoch: Int64 = 0, sequence: Int64) {
        self.epoch = epoch
        self.sequence = sequence
    }

    /// Parses a cursor the hub handed out; `nil` for anything else.
    public init?(rawValue: String) {
        let parts = rawValue.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, let sequence = Int64(parts[parts.count - 1]), sequence >= 0 else { return nil }
        if parts.count == 2 {
            guard let epoch = Int64(parts[0]), epoch > 0 else { return nil }
            self.epoch = epoch
        } else {
            self.epoch = 0
        }
        self.sequence = sequence
    }

    public var rawValue: String { epoch == 0 ? String(sequence) : "\(epoch).\(sequence)" }
    public var description: String { rawValue }
}
