import EventModel
import Foundation
import GRDB

/// One write transaction of the outbox: a document's events and its receipt, all or none.
///
/// Obtained from ``Outbox/commit(_:)``; valid only inside that closure.
public struct OutboxTransaction {
    let db: Database
    let now: Double
    /// Events offered to ``append(_:source:fileName:)`` so far.
    public private(set) var appended = 0
    /// Events that were new (the rest were already in the outbox).
    public private(set) var inserted = 0
    /// Bytes of the new events.
    public private(set) var insertedBytes: Int64 = 0

    /// Adds an event; a second event with the same id is ignored (it is the same document).
    public mutating func append(_ event: EncodedEvent, source: String, fileName: String) throws {
        appended += 1
        let insert = try db.cachedStatement(sql: """
            INSERT INTO event (id, partition_key, type, subject, source, file_name, bytes, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING
            """)
        try insert.execute(arguments: [
            event.id, event.partitionKey, event.type, event.subject, source, fileName, event.json.count, now,
        ])
        guard db.changesCount > 0 else { return }
        let seq = db.lastInsertedRowID
        let payload = try db.cachedStatement(sql: "INSERT INTO payload (seq, json) VALUES (?, ?)")
        try payload.execute(arguments: [seq, Data(event.json)])
        inserted += 1
        insertedBytes += Int64(event.json.count)
    }

    /// The receipt for an input with this content from this source, if any (read inside the
    /// transaction, so no other writer can add one between this check and the commit).
    public func receipt(source: String, sha256: String) throws -> Receipt? {
        try Row.fetchOne(
            db, sql: "SELECT * FROM receipt WHERE source = ? AND sha256 = ?", arguments: [source, sha256]
        ).map(Receipt.init(row:))
    }

    /// Records that the input with this content was fully handled (its events, or its
    /// rejection event, are in this same transaction).
    public func recordReceipt(
        source: String, sha256: String, fileName: String, size: Int64, events: Int, outcome: ReceiptOutcome
    ) throws {
        try db.execute(
            sql: """
                INSERT INTO receipt (source, sha256, file_name, size, events, outcome, committed_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(source, sha256) DO UPDATE SET committed_at = excluded.committed_at
                """,
            arguments: [source, sha256, fileName, size, events, outcome.rawValue, now])
    }
}

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

extension Outbox {
    /// Runs `body` in one write transaction (off the cooperative pool, on the database's
    /// writer queue) and commits it; throws and rolls back everything when `body` throws.
    public func commit<T: Sendable>(_ body: @escaping @Sendable (inout OutboxTransaction) throws -> T) async throws -> T {
        let (result, events, bytes) = try await pool.write { [path, fileIdentity] db -> (T, Int, Int64) in
            var tx = OutboxTransaction(db: db, now: Date().timeIntervalSince1970)
            let result = try body(&tx)
            // Last, before COMMIT: a commit into a file no longer at `path` would be lost.
            if let fileIdentity, FileIdentity(path: path) != fileIdentity { throw OutboxError.replaced(path: path) }
            return (result, tx.inserted, tx.insertedBytes)
        }
        counters.add(events: Int64(events), bytes: bytes)
        checkpointer?.committed(bytes: bytes)
        return result
    }

    /// The receipt for an input with this content from this source, if any.
    public func receipt(source: String, sha256: String) async throws -> Receipt? {
        try await pool.read { db in
            try OutboxTransaction(db: db, now: 0).receipt(source: source, sha256: sha256)
        }
    }
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
