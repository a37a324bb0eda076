import EventModel
import Foundation
import GRDB

/// `HubStorage` in one SQLite file (the hub's default): WAL mode, migrated when opened.
///
/// Invariants live in the schema: `UNIQUE(id)` keeps an id once (`ON CONFLICT DO NOTHING`,
/// then the stored document's digest tells a duplicate from a conflict), the arrival sequence
/// is the `AUTOINCREMENT` row id, and the counters behind `GET /v1/stats` are updated in the
/// same transaction as the events.
///
/// A stored batch is durable before `store` returns: `synchronous = FULL` syncs the log in
/// every commit, and batches that arrive while one commits are written together in the next
/// transaction (`GroupCommit`), one savepoint each, so that concurrent agents share a sync.
public final class SQLiteHubStorage: HubStorage {
    let database: DatabasePool
    private let commits: GroupCommit<IngestBatch, StoreOutcome>

    /// Opens (creating and migrating if needed) the database at `path`.
    /// - Throws: GRDB's `DatabaseError` when the file cannot be opened or migrated;
    ///   ``NewerSchemaError`` when a newer hub migrated it.
    public init(path: String) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        let database = try DatabasePool(path: path, configuration: configuration)
        // FULL: every commit syncs the log before it returns, so a 2xx survives a power cut.
        // Set here, not in `prepareDatabase`: GRDB sets a pool's writer to NORMAL when it turns
        // WAL on, after that. Checked, since SQLite may refuse a setting.
        try database.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            let level = try Int.fetchOne(db, sql: "PRAGMA synchronous")
            guard level == 2 else {
                throw HubStorageError.unavailable("SQLite kept synchronous = \(level ?? -1) on \(path), not FULL (2)")
            }
        }
        let migrator = Self.migrator
        let newer = try database.read { db in
            NewerSchema.unknownSteps(try migrator.appliedIdentifiers(db).map { ($0, $0) }, known: Set(migrator.migrations))
        }
        if !newer.isEmpty { throw NewerSchemaError(location: path, steps: newer) }
        try migrator.migrate(database)
        self.database = database
        commits = GroupCommit { batches in await Self.write(batches, to: database) }
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE event (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    id TEXT NOT NULL UNIQUE CHECK (length(id) > 0),
                    type TEXT NOT NULL CHECK (length(type) > 0),
                    source TEXT NOT NULL CHECK (length(source) > 0),
                    region TEXT NOT NULL,
                    agentid TEXT NOT NULL,
                    subject TEXT,
                    time TEXT,
                    received_at REAL NOT NULL,
                    rejection_reason TEXT,
                    rejection_detail TEXT,
                    rejection_filename TEXT,
                    json BLOB NOT NULL CHECK (length(json) > 1)
                );
                CREATE INDEX event_by_type ON event (type, seq);
                CREATE INDEX event_by_source ON event (source, seq);
                CREATE INDEX event_by_region ON event (region, seq);
                CREATE INDEX event_by_subject ON event (subject, seq);
                CREATE TABLE agent_activity (
                    agentid TEXT PRIMARY KEY,
                    region TEXT NOT NULL,
                    events INTEGER NOT NULL CHECK (events >= 0),
                    duplicates INTEGER NOT NULL CHECK (duplicates >= 0),
                    last_seen REAL NOT NULL
                );
                CREATE TABLE type_count (type TEXT PRIMARY KEY, events INTEGER NOT NULL CHECK (events >= 0));
                CREATE TABLE region_count (region TEXT PRIMARY KEY, events INTEGER NOT NULL CHECK (events >= 0));
                CREATE TABLE health_probe (id INTEGER PRIMARY KEY CHECK (id = 1), checked_at REAL NOT NULL);
                """)
        }
        migrator.registerMigration("v2-dashboard") { db in
            try db.execute(sql: """
                CREATE INDEX event_by_received_at ON event (received_at);
                CREATE TABLE agent_heartbeat (
                    agentid TEXT PRIMARY KEY,
                    region TEXT NOT NULL,
                    received_at REAL NOT NULL,
                    seq INTEGER NOT NULL,
                    json BLOB NOT NULL
                );
                """)
        }
        migrator.registerMigration("v3-conflicts") { db in
            try db.execute(sql: """
                ALTER TABLE event ADD COLUMN data_sha256 BLOB;
                ALTER TABLE agent_activity ADD COLUMN conflicts INTEGER NOT NULL DEFAULT 0 CHECK (conflicts >= 0);
                CREATE TABLE id_conflict (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    id TEXT NOT NULL,
                    agentid TEXT NOT NULL,
                    region TEXT NOT NULL,
                    received_at REAL NOT NULL,
                    stored_sha256 BLOB NOT NULL,
                    received_sha256 BLOB NOT NULL,
                    stored_agentid TEXT NOT NULL,
                    json BLOB NOT NULL,
                    UNIQUE (id, received_sha256)
                );
                """)
        }
        registerCanonicalMigration(&migrator)
        return migrator
    }

    // MARK: writing

    public func store(_ batch: IngestBatch) async throws -> StoreOutcome {
        try await commits.submit(batch)
    }

    /// One round of `GroupCommit`: every batch in its own savepoint of one transaction.
    private static func write(_ batches: [IngestBatch], to database: DatabasePool) async -> [Result<StoreOutcome, any Error>] {
        do {
            return try await database.write { db in
                batches.map { batch in
                    Result {
                        var outcome = StoreOutcome(accepted: 0, duplicates: 0)
                        try db.inSavepoint {
                            outcome = try store(batch, db: db)
                            return .commit
                        }
                        return outcome
                    }.mapError(storageError)
                }
            }
        } catch {
            return batches.map { _ in .failure(storageError(error)) }
        }
    }

    private static func store(_ batch: IngestBatch, db: Database) throws -> StoreOutcome {
        let insert = try db.cachedStatement(sql: """
            INSERT INTO event (id, type, source, region, agentid, subject, time, received_at,
                               rejection_reason, rejection_detail, rejection_filename, data_sha256, json)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (id) DO NOTHING
            """)
        let receivedAt = batch.receivedAt.timeIntervalSince1970
        var outcome = StoreOutcome(accepted: 0, duplicates: 0)
        var perType: [String: Int] = [:]
        var perRegion: [String: Int] = [:]
        for event in batch.events {
            let rejected = event.rejectedDocument
            try insert.execute(arguments: [
                event.id, event.type, event.source, event.region, event.agentID, event.subject, event.time,
                receivedAt, rejected?.reason, rejected?.detail, rejected?.filename, Data(event.dataDigest.bytes), event.json,
            ])
            if db.changesCount == 1 {
                if event.type == RecentActivity.heartbeatType {
                    try recordHeartbeat(event, receivedAt: receivedAt, sequence: db.lastInsertedRowID, db: db)
                }
                outcome.accepted += 1
                perType[event.type, default: 0] += 1
                perRegion[event.region, default: 0] += 1
            } else if let conflict = try conflict(of: event, in: batch, db: db) {
                outcome.conflicts.append(conflict)
            } else {
                outcome.duplicates += 1
            }
        }
        try add(perType, table: "type_count", key: "type", db: db)
        try add(perRegion, table: "region_count", key: "region", db: db)
        try db.execute(
            sql: """
                INSERT INTO agent_activity (agentid, region, events, duplicates, conflicts, last_seen) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (agentid) DO UPDATE SET region = excluded.region,
                    events = events + excluded.events, duplicates = duplicates + excluded.duplicates,
                    conflicts = conflicts + excluded.conflicts, last_seen = excluded.last_seen
                """,
            arguments: [batch.agentID, batch.region, outcome.accepted, outcome.duplicates, outcome.conflicts.count, receivedAt])
        return outcome
    }

    /// For an event whose id is stored already: `nil` when the stored document is the same
    /// (a duplicate), else the conflict, recorded in `id_conflict` (once per document).
    private static func conflict(of event: IncomingEvent, in batch: IngestBatch, db: Database) throws -> IDConflict? {
        guard let row = try Row.fetchOne(
            db, sql: "SELECT agentid, data_sha256, CASE WHEN data_sha256 IS NULL THEN json END AS json FROM event WHERE id = ?",
            arguments: [event.id])
        else { throw HubStorageError.unavailable("event \(event.id) was refused as stored but is not there") }
        let storedDigest = (row["data_sha256"] as Data?).map { DataDigest(bytes: Array($0)) }
            ?? DataDigest(ofStoredEvent: row["json"])
        guard storedDigest != event.dataDigest else { return nil }
        let conflict = IDConflict(
            id: event.id, agentID: batch.agentID, region: batch.region, receivedAt: batch.receivedAt.rfc3339,
            storedDigest: storedDigest.hex, receivedDigest: event.dataDigest.hex, storedAgentID: row["agentid"])
        try db.execute(
            sql: """
                INSERT INTO id_conflict (id, agentid, region, received_at, stored_sha256, received_sha256, stored_agentid, json)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id, received_sha256) DO NOTHING
                """,
            arguments: [
                event.id, batch.agentID, batch.region, batch.receivedAt.timeIntervalSince1970,
                Data(storedDigest.bytes), Data(event.dataDigest.bytes), conflict.storedAgentID, event.json,
            ])
        return conflict
    }

    /// Keeps the latest heartbeat per agent in `agent_heartbeat` (the dashboard's source).
    private static func recordHeartbeat(_ event: IncomingEvent, receivedAt: Double, sequence: Int64, db: Database) throws {
        let upsert = try db.cachedStatement(sql: """
            INSERT INTO agent_heartbeat (agentid, region, received_at, seq, json) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (agentid) DO UPDATE SET region = excluded.region, received_at = excluded.received_at,
                seq = excluded.seq, json = excluded.json
            WHERE excluded.seq > agent_heartbeat.seq
            """)
        try upsert.execute(arguments: [event.agentID, event.region, receivedAt, sequence, event.json])
    }

    static func add(_ counts: [String: Int], table: String, key: String, db: Database) throws {
        guard !counts.isEmpty else { return }
        let upsert = try db.cachedStatement(sql: """
            INSERT INTO \(table) (\(key), events) VALUES (?, ?)
            ON CONFLICT (\(key)) DO UPDATE SET events = events + excluded.events
            """)
        for (value, count) in counts {
            try upsert.execute(arguments: [value, count])
        }
    }

    /// The writer's `PRAGMA synchronous` (2 = FULL: commits are synced).
    func writerSynchronousLevel() async throws -> Int {
        try await database.write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1 }
    }

    public func checkWritable() async throws {
        try await write { db in
            try db.execute(
                sql: "INSERT INTO health_probe (id, checked_at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at",
                arguments: [Date().timeIntervalSince1970])
        }
    }

    /// Runs a write transaction, translating SQLite's failures into `HubStorageError`.
    private func write<T: Sendable>(_ updates: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await database.write(updates)
        } catch {
            throw Self.storageError(error)
        }
    }

    /// SQLite's failures as `HubStorageError`.
    private static func storageError(_ error: any Error) -> any Error {
        guard let error = error as? DatabaseError else { return error }
        switch error.resultCode {
        case .SQLITE_BUSY, .SQLITE_LOCKED: return HubStorageError.busy
        default: return HubStorageError.unavailable(error.message ?? "\(error.resultCode)")
        }
    }

    // MARK: reading

    public func events(matching query: EventQuery) async throws -> EventPage {
        let rows = try await database.read { db in
            var conditions = ["seq > ?"]
            var arguments: StatementArguments = [query.after?.sequence ?? 0]
            for (column, value) in [("type", query.type), ("source", query.source), ("region", query.region), ("subject", query.subject)] {
                if let value {
                    conditions.append("\(column) = ?")
                    arguments += [value]
                }
            }
            arguments += [query.limit + 1]
            let sql = "SELECT seq, json FROM event WHERE \(conditions.joined(separator: " AND ")) ORDER BY seq LIMIT ?"
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map { row -> (sequence: Int64, json: Data) in
                (row["seq"], row["json"])
            }
        }
        let page = rows.prefix(query.limit)
        let next = rows.count > query.limit ? page.last.map { EventCursor(sequence: $0.sequence) } : nil
        return EventPage(events: page.map(\.json), next: next)
    }

    public func event(id: String) async throws -> Data? {
        try await database.read { db in
            try Data.fetchOne(db, sql: "SELECT json FROM event WHERE id = ?", arguments: [id])
        }
    }

    public func conflicts(after: EventCursor?, limit: Int) async throws -> ConflictPage {
        let rows = try await database.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT seq, id, agentid, region, received_at, stored_sha256, received_sha256, stored_agentid
                    FROM id_conflict WHERE seq > ? ORDER BY seq LIMIT ?
                    """,
                arguments: [after?.sequence ?? 0, limit + 1])
        }
        let page = rows.prefix(limit)
        return ConflictPage(
            conflicts: page.map { row in
                IDConflict(
                    id: row["id"], agentID: row["agentid"], region: row["region"],
                    receivedAt: Date(timeIntervalSince1970: row["received_at"]).rfc3339,
                    storedDigest: Hex.encode(Array(row["stored_sha256"] as Data)),
                    receivedDigest: Hex.encode(Array(row["received_sha256"] as Data)), storedAgentID: row["stored_agentid"])
            },
            next: rows.count > limit ? page.last.map { EventCursor(sequence: $0["seq"]) } : nil)
    }

    public func recentActivity(since: Double) async throws -> RecentActivity {
        try await database.read { db in
            var activity = RecentActivity()
            activity.heartbeats = try Row.fetchAll(
                db, sql: "SELECT agentid, region, received_at, json FROM agent_heartbeat ORDER BY agentid"
            ).map { row in
                .init(agentID: row["agentid"], region: row["region"], receivedAt: row["received_at"], json: row["json"])
            }
            activity.hourlyCounts = try Row.fetchAll(
                db,
                sql: """
                    SELECT type, CAST(received_at / 3600 AS INTEGER) AS hour, count(*) AS events
                    FROM event WHERE received_at >= ? GROUP BY type, hour
                    """,
                arguments: [since]
            ).map { row in .init(type: row["type"], hour: row["hour"], events: row["events"]) }
            let samples = try Row.fetchCursor(
                db,
                sql: """
                    SELECT received_at, time FROM event
                    WHERE received_at >= ? AND type <> ? AND time IS NOT NULL ORDER BY received_at DESC LIMIT ?
                    """,
                arguments: [since, RecentActivity.heartbeatType, RecentActivity.latencySampleLimit])
            while let row = try samples.next() {
                let receivedAt: Double = row["received_at"]
                if let picked = Date(rfc3339: row["time"]) {
                    activity.latencies.append(max(0, receivedAt - picked.timeIntervalSince1970))
                }
            }
            return activity
        }
    }

    public func statistics(recentRejections: Int) async throws -> HubStatistics {
        try await database.read { db in
            var statistics = HubStatistics()
            for row in try Row.fetchAll(db, sql: "SELECT type, events FROM type_count") {
                statistics.types[row["type"]] = row["events"]
            }
            for row in try Row.fetchAll(db, sql: "SELECT region, events FROM region_count") {
                statistics.regions[row["region"]] = row["events"]
            }
            for row in try Row.fetchAll(db, sql: "SELECT agentid, region, events, duplicates, conflicts, last_seen FROM agent_activity") {
                let lastSeen = Date(timeIntervalSince1970: row["last_seen"])
                statistics.agents[row["agentid"]] = .init(
                    region: row["region"], events: row["events"], duplicates: row["duplicates"], conflicts: row["conflicts"],
                    lastSeen: lastSeen.rfc3339)
            }
            statistics.events = statistics.types.values.reduce(0, +)
            statistics.duplicatesDropped = statistics.agents.values.reduce(0) { $0 + $1.duplicates }
            statistics.idConflicts = statistics.agents.values.reduce(0) { $0 + $1.conflicts }
            let rejectedRows = try Row.fetchAll(
                db,
                sql: """
                    SELECT id, agentid, time, rejection_reason, rejection_detail, rejection_filename
                    FROM event WHERE type = ? ORDER BY seq DESC LIMIT ?
                    """,
                arguments: [IncomingEvent.documentRejectedType, recentRejections])
            statistics.rejectedDocuments = .init(
                count: statistics.types[IncomingEvent.documentRejectedType] ?? 0,
                recent: rejectedRows.map { row in
                    RejectedDocument(
                        eventID: row["id"], agentID: row["agentid"], filename: row["rejection_filename"],
                        reason: row["rejection_reason"], detail: row["rejection_detail"], time: row["time"])
                })
            return statistics
        }
    }
}
