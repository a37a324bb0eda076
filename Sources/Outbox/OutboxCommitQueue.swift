import Foundation
import GRDB
import Synchronization

/// Commits made one after another share a transaction: bodies queued while the writer is busy
/// run together, each in a savepoint of its own (or none, for a body whose only errors are the
/// transaction's), and are committed at once.
///
/// A queue message of a few kilobytes committed alone writes every page it touches (event,
/// payload, receipt and index pages, 16 KiB each) to the log; fifty committed together write
/// most of those pages once. The order of the queue is the order of the commits: a caller
/// that queues a body before another's is committed before it (or in the same transaction,
/// before it). A body that throws rolls back its own savepoint only and gets its error; a
/// transaction that cannot commit, or a body without a savepoint that throws, fails every body
/// in it.
final class OutboxCommitQueue: Sendable {
    /// One queued body, its type erased; runs on the writer.
    struct Entry: Sendable {
        /// Whether the body runs in a savepoint of its own (see ``Outbox/queueCommit(rollsBackAlone:_:)``).
        let rollsBackAlone: Bool
        /// Runs the body in the open transaction; returns the events and bytes it inserted.
        let run: @Sendable (inout OutboxTransaction) throws -> (events: Int, bytes: Int64)
        /// Told the outcome once the transaction holding the body has committed or failed.
        let settle: @Sendable (Result<UInt64, any Error>) -> Void
        /// Told that the body itself threw (its savepoint rolled back).
        let fail: @Sendable (any Error) -> Void
    }

    private struct State {
        var entries: [Entry] = []
        var draining = false
    }

    /// Bodies per transaction at most, so that one transaction's log stays modest.
    static let groupLimit = 256

    private let state = Mutex(State())

    /// Queues `entry`; returns whether the caller must start draining (no drain running).
    func push(_ entry: Entry) -> Bool {
        state.withLock { state in
            state.entries.append(entry)
            guard !state.draining else { return false }
            state.draining = true
            return true
        }
    }

    /// The next group, in queue order; empty (and draining ends) when nothing is queued.
    func nextGroup() -> [Entry] {
        state.withLock { state in
            guard !state.entries.isEmpty else {
                state.draining = false
                return []
            }
            let count = min(state.entries.count, Self.groupLimit)
            let group = Array(state.entries.prefix(count))
            state.entries.removeFirst(count)
            return group
        }
    }
}

/// A result delivered once, awaited once.
final class OneShot<Value: Sendable>: Sendable {
    private enum State {
        case empty
        case waiting(CheckedContinuation<Value, any Error>)
        case done(Result<Value, any Error>)
    }

    private let state = Mutex(State.empty)

    func fulfill(_ result: Result<Value, any Error>) {
        let waiter = state.withLock { state -> CheckedContinuation<Value, any Error>? in
            switch state {
            case .empty:
                state = .done(result)
                return nil
            case .waiting(let continuation):
                state = .done(result)
                return continuation
            case .done:
                return nil
            }
        }
        waiter?.resume(with: result)
    }

    func value() async throws -> Value {
        try await withCheckedThrowingContinuation { continuation in
            let ready = state.withLock { state -> Result<Value, any Error>? in
                switch state {
                case .empty:
                    state = .waiting(continuation)
                    return nil
                case .done(let result):
                    return result
                case .waiting:
                    preconditionFailure("a result awaited twice")
                }
            }
            if let ready { continuation.resume(with: ready) }
        }
    }
}
