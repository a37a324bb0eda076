import EventModel
import Foundation
import GRDB

/// A pending event as the forwarder plans batches with it (no payload).
public struct PendingEvent: Sendable, Equatable {
    public var sequence: Int64
    public var partitionKey: String
    public var bytes: Int
}

extension Outbox {
    /// The oldest pending events numbered above `after`, in outbox order, at most `limit`.
    ///
    /// Numbers only grow and a reader sees commits whole, in their order, so the events
    /// committed since a read that ended at number n are exactly those above n (until an event
    /// comes back to pending: a replayed dead letter, a retried batch).
    public func pendingWindow(after: Int64 = 0, limit: Int) async throws -> [PendingEvent] {
        try await pool.read { db in
            // Prepared once per reader: the forwarder reads the window every 2 s even when
            // quiet, and preparing it each time ran SQLite's parser each time.
            let statement = try db.cachedStatement(
                sql: "SELECT seq, partition_key, bytes FROM event WHERE state = 'pending' AND seq > ? ORDER BY seq LIMIT ?")
            let rows = try Row.fetchCursor(statement, arguments: [after, limit])
            // Room for a small window: a quiet agent's reads find none, and room for `limit`
            // (some 140 KiB) was a block mapped and unmapped at every read.
            var out: [PendingEvent] = []
            out.reserveCapacity(min(limit, 256))
            while let row = try rows.next() {
                out.append(PendingEvent(sequence: row[0], partitionKey: row[1], bytes: row[2]))
            }
            return out
        }
    }

    /// What ``outboundEvents(_:)`` reads of each event, before its `WHERE`.
    private static let outboundColumns = "SELECT e.seq, e.id, e.partition_key, p.json FROM event e JOIN payload p ON p.seq = e.seq"

    /// The events with these sequence numbers, with their stored JSON, in outbox order.
    ///
    /// A batch's numbers are usually a run with few gaps (the oldest pending events of its
    /// keys): those are read as one range by a statement prepared once, the rows between them
    /// passed over. Scattered numbers are listed in the statement.
    public func outboundEvents(_ sequences: [Int64]) async throws -> [OutboundEvent] {
        guard !sequences.isEmpty else { return [] }
        return try await pool.read { db in
            var out: [OutboundEvent] = []
            out.reserveCapacity(sequences.count)
            let rows: RowCursor
            // The rows of a range that were not asked for are passed over; a list gives only those asked.
            var wanted: SequenceRun.Members?
            if let range = SequenceRun.covering(sequences) {
                let statement = try db.cachedStatement(sql: Self.outboundColumns + " WHERE e.seq BETWEEN ? AND ? ORDER BY e.seq")
                rows = try Row.fetchCursor(statement, arguments: [range.lowerBound, range.upperBound])
                wanted = SequenceRun.Members(sequences)
            } else {
                rows = try Row.fetchCursor(
                    db, sql: Self.outboundColumns + " WHERE e.seq IN (\(SequenceRun.list(sequences))) ORDER BY e.seq")
            }
            while let row = try rows.next() {
                let sequence: Int64 = row[0]
                if wanted?.contains(sequence) == false { continue }
                // Copied once, from SQLite's buffer straight into the event's bytes.
                let json = try row.withUnsafeData(atIndex: 3) { data in data.map { [UInt8]($0) } ?? [] }
                out.append(OutboundEvent(sequence: sequence, id: row[1], partitionKey: row[2], json: json))
            }
            return out
        }
    }

    /// Marks events delivered (kept for `retain_delivered`, then pruned) and dead-letters
    /// the ones the hub refused, in one transaction.
    ///
    /// - Returns: the commit time (seconds since 1970) of each event that became delivered
    ///   by this call, for delivery-latency metrics.
    @discardableResult
    public func acknowledge(delivered: [Int64], deadLetters: [(sequence: Int64, reason: String)] = []) async throws -> [Double] {
        let now = Date().timeIntervalSince1970
        let dead = deadLetters.map { DeadLetterUpdate(sequence: $0.sequence, reason: $0.reason) }
        let (freed, committedAt) = try await pool.write { db -> ((Int64, Int64), [Double]) in
            var bytes: Int64 = 0
            var committedAt: [Double] = []
            if !delivered.isEmpty {
                let rows: RowCursor
                let update: Statement
                // A whole run of numbers (a batch of interleaved keys, typically) goes by
                // statements prepared once; any other set is listed.
                if let run = SequenceRun.exact(delivered) {
                    rows = try Row.fetchCursor(
                        db.cachedStatement(sql: "SELECT created_at, bytes FROM event WHERE seq BETWEEN ? AND ? AND state <> 'delivered'"),
                        arguments: [run.lowerBound, run.upperBound])
                    update = try db.cachedStatement(
                        sql: "UPDATE event SET state = 'delivered', delivered_at = ?, attempts = attempts + 1 WHERE seq BETWEEN ? AND ?")
                    update.setUncheckedArguments([now, run.lowerBound, run.upperBound])
                } else {
                    let list = SequenceRun.list(delivered)
                    rows = try Row.fetchCursor(
                        db, sql: "SELECT created_at, bytes FROM event WHERE seq IN (\(list)) AND state <> 'delivered'")
                    update = try db.makeStatement(
                        sql: "UPDATE event SET state = 'delivered', delivered_at = ?, attempts = attempts + 1 WHERE seq IN (\(list))")
                    update.setUncheckedArguments([now])
                }
                while let row = try rows.next() {
                    committedAt.append(row[0])
                    bytes += row[1] as Int64
                }
                try update.execute()
                try Outbox.setState(db, key: OutboxStateKey.lastDeliveryAt, value: String(now), now: now)
                try db.execute(sql: "DELETE FROM agent_state WHERE key = ?", arguments: [OutboxStateKey.lastError])
            }
            for d in dead {
                try db.execute(
                    sql: "UPDATE event SET state = 'dead', last_error = ?, attempts = attempts + 1 WHERE seq = ? AND state = 'pending'",
                    arguments: [d.reason, d.sequence])
            }
            return ((Int64(committedAt.count), bytes), committedAt)
        }
        counters.add(events: -freed.0, bytes: -freed.1)
        return committedAt
    }

    /// Records a failed attempt (for `status` and `dlq show`); the events stay pending.
    public func recordFailedAttempt(_ sequences: [Int64], error: String) async throws {
        guard !sequences.isEmpty else { return }
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE event SET attempts = attempts + 1, last_error = ? WHERE seq IN (\(SequenceRun.list(sequences)))",
                arguments: [error])
        }
    }

    /// Deletes delivered events older than `deliveredBefore` and receipts older than
    /// `receiptsBefore`. Returns the number of events pruned.
    @discardableResult
    public func prune(deliveredBefore: Double, receiptsBefore: Double) async throws -> Int {
        try await pool.write { db in
            try db.execute(
                sql: "DELETE FROM payload WHERE seq IN (SELECT seq FROM event WHERE state = 'delivered' AND delivered_at < ?)",
                arguments: [deliveredBefore])
            try db.execute(sql: "DELETE FROM event WHERE state = 'delivered' AND delivered_at < ?", arguments: [deliveredBefore])
            let pruned = db.changesCount
            try db.execute(sql: "DELETE FROM receipt WHERE committed_at < ?", arguments: [receiptsBefore])
            return pruned
        }
    }
}

private struct DeadLetterUpdate: Sendable {
    var sequence: Int64
    var reason: String
}
