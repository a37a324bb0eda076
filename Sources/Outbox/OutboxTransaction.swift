import EventModel
import Foundation
import GRDB
import GRDBSQLite

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
    ///
    /// This runs once per event on the writer, the intake's busiest thread: the values are
    /// bound straight to SQLite's statements (the JSON from the event's own bytes, which
    /// SQLite copies into its page), not boxed into arguments and copied into `Data` first.
    public mutating func append(_ event: EncodedEvent, source: String, fileName: String) throws {
        appended += 1
        let insert = try db.cachedStatement(sql: """
            INSERT INTO event (id, partition_key, type, subject, source, file_name, bytes, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING
            """).sqliteStatement
        Self.bind(insert, 1, event.id)
        Self.bind(insert, 2, event.partitionKey)
        Self.bind(insert, 3, event.type)
        Self.bind(insert, 4, event.subject)
        Self.bind(insert, 5, source)
        Self.bind(insert, 6, fileName)
        sqlite3_bind_int64(insert, 7, Int64(event.json.count))
        sqlite3_bind_double(insert, 8, now)
        try step(insert)
        guard db.changesCount > 0 else { return }
        let payload = try db.cachedStatement(sql: "INSERT INTO payload (seq, json) VALUES (?, ?)").sqliteStatement
        sqlite3_bind_int64(payload, 1, db.lastInsertedRowID)
        try event.json.withUnsafeBytes { json throws in
            // Static: SQLite reads the bytes during the step; the binding is cleared after it.
            sqlite3_bind_blob(payload, 2, json.baseAddress ?? Self.emptyValue, Int32(json.count), nil)
            try step(payload)
        }
        inserted += 1
        insertedBytes += Int64(event.json.count)
    }

    /// SQLite's "copy this value now" destructor.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
    /// An address for empty values (an empty buffer may have none; SQLite wants one).
    private static var emptyValue: UnsafeRawPointer { UnsafeRawPointer(("" as StaticString).utf8Start) }

    private static func bind(_ statement: SQLiteStatement, _ index: Int32, _ text: String) {
        var text = text
        text.withUTF8 { utf8 in
            let bytes = UnsafeRawPointer(utf8.baseAddress) ?? emptyValue
            sqlite3_bind_text(statement, index, bytes.assumingMemoryBound(to: CChar.self), Int32(utf8.count), transient)
        }
    }

    /// Runs an insert to its end, then resets it and clears its bindings (none outlives it).
    /// Stepped here rather than through GRDB's `execute`, so GRDB's transaction observers
    /// would not hear of these inserts (the outbox registers none).
    private func step(_ statement: SQLiteStatement) throws {
        let code = sqlite3_step(statement)
        sqlite3_reset(statement)
        sqlite3_clear_bindings(statement)
        guard code == SQLITE_DONE else {
            throw DatabaseError(
                resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)),
                sql: String(cString: sqlite3_sql(statement)))
        }
    }

    /// The receipt for an input with this content from this source, if any (read inside the
    /// transaction, so no other writer can add one between this check and the commit).
    public func receipt(source: String, sha256: String) throws -> Receipt? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT * FROM receipt WHERE source = ? AND sha256 = ?"), arguments: [source, sha256]
        ).map(Receipt.init(row:))
    }

    /// Records that the input with this content was fully handled (its events, or its
    /// rejection event, are in this same transaction).
    public func recordReceipt(
        source: String, sha256: String, fileName: String, size: Int64, events: Int, outcome: ReceiptOutcome
    ) throws {
        // Cached, like the inserts: parsed once per connection, not once per commit.
        try db.cachedStatement(sql: """
            INSERT INTO receipt (source, sha256, file_name, size, events, outcome, committed_at)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(source, sha256) DO UPDATE SET committed_at = excluded.committed_at
            """).execute(arguments: [source, sha256, fileName, size, events, outcome.rawValue, now])
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
