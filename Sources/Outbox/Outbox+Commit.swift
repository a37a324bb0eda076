import EventModel
import Foundation
import GRDB

/// A commit that has returned, to wait for until it is durable
/// (``Outbox/waitUntilDurable(_:)``).
public struct OutboxCommit: Sendable, Equatable {
    let number: UInt64
}

extension Outbox {
    /// Runs `body` in one write transaction (off the cooperative pool, on the database's
    /// writer queue), commits it, and returns once the commit is durable (its log synced);
    /// throws and rolls back everything when `body` throws.
    public func commit<T: Sendable>(_ body: @escaping @Sendable (inout OutboxTransaction) throws -> T) async throws -> T {
        let (result, commit) = try await commitBeforeSync(body)
        try await waitUntilDurable(commit)
        return result
    }

    /// ``commit(_:)`` without waiting for the sync: the events are in the outbox (readers see
    /// them, later commits follow them) but may not survive a power cut until
    /// ``waitUntilDurable(_:)`` for the returned commit has returned. Nothing may be
    /// acknowledged to a source before that.
    public func commitBeforeSync<T: Sendable>(
        _ body: @escaping @Sendable (inout OutboxTransaction) throws -> T
    ) async throws -> (T, OutboxCommit) {
        let ((result, events, bytes), number) = try await writeCounted { [path, fileIdentity, binder] db -> (T, Int, Int64) in
            var tx = OutboxTransaction(db: db, now: Date().timeIntervalSince1970, binder: binder)
            let result = try body(&tx)
            // Last, before COMMIT: a commit into a file no longer at `path` would be lost.
            if let fileIdentity, FileIdentity(path: path) != fileIdentity { throw OutboxError.replaced(path: path) }
            return (result, tx.inserted, tx.insertedBytes)
        }
        let commit = OutboxCommit(number: number)
        counters.add(events: Int64(events), bytes: bytes)
        checkpointer?.committed(bytes: bytes)
        return (result, commit)
    }

    /// `pool.write`, with the commit counted for ``OutboxLogSync`` on the writer right after
    /// its COMMIT (not before: a sync begun in between would not hold its frames), so that
    /// any later write, such as one that finds this commit's receipt, comes after the count.
    func writeCounted<T: Sendable>(_ updates: @escaping @Sendable (Database) throws -> T) async throws -> (T, UInt64) {
        try await pool.writeWithoutTransaction { [logSync] db in
            var result: T?
            try db.inTransaction {
                result = try updates(db)
                return .commit
            }
            guard let result else { preconditionFailure("a committed transaction without its result") }
            return (result, logSync?.counted() ?? 0)
        }
    }

    /// Returns once `commit` is durable; throws ``OutboxError/syncFailed(path:reason:)`` when
    /// the log could not be synced.
    public func waitUntilDurable(_ commit: OutboxCommit) async throws {
        try await logSync?.waitUntilDurable(commit.number)
    }

    /// Returns once every commit that has returned so far is durable: for a caller that acts
    /// on committed data it did not commit itself (a receipt found in the outbox).
    public func waitUntilDurable() async throws {
        guard let logSync else { return }
        try await logSync.waitUntilDurable(logSync.lastCounted)
    }

    /// The receipt for an input with this content from this source, if any.
    public func receipt(source: String, sha256: String) async throws -> Receipt? {
        try await pool.read { db in
            try OutboxTransaction(db: db, now: 0).receipt(source: source, sha256: sha256)
        }
    }
}
