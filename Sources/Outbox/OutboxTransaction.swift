import EventModel
import Foundation
import GRDB

/// One write transaction of the outbox: a document's events and its receipt, all or none.
///
/// Obtained from ``Outbox/commit(_:)``; valid only inside that closure.
public struct OutboxTransaction {
    let db: Database
    let now: Double
    let binder: any OutboxStatementBinder
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
    /// The values of the statement being run (reused from one statement to the next).
    private var values: [OutboxBoundValue] = []

    init(db: Database, now: Double, binder: any OutboxStatementBinder = GRDBStatementBinder()) {
        self.db = db
        self.now = now
        self.binder = binder
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
        let insert = try db.cachedStatement(sql: Self.eventInserts[count - 1])
        // The rows' texts, back to back in one buffer that outlives the run, are bound where
        // they are (by the direct binder: SQLite copies none of them first).
        texts.removeAll(keepingCapacity: true)
        texts.append(contentsOf: source.utf8)
        texts.append(contentsOf: fileName.utf8)
        for event in events {
            texts.append(contentsOf: event.id.utf8)
            texts.append(contentsOf: event.partitionKey.utf8)
            texts.append(contentsOf: event.type.utf8)
            texts.append(contentsOf: event.subject.utf8)
        }
        var values = takeValues()
        try texts.withUnsafeBytes { buffer in
            var packed = PackedTexts(buffer)
            // In parameter order, taking the texts in the order they were appended: source
            // (?1), file name (?2), time (?3), then each row's sequence number, id, partition
            // key, type, subject and bytes (``firstParameter(ofRow:)`` onwards).
            values.append(packed.next(source))
            values.append(packed.next(fileName))
            values.append(.real(now))
            for (row, event) in events.enumerated() {
                values.append(.integer(first + Int64(row)))
                values.append(packed.next(event.id))
                values.append(packed.next(event.partitionKey))
                values.append(packed.next(event.type))
                values.append(packed.next(event.subject))
                values.append(.integer(Int64(event.json.count)))
            }
            try binder.run(insert, values: values, in: db)
        }
        let added: [(seq: Int64, event: Int)]
        if db.changesCount == count {
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
            let payloads = try db.cachedStatement(sql: Self.payloadInserts[added.count - 1])
            values.removeAll(keepingCapacity: true)
            try bindPayloads(payloads, of: events, added[...], values: &values)
            inserted += added.count
            for (_, index) in added { insertedBytes += Int64(events[index].json.count) }
        }
        self.values = values
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
        return try binder.firstInteger(statement, values: [], in: db) ?? 1
    }

    /// Runs the payload insert with each added event's sequence number and JSON, the JSON
    /// where the event holds it (each inside its array's `withUnsafeBytes`, so the values
    /// nest one level per payload; the statement runs in the innermost).
    private func bindPayloads(
        _ statement: Statement, of events: ArraySlice<EncodedEvent>, _ added: ArraySlice<(seq: Int64, event: Int)>,
        values: inout [OutboxBoundValue]
    ) throws {
        guard let (seq, index) = added.first else {
            try binder.run(statement, values: values, in: db)
            return
        }
        values.append(.integer(seq))
        try events[index].json.withUnsafeBytes { json throws in
            values.append(.blob(json))
            try bindPayloads(statement, of: events, added.dropFirst(), values: &values)
        }
    }

    /// The reusable value list, emptied and taken out while a statement is bound (not copied:
    /// a copy would make the next append reallocate); `self.values = values` gives it back.
    private mutating func takeValues() -> [OutboxBoundValue] {
        var taken: [OutboxBoundValue] = []
        swap(&taken, &values)
        taken.removeAll(keepingCapacity: true)
        return taken
    }

    /// The first of row `row`'s six parameters (seq, id, partition key, type, subject, bytes),
    /// after the three the rows share (source, file name, time).
    private static func firstParameter(ofRow row: Int) -> Int32 { Int32(4 + 6 * row) }

