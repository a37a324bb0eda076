import Foundation
import GRDB

/// A dead-lettered event as `outpost dlq list|show` prints it.
public struct DeadLetter: Sendable, Equatable {
    public var sequence: Int64
    public var id: String
    public var type: String
    public var subject: String
    public var source: String
    public var fileName: String
    public var reason: String
    public var attempts: Int
    public var createdAt: Double
    /// The stored CloudEvent JSON (only filled by ``Outbox/deadLetter(id:)``).
    public var json: [UInt8]?
}

extension Outbox {
    /// Dead letters in outbox order.
    public func deadLetters(limit: Int = 1000) async throws -> [DeadLetter] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM event WHERE state = 'dead' ORDER BY seq LIMIT ?", arguments: [limit]
            ).map { DeadLetter(row: $0, json: nil) }
        }
    }

    /// One dead letter with its JSON, by event id.
    public func deadLetter(id: String) async throws -> DeadLetter? {
        try await pool.read { db in
            guard let row = try Row.fetchOne(
                db, sql: "SELECT e.*, p.json FROM event e JOIN payload p ON p.seq = e.seq WHERE e.id = ? AND e.state = 'dead'",
                arguments: [id])
            else { return nil }
            let data: Data = row["json"]
            return DeadLetter(row: row, json: [UInt8](data))
        }
    }

    /// Puts dead letters back in the delivery queue (all of them when `ids` is nil).
    /// Returns how many were re-queued.
    @discardableResult
    public func replayDeadLetters(ids: [String]?) async throws -> Int {
        try await durableWrite { db in
            if let ids {
                var n = 0
                for id in ids {
                    try db.execute(
                        sql: "UPDATE event SET state = 'pending', last_error = NULL WHERE id = ? AND state = 'dead'",
                        arguments: [id])
                    n += db.changesCount
                }
                return n
            }
            try db.execute(sql: "UPDATE event SET state = 'pending', last_error = NULL WHERE state = 'dead'")
            return db.changesCount
        }
    }

    /// Deletes dead letters for good (all of them when `ids` is nil). Returns how many.
    @discardableResult
    public func purgeDeadLetters(ids: [String]?) async throws -> Int {
        let n = try await durableWrite { db -> Int in
            let condition = ids == nil ? "state = 'dead'" : "state = 'dead' AND id = ?"
            var n = 0
            for id in ids.map({ $0.map(Optional.some) }) ?? [nil] {
                let args: StatementArguments = id.map { [$0] } ?? []
                try db.execute(sql: "DELETE FROM payload WHERE seq IN (SELECT seq FROM event WHERE \(condition))", arguments: args)
                try db.execute(sql: "DELETE FROM event WHERE \(condition)", arguments: args)
                n += db.changesCount
            }
            return n
        }
        try refreshCounters()
        return n
    }

    /// Re-queues delivered events still retained that were delivered at or after `since`
    /// (the hub drops the ones it already has). Returns how many.
    @discardableResult
    public func replayDelivered(since: Double) async throws -> Int {
        let n = try await durableWrite { db -> Int in
            try db.execute(
                sql: "UPDATE event SET state = 'pending', delivered_at = NULL WHERE state = 'delivered' AND delivered_at >= ?",
                arguments: [since])
            return db.changesCount
        }
        try refreshCounters()
        return n
    }
}

extension Outbox {
    /// A write an operator asked for (`outpost dlq …`): it returns once it is durable, like a
    /// commit. The delivery bookkeeping is not waited for: a power cut that undoes it only
    /// sends some events again, and the hub drops what it already has.
    func durableWrite<T: Sendable>(_ updates: @escaping @Sendable (Database) throws -> T) async throws -> T {
        let (result, commit) = try await writeCounted(updates)
        try await waitUntilDurable(OutboxCommit(number: commit))
        return result
    }
}

extension DeadLetter {
    init(row: Row, json: [UInt8]?) {
        sequence = row["seq"]
        id = row["id"]
        type = row["type"]
        subject = row["subject"]
        source = row["source"]
        fileName = row["file_name"]
        reason = row["last_error"] ?? ""
        attempts = row["attempts"]
        createdAt = row["created_at"]
        self.json = json
    }
}
