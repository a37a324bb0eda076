import Foundation
import Logging
import PostgresNIO

/// The PostgreSQL hub's schema: versioned migrations applied once, under an advisory lock so
/// that replicas starting together take turns, and the monthly partitions of `event`.
enum PostgresSchema {
    /// Advisory lock keys ("outpost" in ASCII, then 1 and 2).
    static let migrationLock: Int64 = 0x6F75_7470_6F73_0001
    static let maintenanceLock: Int64 = 0x6F75_7470_6F73_0002
    /// Held (shared) by every transaction that stores events, from before it has a
    /// transaction id until it ends: `PostgresStatements.horizon` finds the writers by it.
    static let writerLock: Int64 = 0x6F75_7470_6F73_0003

    /// Each migration once, in order; `hub_migration` records what was applied.
    static let migrations: [(version: Int, name: String, sql: [String])] = [
        (1, "events, registry, counters, conflicts", [
            """
            CREATE TABLE event_id (
                id text PRIMARY KEY CHECK (length(id) > 0),
                seq bigint NOT NULL,
                received_at timestamptz NOT NULL,
                agentid text NOT NULL,
                data_sha256 bytea NOT NULL CHECK (length(data_sha256) = 32)
            )
            """,
            "CREATE SEQUENCE event_seq",
            """
            CREATE TABLE event (
                txid bigint NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
                seq bigint NOT NULL,
                id text NOT NULL,
                type text NOT NULL CHECK (length(type) > 0),
                source text NOT NULL CHECK (length(source) > 0),
                region text NOT NULL,
                agentid text NOT NULL,
                subject text,
                time text,
                received_at timestamptz NOT NULL,
                rejection_reason text,
                rejection_detail text,
                rejection_filename text,
                data_sha256 bytea NOT NULL,
                json bytea NOT NULL CHECK (length(json) > 1)
            ) PARTITION BY RANGE (received_at)
            """,
            // Partitions are created months ahead; this one only catches what nothing else would.
            "CREATE TABLE event_default PARTITION OF event DEFAULT",
            "CREATE INDEX event_by_position ON event (txid, seq)",
            "CREATE INDEX event_by_type ON event (type, txid, seq)",
            "CREATE INDEX event_by_source ON event (source, txid, seq)",
            "CREATE INDEX event_by_region ON event (region, txid, seq)",
            "CREATE INDEX event_by_subject ON event (subject, txid, seq)",
            "CREATE INDEX event_by_id ON event (id)",
            "CREATE INDEX event_by_received_at ON event (received_at)",
            """
            CREATE TABLE agent_activity (
                agentid text PRIMARY KEY,
                region text NOT NULL,
                events bigint NOT NULL CHECK (events >= 0),
                duplicates bigint NOT NULL CHECK (duplicates >= 0),
                conflicts bigint NOT NULL CHECK (conflicts >= 0),
                last_seen timestamptz NOT NULL
            )
            """,
            """
            CREATE TABLE agent_type_count (
                agentid text NOT NULL,
                type text NOT NULL,
                region text NOT NULL,
                events bigint NOT NULL CHECK (events >= 0),
                PRIMARY KEY (agentid, type)
            )
            """,
            """
            CREATE TABLE hourly_count (
                hour bigint NOT NULL,
                agentid text NOT NULL,
                type text NOT NULL,
                events bigint NOT NULL CHECK (events >= 0),
                PRIMARY KEY (hour, agentid, type)
            )
            """,
            """
            CREATE TABLE agent_heartbeat (
                agentid text PRIMARY KEY,
                region text NOT NULL,
                received_at timestamptz NOT NULL,
                seq bigint NOT NULL,
                json bytea NOT NULL
            )
            """,
            """
            CREATE TABLE id_conflict (
                seq bigserial PRIMARY KEY,
                id text NOT NULL,
                agentid text NOT NULL,
                region text NOT NULL,
                received_at timestamptz NOT NULL,
                stored_sha256 bytea NOT NULL,
                received_sha256 bytea NOT NULL,
                stored_agentid text NOT NULL,
                json bytea NOT NULL,
                UNIQUE (id, received_sha256)
            )
            """,
            "CREATE TABLE health_probe (replica text PRIMARY KEY, checked_at timestamptz NOT NULL)",
        ]),
        PostgresCanonicalSchema.migration,
    ]