    /// `INSERT INTO event` for 1 … ``rowsPerStatement`` rows, at index rows − 1 (built once).
    ///
    /// `OR FAIL` (and on the payload inserts): a row refused half-way through a statement
    /// leaves the rows before it in place instead of undoing the statement, so SQLite keeps no
    /// statement journal for it (a copy of every page the statement changes that the
    /// transaction had changed before: about a sixth of the writer's CPU). Nothing of such a
    /// statement can commit: its error leaves the body, and the body's savepoint, or the whole
    /// transaction, is rolled back (``Outbox/queueCommit(rollsBackAlone:_:)``).
    private static let eventInserts: [String] = (1...rowsPerStatement).map { rows in
        let values = (0..<rows).map { row in
            let p = firstParameter(ofRow: row)
            return "(?\(p), ?\(p + 1), ?\(p + 2), ?\(p + 3), ?\(p + 4), ?1, ?2, ?\(p + 5), ?3)"
        }
        return """
            INSERT OR FAIL INTO event (seq, id, partition_key, type, subject, source, file_name, bytes, created_at)
            VALUES \(values.joined(separator: ", ")) ON CONFLICT(id) DO NOTHING
            """
    }

    /// `INSERT INTO payload` for 1 … ``rowsPerStatement`` rows, at index rows − 1 (built once;
    /// `OR FAIL` as for the events).
    private static let payloadInserts: [String] = (1...rowsPerStatement).map { rows in
        "INSERT OR FAIL INTO payload (seq, json) VALUES " + Array(repeating: "(?, ?)", count: rows).joined(separator: ", ")
    }

    /// Whether an input with this content from this source was committed: its receipt's
    /// outcome is not `rejected` (as ``receipt(source:sha256:)`` reads it). Read inside the
    /// transaction, so no other writer can add one between this check and the commit. Every
    /// document's commit makes this check first, a queue message's too, so it reads one value
    /// through the binder rather than a whole row through GRDB.
    public mutating func hasCommittedReceipt(source: String, sha256: String) throws -> Bool {
        let statement = try db.cachedStatement(sql: """
            SELECT 1 FROM receipt WHERE source = ? AND sha256 = ? AND outcome IS NOT 'rejected'
            """)
        let (binder, db) = (binder, db)
        return try withPackedTexts([source, sha256]) { values, packed in
            values.append(packed.next(source))
            values.append(packed.next(sha256))
            return try binder.firstInteger(statement, values: values, in: db) != nil
        }
    }

    /// The receipt for an input with this content from this source, if any.
    public func receipt(source: String, sha256: String) throws -> Receipt? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT * FROM receipt WHERE source = ? AND sha256 = ?"), arguments: [source, sha256]
        ).map(Receipt.init(row:))
    }

    /// Records that the input with this content was fully handled (its events, or its
    /// rejection event, are in this same transaction).
    public mutating func recordReceipt(
        source: String, sha256: String, fileName: String, size: Int64, events: Int, outcome: ReceiptOutcome
    ) throws {
        // Cached and bound like the inserts (an input of one document, an AMQP message, pays
        // this once per event).
        let statement = try db.cachedStatement(sql: """
            INSERT INTO receipt (source, sha256, file_name, size, events, outcome, committed_at)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(source, sha256) DO UPDATE SET committed_at = excluded.committed_at
            """)
        let (outcome, now, binder, db) = (outcome.rawValue, now, binder, db)
        try withPackedTexts([source, sha256, fileName, outcome]) { values, packed in
            values.append(packed.next(source))
            values.append(packed.next(sha256))
            values.append(packed.next(fileName))
            values.append(.integer(size))
            values.append(.integer(Int64(events)))
            values.append(packed.next(outcome))
            values.append(.real(now))
            try binder.run(statement, values: values, in: db)
        }
    }

    /// Runs `body` with the reusable value list (empty) and `strings` packed back to back in
    /// one buffer that outlives it, to be handed out as bound values in this order; the list
    /// is given back after. `body` may not touch `self` (it is borrowed for the call): callers
    /// hand it the binder and the connection as locals.
    private mutating func withPackedTexts<T>(
        _ strings: [String], _ body: (inout [OutboxBoundValue], inout PackedTexts) throws -> T
    ) rethrows -> T {
        texts.removeAll(keepingCapacity: true)
        for text in strings { texts.append(contentsOf: text.utf8) }
        var values = takeValues()
        defer { self.values = values }
        return try texts.withUnsafeBytes { buffer in
            var packed = PackedTexts(buffer)
            return try body(&values, &packed)
        }
    }
}

/// Texts appended back to back into one buffer, handed out as bound values in the order they
/// were appended.
private struct PackedTexts {
    let buffer: UnsafeRawBufferPointer
    var offset = 0

    init(_ buffer: UnsafeRawBufferPointer) { self.buffer = buffer }

    /// The value for `text`, the next text in the buffer.
    mutating func next(_ text: String) -> OutboxBoundValue {
        let length = text.utf8.count
        defer { offset += length }
        return .text(UnsafeRawBufferPointer(rebasing: buffer[offset..<(offset + length)]))
    }
}
