import Foundation
import GRDB

/// Keys of the small agent state table that `outpost status` shows.
public enum OutboxStateKey {
    public static let lastDeliveryAt = "last_delivery_at"
    public static let deliveryPaused = "delivery_paused"
    public static let intakePaused = "intake_paused"
    public static let lastError = "last_delivery_error"
    public static let agentHeartbeat = "agent_heartbeat"
}

extension Outbox {
    /// Sets (or, with `nil`, clears) a state value.
    public func setState(_ key: String, _ value: String?) async throws {
        let now = Date().timeIntervalSince1970
        try await pool.write { db in
            if let value {
                try Outbox.setState(db, key: key, value: value, now: now)
            } else {
                try db.execute(sql: "DELETE FROM agent_state WHERE key = ?", arguments: [key])
            }
        }
    }

    /// Sets or clears a state value right away, on the calling thread. For the rare
    /// transitions (pause, resume) whose order matters more than a short blocking write.
    public func setStateNow(_ key: String, _ value: String?) throws {
        let now = Date().timeIntervalSince1970
        try pool.write { db in
            if let value {
                try Outbox.setState(db, key: key, value: value, now: now)
            } else {
                try db.execute(sql: "DELETE FROM agent_state WHERE key = ?", arguments: [key])
            }
        }
    }

    /// All state values with the time each was set.
    public func stateValues() async throws -> [String: (value: String, updatedAt: Double)] {
        try await pool.read { db in
            var out: [String: (value: String, updatedAt: Double)] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT key, value, updated_at FROM agent_state") {
                out[row[0]] = (row[1], row[2])
            }
            return out
        }
    }

    static func setState(_ db: Database, key: String, value: String, now: Double) throws {
        try db.execute(
            sql: """
                INSERT INTO agent_state (key, value, updated_at) VALUES (?, ?, ?)
                ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
                """,
            arguments: [key, value, now])
    }
}