    /// Applies the migrations not applied yet, each in its own transaction.
    static func migrate(_ client: PostgresClient, logger: Logger) async throws {
        try await client.withConnection { connection in
            try await connection.query("SELECT pg_advisory_lock(\(migrationLock))", logger: logger)
            do {
                try await connection.query(
                    """
                    CREATE TABLE IF NOT EXISTS hub_migration (
                        version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())
                    """, logger: logger)
                var steps: [(key: Int, name: String)] = []
                for try await (version, name) in try await connection.query("SELECT version, name FROM hub_migration", logger: logger)
                    .decode((Int, String).self)
                {
                    steps.append((version, name))
                }
                let newer = NewerSchema.unknownSteps(steps, known: Set(migrations.map(\.version)))
                if !newer.isEmpty { throw NewerSchemaError(location: "on PostgreSQL", steps: newer) }
                let applied = Set(steps.map(\.key))
                for migration in migrations where !applied.contains(migration.version) {
                    try await connection.withTransaction(logger: logger) { connection in
                        for statement in migration.sql {
                            try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                        }
                        try await connection.query(
                            "INSERT INTO hub_migration (version, name) VALUES (\(migration.version), \(migration.name))", logger: logger)
                    }
                    logger.notice("hub.storage.migrated", metadata: ["hub.migration": "\(migration.version) \(migration.name)"])
                }
            } catch {
                _ = try? await connection.query("SELECT pg_advisory_unlock(\(migrationLock))", logger: logger)
                throw error
            }
            try await connection.query("SELECT pg_advisory_unlock(\(migrationLock))", logger: logger)
        }
    }

    /// The month partitions from the one holding `now` to two months after it.
    static func createPartitions(_ connection: PostgresConnection, around now: Date, logger: Logger) async throws {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month], from: now)
        for offset in 0..<3 {
            let start = calendar.date(from: DateComponents(year: parts.year, month: (parts.month ?? 1) + offset, day: 1))!
            let end = calendar.date(byAdding: .month, value: 1, to: start)!
            let name = partitionName(start, calendar: calendar)
            let exists = try await connection.query("SELECT to_regclass(\(name)) IS NOT NULL", logger: logger)
            var found = false
            for try await value in exists.decode(Bool.self) { found = value }
            if found { continue }
            try await connection.query(
                PostgresQuery(unsafeSQL: """
                    CREATE TABLE \(name) PARTITION OF event
                    FOR VALUES FROM ('\(iso(start))') TO ('\(iso(end))')
                    """), logger: logger)
            logger.notice("hub.storage.partition_created", metadata: ["hub.partition": "\(name)"])
        }
    }

    /// Drops the month partitions whose whole range is older than `cutoff`.
    static func dropPartitions(_ connection: PostgresConnection, olderThan cutoff: Date, logger: Logger) async throws {
        let rows = try await connection.query(
            """
            SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'event'::regclass AND c.relname ~ '^event_y[0-9]{4}m[0-9]{2}$'
            """, logger: logger)
        var names: [String] = []
        for try await name in rows.decode(String.self) { names.append(name) }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        for name in names.sorted() {
            let digits = name.dropFirst("event_y".count)
            guard let year = Int(digits.prefix(4)), let month = Int(digits.suffix(2)),
                let start = calendar.date(from: DateComponents(year: year, month: month, day: 1)),
                let end = calendar.date(byAdding: .month, value: 1, to: start), end <= cutoff
            else { continue }
            try await connection.query(PostgresQuery(unsafeSQL: "DROP TABLE \(name)"), logger: logger)
            logger.notice("hub.storage.partition_dropped", metadata: ["hub.partition": "\(name)"])
        }
    }

    static func partitionName(_ start: Date, calendar: Calendar) -> String {
        let parts = calendar.dateComponents([.year, .month], from: start)
        return String(format: "event_y%04dm%02d", parts.year ?? 0, parts.month ?? 0)
    }

    private static func iso(_ date: Date) -> String {
        date.rfc3339
    }
}
