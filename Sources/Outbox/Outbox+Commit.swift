import EventModel
import Foundation
import GRDB
import Synchronization

/// A commit that has returned, to wait for until it is durable
/// (``Outbox/waitUntilDurable(_:)``).
public struct OutboxCommit: Sendable, Equatable {
    let number: UInt64
}

/// A body queued by ``Outbox/queueCommit(_:)``.
public struct QueuedCommit<T: Sendable>: Sendable {
    let outcome: OneShot<(T, OutboxCommit)>

    /// The body's result and its commit, once the transaction holding it has committed (not
    /// yet synced: see ``Outbox/waitUntilDurable(_:)``); the body's error, or the
    /// transaction's, otherwise.
    public func result() async throws -> (T, OutboxCommit) {
        try await outcome.value()
    }
}

/// A body's result, kept from the writer's run until its transaction commits.
final class ValueSlot<T: Sendable>: Sendable {
    private let slot = Mutex<T?>(nil)

    func set(_ value: T) { slot.withLock { $0 = value } }

    func take() -> T? { slot.withLock { value in defer { value = nil }; return value } }
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
        try await queueCommit(body).result()
    }

    /// Queues `body` for the writer and returns at once: bodies queued one after another are
    /// committed in that order, those queued while the writer is busy in one transaction
    /// (each in a savepoint: a body that throws rolls back alone). Await
    /// ``QueuedCommit/result()`` for what ``commitBeforeSync(_:)`` returns.
    ///
    /// - Parameter rollsBackAlone: false for a body that throws only when the transaction
    ///   itself fails (SQLite's own errors; none of its inputs' errors): it runs without a
    ///   savepoint, and should it throw, the whole transaction rolls back and every body in it
    ///   gets the error. A savepoint costs a body of one small document more than its inserts
    ///   (SQLite copies each page the body changes a second time into its sub-journal).
    public func queueCommit<T: Sendable>(
        rollsBackAlone: Bool = true, _ body: @escaping @Sendable (inout OutboxTransaction) throws -> T
    ) -> QueuedCommit<T> {
        let outcome = OneShot<(T, OutboxCommit)>()
        let value = ValueSlot<T>()
        let entry = OutboxCommitQueue.Entry(
            rollsBackAlone: rollsBackAlone,
            run: { tx in
                value.set(try body(&tx))
                return (tx.inserted, tx.insertedBytes)
            },
            settle: { result in
                outcome.fulfill(result.flatMap { number in
                    guard let value = value.take() else { return .failure(CancellationError()) }
                    return .success((value, OutboxCommit(number: number)))
                })
            },
            fail: { outcome.fulfill(.failure($0)) })
        if commitQueue.push(entry) {
            Task { await drainCommits() }
        }
        return QueuedCommit(outcome: outcome)
    }

    /// Runs the queued bodies, a group per transaction, until the queue is empty.
    private func drainCommits() async {
        while true {
            let group = commitQueue.nextGroup()
            if group.isEmpty { return }
            do {
                let ((events, bytes), number) = try await writeCounted { [path, fileIdentity, binder] db -> (Int, Int64) in
                    let now = Date().timeIntervalSince1970
                    var events = 0
                    var bytes: Int64 = 0
                    for entry in group {
                        let run = {
                            var tx = OutboxTransaction(db: db, now: now, binder: binder)
                            return try entry.run(&tx)
                        }
                        do {
                            let added = try entry.rollsBackAlone ? Self.inSavepoint(db, run) : run()
                            events += added.events
                            bytes += added.bytes
                        } catch let lost as SavepointNotUndone {
                            throw lost.reason
                        } catch where !entry.rollsBackAlone {
                            // Nothing undoes it alone: no body here commits.
                            throw error
                        } catch {
                            entry.fail(error)
                            // An I/O or full-disk error can end the whole transaction: then
                            // nothing more may run in it, and none of it commits.
                            guard db.isInsideTransaction else { throw error }
                        }
                    }
                    // Last, before COMMIT: a commit into a file no longer at `path` would be lost.
                    if let fileIdentity, FileIdentity(path: path) != fileIdentity { throw OutboxError.replaced(path: path) }
                    return (events, bytes)
                }
                counters.add(events: Int64(events), bytes: bytes)
                checkpointer?.committed(bytes: bytes)
                for entry in group { entry.settle(.success(number)) }
            } catch {
                for entry in group { entry.settle(.failure(error)) }
            }
        }
    }

    /// Runs `body` in a savepoint of the open transaction: kept when it returns, rolled back
    /// alone when it throws. The three statements are prepared once per connection (GRDB's
    /// `inSavepoint` prepares two per call: per input, for inputs of one document).
    private static func inSavepoint<T>(_ db: Database, _ body: () throws -> T) throws -> T {
        try db.cachedStatement(sql: "SAVEPOINT outbox_input").execute()
        do {
            let result = try body()
            try db.cachedStatement(sql: "RELEASE SAVEPOINT outbox_input").execute()
            return result
        } catch {
            // An I/O or full-disk error may have ended the transaction: nothing to roll back.
            if db.isInsideTransaction {
                do {
                    try db.cachedStatement(sql: "ROLLBACK TO SAVEPOINT outbox_input").execute()
                    try db.cachedStatement(sql: "RELEASE SAVEPOINT outbox_input").execute()
                } catch {
                    throw SavepointNotUndone(reason: error)
                }
            }
            throw error
        }
    }

    /// A body's work could not be rolled back alone: the whole transaction must not commit.
    private struct SavepointNotUndone: Error {
        let reason: any Error
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
