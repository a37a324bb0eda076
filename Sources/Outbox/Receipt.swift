import GRDB

/// How an input ended.
public enum ReceiptOutcome: String, Sendable {
    case committed
    case rejected
}

/// What the outbox remembers about an input it has handled.
public struct Receipt: Sendable, Equatable {
    public var source: String
    public var sha256: String
    public var fileName: String
    public var size: Int64
    public var events: Int
    public var outcome: ReceiptOutcome
    public var committedAt: Double
}

extension Receipt {
    init(row: Row) {
        source = row["source"]
        sha256 = row["sha256"]
        fileName = row["file_name"]
        size = row["size"]
        events = row["events"]
        outcome = ReceiptOutcome(rawValue: row["outcome"]) ?? .committed
        committedAt = row["committed_at"]
    }
}
