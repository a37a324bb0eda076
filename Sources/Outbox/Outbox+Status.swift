import Foundation
import GRDB

/// What `outpost status` reports about the outbox.
public struct OutboxStatus: Sendable, Equatable {
    public var pendingEvents: Int64
    public var pendingBytes: Int64
    /// Creation time of the oldest pending event, if any.
    public var oldestPendingAt: Double?
    public var deadLetters: Int64
    public var deadLetterBytes: Int64
    /// Dead letters kept because their id was taken by another document (``IDConflict``).
    public var idConflicts: Int64
    public var deliveredRetained: Int64
    public var lastDeliveryAt: Double?
    public var deliveryPaused: String?
    public var intakePaused: String?
    public var lastDeliveryError: String?
    public var databaseBytes: Int64
}

extension Outbox {
    /// Counts read from the database (consistent snapshot; works while `run` writes).
    public func status() async throws -> OutboxStatus {
        let fileBytes = fileBytes()
        return try await pool.read { db in
            // The state is spelled out in the SQL: a partial index is not used for a bound value.
            func counts(_ stateLiteral: String) throws -> (Int64, Int64) {
                let row = try Row.fetchOne(
                    db, sql: "SELECT count(*), coalesce(sum(bytes), 0) FROM event WHERE state = \(stateLiteral)")
                return (row?[0] ?? 0, row?[1] ?? 0)
            }
            let pending = try counts("'pending'")
            let dead = try counts("'dead'")
            let conflicts = try Int64.fetchOne(
                db, sql: "SELECT count(*) FROM event WHERE state = 'dead' AND last_error LIKE '\(IDConflict.reasonCode)%'") ?? 0
            let delivered = try Int64.fetchOne(db, sql: "SELECT count(*) FROM event WHERE state = 'delivered'") ?? 0
            let oldest = try Double.fetchOne(
                db, sql: "SELECT created_at FROM event WHERE state = 'pending' ORDER BY seq LIMIT 1")
            var state: [String: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT key, value FROM agent_state") { state[row[0]] = row[1] }
            return OutboxStatus(
                pendingEvents: pending.0, pendingBytes: pending.1, oldestPendingAt: oldest,
                deadLetters: dead.0, deadLetterBytes: dead.1, idConflicts: conflicts, deliveredRetained: delivered,
                lastDeliveryAt: state[OutboxStateKey.lastDeliveryAt].flatMap(Double.init),
                deliveryPaused: state[OutboxStateKey.deliveryPaused],
                intakePaused: state[OutboxStateKey.intakePaused],
                lastDeliveryError: state[OutboxStateKey.lastError],
                databaseBytes: fileBytes)
        }
    }
}
