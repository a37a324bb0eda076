import EventModel
import Foundation
import GRDB
import Outbox
import SQLiteDirectBinding
import Testing

/// A fresh temporary directory holding a real SQLite outbox file, plus helpers to fill it.
struct OutboxFixture {
    let directory: String
    let path: String
    let outbox: Outbox

    /// With the agent's binder unless told otherwise.
    init(binder: any OutboxStatementBinder = SQLiteDirectBinder()) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("outbox-\(UUID().uuidString)").path
        path = directory + "/data/outbox.sqlite"
        outbox = try Outbox(path: path, binder: binder)
    }

    func removeAll() { try? FileManager.default.removeItem(atPath: directory) }

    /// Appends `events` in one transaction as the input `fileName` of source `source`;
    /// returns how many were new.
    @discardableResult
    func append(_ events: [EncodedEvent], source: String = "src", fileName: String = "f.xml") async throws -> Int {
        try await outbox.commit { tx in
            for event in events { try tx.append(event, source: source, fileName: fileName) }
            return tx.inserted
        }
    }

    /// Appends `events` in one transaction through the chunk call the intake uses; returns
    /// how many were new.
    @discardableResult
    func appendChunk(_ events: [EncodedEvent], source: String = "src", fileName: String = "f.xml") async throws -> Int {
        try await outbox.commit { tx in
            try tx.append(contentsOf: events, source: source, fileName: fileName)
            return tx.inserted
        }
    }

    /// Sequence numbers of the pending events, in outbox order.
    func pendingSequences() async throws -> [Int64] {
        try await outbox.pendingWindow(limit: 10_000).map(\.sequence)
    }

    /// Runs raw SQL against the file through a separate connection, to look at what the
    /// outbox's API does not show (orphaned payloads, states).
    func query<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) throws -> T {
        try otherConnection().read(body)
    }

    /// A connection of its own to the outbox's file, as another process opens it: it waits
    /// for the outbox's locks as the agent's own connections do, rather than failing at once.
    /// (A body that throws is told so as soon as its savepoint rolls back, while the writer's
    /// transaction, empty by then, may still be ending.) `prepare` runs on it as it opens.
    func otherConnection(prepare: (@Sendable (Database) throws -> Void)? = nil) throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        if let prepare { configuration.prepareDatabase(prepare) }
        return try DatabaseQueue(path: path, configuration: configuration)
    }
}

/// Both ways the outbox's statements reach SQLite: the direct binder the agent uses, and
/// GRDB's arguments (`outbox.direct_binding: false`).
let bothBinders: [any OutboxStatementBinder] = [SQLiteDirectBinder(), GRDBStatementBinder()]

/// A small event whose JSON names its id, so round trips can be checked byte for byte.
func event(_ id: String, key: String = "k", padding: Int = 0) -> EncodedEvent {
    let json = "{\"specversion\":\"1.0\",\"id\":\"\(id)\",\"data\":\"\(String(repeating: "x", count: padding))\"}"
    return EncodedEvent(id: id, type: "test.event", subject: "subject-\(id)", partitionKey: key, json: Array(json.utf8))
}

/// Records `identifier` as a migration applied to the closed outbox at `path` (as a later
/// version would), or removes it again.
func markMigrated(_ path: String, _ identifier: String, applied: Bool = true) throws {
    let queue = try DatabaseQueue(path: path)
    try queue.inDatabase { db in
        if applied {
            try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES (?)", arguments: [identifier])
        } else {
            try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = ?", arguments: [identifier])
        }
    }
    try queue.close()
}
