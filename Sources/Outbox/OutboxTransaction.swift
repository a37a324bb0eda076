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
    /// Events offered to ``append(_:source:fileName:)`` and ``append(contentsOf:source:fileName:)`` so far.
    public private(set) var appended = 0
    /// Events that were new (the rest were already in the outbox).
    public private(set) var inserted = 0
    /// Bytes of the new events.
    public private(set) var insertedBytes: Int64 = 0
    /// Ids of events that met another document under their id: each is kept as a dead
    /// letter (``IDConflict``), not among `inserted`.
    public private(set) var conflictingIDs: [String] = []
    /// The texts of the rows being inserted (reused from one statement to the next).
    private var texts: [UInt8] = []

    init(db: Database, now: Double) {
        self.db = db
        self.now = now
    }

    /// Adds an event; a second event with the same id and data is ignored (it is the same
    /// document), one with other data is kept as a dead letter (``IDConflict``).
    public mutating func append(_ event: EncodedEvent, source: String, fileName: String) throws {
        try insert([event][...], source: source, fileName: fileName)
    }

    /// Adds events in their order; an event whose id is already in the outbox (or earlier in
    /// `events`) is ignored when its data is the same (it is the same document), and kept as
    /// a dead letter when it is not (``IDConflict``).
    ///
    /// This runs on the writer, the intake's busiest thread, so it costs per group of up to
    /// ``rowsPerStatement`` events, not per event: one statement inserts the group's event
    /// rows (the source, file name and time bound once) and returns the new rows' sequence
    /// numbers, and one more inserts their payloads. The values are bound straight to
    /// SQLite's statements (the JSON from the event's own bytes, which SQLite copies into its
    /// page), not boxed into arguments and copied into `Data` first.
    public mutating func append(contentsOf events: [EncodedEvent], source: String, fileName: String) throws {
        for group in stride(from: 0, to: events.count, by: Self.rowsPerStatement) {
            try insert(events[group..<min(group + Self.rowsPerStatement, events.count)], source: source, fileName: fileName)
        }
    }

    /// Events per insert statement: enough to pay a statement's set-up (its program, the
    /// cursors on the table and its indexes) once for a decoder's chunk.
    static let rowsPerStatement = 32

    private mutating func insert(_ events: ArraySlice<EncodedEvent>, source: String, fileName: String) throws {
        let count = events.count
        appended += count
        // Each row gets its sequence number from here, the next ones AUTOINCREMENT would give,
        // so that the rows added need not be returned (RETURNING gathers them in a temporary
        // table first: about a fifth of an insert's cost). A row an existing id keeps out
        // leaves its number unused; numbers only ever grow, as with AUTOINCREMENT.
        let first = try nextSequenceNumber()
        let insert = try db.cachedStatement(sql: Self.eventInserts[count - 1]).sqliteStatement
        // The rows' texts, back to back in one buffer that outlives the step, are bound where
        // they are: SQLite copies none of them first.
        texts.removeAll(keepingCapacity: true)
        Self.forEachText(of: events, source: source, fileName: fileName) { _, text in texts.append(contentsOf: text.utf8) }
        let code = texts.withUnsafeBytes { buffer in
            let base = buffer.baseAddress ?? Self.emptyValue
            var offset = 0
            Self.forEachText(of: events, source: source, fileName: fileName) { parameter, text in
                let length = text.utf8.count
                sqlite3_bind_text(insert, parameter, (base + offset).assumingMemoryBound(to: CChar.self), Int32(length), nil)
                offset += length
            }
            sqlite3_bind_double(insert, 3, now)
            for (row, event) in events.enumerated() {
                let parameter = Self.firstParameter(ofRow: row)
                sqlite3_bind_int64(insert, parameter, first + Int64(row))
                sqlite3_bind_int64(insert, parameter + 5, Int64(event.json.count))
            }
            let code = sqlite3_step(insert)
            // No binding may outlive the buffer.
            sqlite3_reset(insert)
            sqlite3_clear_bindings(insert)
            return code
        }
        try finish(insert, code)
        let added: [(seq: Int64, event: Int)]
        if Int(sqlite3_changes(db.sqliteConnection)) == count {
            added = (0..<count).map { (first + Int64($0), events.startIndex + $0) }
        } else {
            // Some ids were in the outbox already (or twice in `events`): the rows that went in
            // are the numbers of this range that are taken now.
            added = try Int64.fetchAll(
                db.cachedStatement(sql: "SELECT seq FROM event WHERE seq BETWEEN ? AND ? ORDER BY seq"),
                arguments: [first, first + Int64(count) - 1]
            ).map { ($0, events.startIndex + Int($0 - first)) }
        }
        if !added.isEmpty {
            let payloads = try db.cachedStatement(sql: Self.payloadInserts[added.count - 1]).sqliteStatement
            try bindPayloads(payloads, of: events, added[...], parameter: 1)
            inserted += added.count
            for (_, index) in added { insertedBytes += Int64(events[index].json.count) }
        }
        // Only when an id kept a row out (rare): was it the same document, or another one?
        guard added.count < count else { return }
        let wentIn = Set(added.map(\.event))
        for index in events.indices where !wentIn.contains(index) {
            try keepIfConflicting(events[index], source: source, fileName: fileName)
        }
    }

    /// Compares an event kept out by its id with the stored one: the same data is the same
    /// document (dropped); other data is another document, kept as a dead letter.
    private mutating func keepIfConflicting(_ event: EncodedEvent, source: String, fileName: String) throws {
        let stored = try Data.fetchOne(
            db.cachedStatement(sql: "SELECT p.json FROM event e JOIN payload p ON p.seq = e.seq WHERE e.id = ?"),
            arguments: [event.id])
        guard let stored else { return }
        let data = IDConflict.data(of: event.json)
        guard !IDConflict.data(of: [UInt8](stored)).elementsEqual(data) else { return }
        let id = IDConflict.conflictID(for: event.id, data: data)
        let json = IDConflict.replacingID(in: event.json, with: id)
        let seq = try nextSequenceNumber()
        try db.execute(
            sql: """
                INSERT INTO event (seq, id, partition_key, type, subject, source, file_name, bytes, state, created_at, last_error)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'dead', ?, ?) ON CONFLICT(id) DO NOTHING
                """,
            arguments: [
                seq, id, event.partitionKey, event.type, event.subject, source, fileName, json.count, now,
                IDConflict.reason(for: event.id),
            ])
        // Kept already: this same version was read before.
        guard db.changesCount == 1 else { return }
        try db.execute(sql: "INSERT INTO payload (seq, json) VALUES (?, ?)", arguments: [seq, Data(json)])
        conflictingIDs.append(event.id)
    }

    /// The sequence number the next event row gets: above every number AUTOINCREMENT has
    /// handed out (`sqlite_sequence`) and every row there is.
    private func nextSequenceNumber() throws -> Int64 {
        let statement = try db.cachedStatement(sql: """
            SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'event'), 0),
                       coalesce((SELECT max(seq) FROM event), 0)) + 1
            """)
        return try Int64.fetchOne(statement) ?? 1
    }

    /// Binds each added event's JSON without copying it (each bound inside its array's
    /// `withUnsafeBytes`, so the binding nests one level per payload) and runs the insert.
    private func bindPayloads(
        _ statement: SQLiteStatement, of events: ArraySlice<EncodedEvent>, _ added: ArraySlice<(seq: Int64, event: Int)>,
        parameter: Int32
    ) throws {
        guard let (seq, index) = added.first else {
            try finish(statement, sqlite3_step(statement))
            return
        }
        sqlite3_bind_int64(statement, parameter, seq)
        try events[index].json.withUnsafeBytes { json throws in
            // Static: SQLite reads the bytes during the step; the binding is cleared after it.
            sqlite3_bind_blob(statement, parameter + 1, json.baseAddress ?? Self.emptyValue, Int32(json.count), nil)
            try bindPayloads(statement, of: events, added.dropFirst(), parameter: parameter + 2)
        }
    }

    /// The text columns of an insert's rows with their parameters, in one order for filling
    /// the text buffer and for binding from it: source (?1), file name (?2), then per row its
    /// id, partition key, type and subject.
    private static func forEachText(
        of events: ArraySlice<EncodedEvent>, source: String, fileName: String, _ body: (Int32, String) -> Void
    ) {
        body(1, source)
        body(2, fileName)
        for (row, event) in events.enumerated() {
            let parameter = firstParameter(ofRow: row)
            body(parameter + 1, event.id)
            body(parameter + 2, event.partitionKey)
            body(parameter + 3, event.type)
            body(parameter + 4, event.subject)
        }
    }

    /// The first of row `row`'s six parameters (seq, id, partition key, type, subject, bytes),
    /// after the three the rows share (source, file name, time).
    private static func firstParameter(ofRow row: Int) -> Int32 { Int32(4 + 6 * row) }

    /// `INSERT INTO event` for 1 … ``rowsPerStatement`` rows, at index rows − 1 (built once).
    private static let eventInserts: [String] = (1...rowsPerStatement).map { rows in
        let values = (0..<rows).map { row in
            let p = firstParameter(ofRow: row)
            return "(?\(p), ?\(p + 1), ?\(p + 2), ?\(p + 3), ?\(p + 4), ?1, ?2, ?\(p + 5), ?3)"
        }
        return """
            INSERT INTO event (seq, id, partition_key, type, subject, source, file_name, bytes, created_at)
            VALUES \(values.joined(separator: ", ")) ON CONFLICT(id) DO NOTHING
            """
    }

    /// `INSERT INTO payload` for 1 … ``rowsPerStatement`` rows, at index rows − 1 (built once).
    private static let payloadInserts: [String] = (1...rowsPerStatement).map { rows in
        "INSERT INTO payload (seq, json) VALUES " + Array(repeating: "(?, ?)", count: rows).joined(separator: ", ")
    }

    /// An address for empty values (an empty buffer may have none; SQLite wants one).
    private static var emptyValue: UnsafeRawPointer { UnsafeRawPointer(("" as StaticString).utf8Start) }

    /// Ends a statement whose last step gave `code`: resets it and clears its bindings (none
    /// outlives it), and throws SQLite's error if the step failed. Stepped here rather than
    /// through GRDB's `execute`, so GRDB's transaction observers would not hear of these
    /// inserts (the outbox registers none).
    private func finish(_ statement: SQLiteStatement, _ code: Int32) throws {
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
