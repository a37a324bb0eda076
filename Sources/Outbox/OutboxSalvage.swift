import Foundation
import GRDB

/// What ``OutboxSalvage/copy(from:into:)`` could read of a damaged outbox.
public struct SalvageReport: Sendable, Equatable {
    /// Events copied, by state (`pending`, `delivered`, `dead`).
    public var events: [String: Int] = [:]
    /// Event rows that were readable but whose payload was not (left out: they could not be sent).
    public var eventsWithoutPayload = 0
    public var receipts = 0
    /// Row ranges that could not be read, as SQLite reported them.
    public var unreadable: [String] = []
    /// Why nothing at all could be read, when the file is not recognisable as SQLite.
    public var failure: String?

    public var eventTotal: Int { events.values.reduce(0, +) }
}

/// Copies every row that can still be read from a damaged outbox into a new, healthy one.
///
/// The damaged file is opened read-only and never written. Each table is read in rowid
/// order, a few hundred rows at a time; where SQLite reports damage the reader skips ahead
/// and goes on, so one bad page costs only the rows on it. The new outbox gets the current
/// schema from the migrator, whatever survived of the old one. An event is copied only with
/// its payload (without it, it could never be sent); its `seq` is kept, so delivery order
/// is unchanged and the AUTOINCREMENT counter continues above it.
public enum OutboxSalvage {
    static let chunk = 256
    /// How far the reader jumps past rowids it could not read.
    static let skip: Int64 = 64

    public static func copy(from damagedPath: String, into freshPath: String) throws -> SalvageReport {
        var report = SalvageReport()
        var configuration = Configuration()
        configuration.readonly = true
        // Like the sqlite3 shell's .dump: tolerate a schema SQLite cannot fully parse, so
        // that the tables whose definitions survived can still be read.
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA writable_schema = ON") }
        var opened: DatabaseQueue?
        do {
            let queue = try DatabaseQueue(path: damagedPath, configuration: configuration)
            try queue.read { db in _ = try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master") }
            opened = queue
        } catch {
            report.failure = "\(error)"
        }
        // A newer version's outbox is not damaged, and this version's reading of it would be
        // wrong: refused before anything is created (where its migrations can still be read).
        if let opened, let unknown = try? opened.read({ try OutboxSchema.unknownMigrations($0) }), !unknown.isEmpty {
            throw OutboxError.newer(path: damagedPath, migrations: unknown)
        }
        let target = try Outbox(path: freshPath)
        guard let source = opened else { return report }
        let payloadBySeq = Dictionary(
            readRows(source, table: "payload", columns: "seq, json", report: &report).compactMap { row -> (Int64, Data)? in
                guard let seq = Int64.fromDatabaseValue(row[0]), let json = Data.fromDatabaseValue(row[1]) else { return nil }
                return (seq, json)
            },
            uniquingKeysWith: { first, _ in first })
        let events = readRows(
            source, table: "event",
            columns: "seq, id, partition_key, type, subject, source, file_name, bytes, state, created_at, delivered_at, attempts, last_error",
            report: &report)
        let receipts = readRows(
            source, table: "receipt", columns: "source, sha256, file_name, size, events, outcome, committed_at", report: &report)
        let states = readRows(source, table: "agent_state", columns: "key, value, updated_at", report: &report)

        try target.pool.write { db in
            for event in events {
                guard let seq = Int64.fromDatabaseValue(event[0]), let json = payloadBySeq[seq] else {
                    report.eventsWithoutPayload += 1
                    continue
                }
                try db.execute(
                    sql: """
                        INSERT OR IGNORE INTO event
                          (seq, id, partition_key, type, subject, source, file_name, bytes, state, created_at, delivered_at, attempts, last_error)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: StatementArguments(event))
                guard db.changesCount == 1 else { continue }
                try db.execute(sql: "INSERT INTO payload (seq, json) VALUES (?, ?)", arguments: [seq, json])
                report.events[String.fromDatabaseValue(event[8]) ?? "?", default: 0] += 1
            }
            for receipt in receipts {
                try db.execute(
                    sql: "INSERT OR IGNORE INTO receipt (source, sha256, file_name, size, events, outcome, committed_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    arguments: StatementArguments(receipt))
                report.receipts += db.changesCount
            }
            for state in states {
                try db.execute(
                    sql: "INSERT OR REPLACE INTO agent_state (key, value, updated_at) VALUES (?, ?, ?)",
                    arguments: StatementArguments(state))
            }
        }
        try target.refreshCounters()
        return report
    }

    /// The values of every readable row of `table` (in `columns` order), in rowid order,
    /// skipping the damaged stretches: after a failed chunk the next ``skip`` rowids are tried
    /// one by one, so a bad page costs only its own rows.
    private static func readRows(
        _ source: DatabaseQueue, table: String, columns: String, report: inout SalvageReport
    ) -> [[DatabaseValue]] {
        var result: [[DatabaseValue]] = []
        // The highest rowid, when SQLite can still tell; otherwise go on until 8,192 rowids in a row failed.
        let last = (try? source.read { db in try Int64.fetchOne(db, sql: "SELECT max(rowid) FROM \(table)") }) ?? nil
        var after: Int64 = -1
        var lostRowids: Int64 = 0
        var firstLost: Int64?
        var failedInARow: Int64 = 0
        func fetch(_ sql: String, _ value: Int64) throws -> [Row] {
            try source.read { db in try Row.fetchAll(db, sql: sql, arguments: [value]) }
        }
        while true {
            if let rows = try? fetch("SELECT rowid, \(columns) FROM \(table) WHERE rowid > ? ORDER BY rowid LIMIT \(chunk)", after) {
                if rows.isEmpty { break }
                // Only rows that move forward count: a damaged page can make SQLite return
                // rows it already returned, and taking them would loop (and fill memory) forever.
                var advanced = false
                for row in rows {
                    guard let rowid = Int64.fromDatabaseValue(row.databaseValues.first ?? .null), rowid > after else { continue }
                    result.append(Array(row.databaseValues.dropFirst()))
                    after = rowid
                    advanced = true
                }
                if advanced {
                    failedInARow = 0
                    continue
                }
            }
            for rowid in (after + 1)...(after + skip) {
                if let rows = try? fetch("SELECT rowid, \(columns) FROM \(table) WHERE rowid = ?", rowid) {
                    result += rows.map { Array($0.databaseValues.dropFirst()) }
                    failedInARow = 0
                } else {
                    firstLost = firstLost ?? rowid
                    lostRowids += 1
                    failedInARow += 1
                }
            }
            after += skip
            if let last, after >= last { break }
            if last == nil && failedInARow >= 8_192 { break }
        }
        if last == nil && failedInARow > 0 {
            let lostBefore = lostRowids - failedInARow
            let gaps = lostBefore > 0 ? "; before that, \(lostBefore) row id(s) from \(firstLost!) on were unreadable" : ""
            report.unreadable.append("\(table): nothing after row id \(after - failedInARow) could be read\(gaps)")
        } else if let firstLost {
            report.unreadable.append("\(table): \(lostRowids) row id(s) from \(firstLost) on could not be read")
        }
        return result
    }
}
