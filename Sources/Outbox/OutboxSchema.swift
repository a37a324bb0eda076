import GRDB

/// The outbox's tables. Payloads live apart from the event rows so that marking an event
/// delivered rewrites a small row, not its kilobytes of JSON.
enum OutboxSchema {
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE event (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    id TEXT NOT NULL UNIQUE,
                    partition_key TEXT NOT NULL,
                    type TEXT NOT NULL,
                    subject TEXT NOT NULL,
                    source TEXT NOT NULL,
                    file_name TEXT NOT NULL,
                    bytes INTEGER NOT NULL CHECK (bytes >= 0),
                    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'dead')),
                    created_at REAL NOT NULL,
                    delivered_at REAL,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    last_error TEXT
                );
                CREATE INDEX event_pending ON event(seq) WHERE state = 'pending';
                CREATE INDEX event_delivered ON event(delivered_at) WHERE state = 'delivered';
                CREATE INDEX event_dead ON event(seq) WHERE state = 'dead';
                CREATE TABLE payload (
                    seq INTEGER PRIMARY KEY,
                    json BLOB NOT NULL
                );
                CREATE TABLE receipt (
                    source TEXT NOT NULL,
                    sha256 TEXT NOT NULL,
                    file_name TEXT NOT NULL,
                    size INTEGER NOT NULL,
                    events INTEGER NOT NULL,
                    outcome TEXT NOT NULL CHECK (outcome IN ('committed', 'rejected')),
                    committed_at REAL NOT NULL,
                    PRIMARY KEY (source, sha256)
                );
                CREATE INDEX receipt_age ON receipt(committed_at);
                CREATE TABLE agent_state (
                    key TEXT PRIMARY KEY,
                    value TEXT NOT NULL,
                    updated_at REAL NOT NULL
                );
                """)
        }
        return m
    }

    /// Migrations a later version may add that this one can run beside: their identifiers
    /// begin with this (an index, say, that older versions ignore). Any other migration this
    /// version does not know changes what it would read, so it refuses the outbox.
    static let compatiblePrefix = "compatible-"

    /// The migrations applied to the outbox that this version does not know and cannot run
    /// beside, sorted; empty for an outbox this version can use (or a new one).
    static func unknownMigrations(_ db: Database) throws -> [String] {
        let known = Set(migrator.migrations)
        return try migrator.appliedIdentifiers(db)
            .filter { !known.contains($0) && !$0.hasPrefix(compatiblePrefix) }
            .sorted()
    }
}
