import Foundation
import Synchronization

/// Makes the outbox's commits durable off the writer: the writer commits without syncing
/// (`synchronous = NORMAL`), counts each commit here, and a commit's caller waits until a
/// sync of the write-ahead log that began after its commit has finished.
///
/// One sync covers every commit counted before it began, so commits that finish while a sync
/// runs share the next one, and the writer goes on with the next input meanwhile instead of
/// waiting for the disk (docs/BENCHMARKS.md, "Log sync off the writer"). The log is synced
/// through a descriptor of its own (a sync flushes the file, whichever descriptor asks);
/// SQLite itself still syncs the log before and the database file after every checkpoint.
///
/// A sync that fails fails every commit waiting for it and every later one: after a failed
/// `fdatasync` Linux may drop the unwritten pages and report the next sync as successful, so
/// nothing more is called durable until the agent restarts.
final class OutboxLogSync: Sendable {
    /// The log's path (`<database>-wal`).
    let logPath: String

    private struct State {
        /// Commits counted so far; a commit's number is the count after it.
        var counted: UInt64 = 0
        /// Every commit numbered up to this is durable.
        var durable: UInt64 = 0
        var syncing = false
        var failure: String?
        var waiters: [(commit: UInt64, continuation: CheckedContinuation<Void, any Error>)] = []
        var descriptor: Int32 = -1
        /// Syncs that finished (tests).
        var syncs: Int64 = 0
    }

    private let state = Mutex(State())
    private let queue = DispatchQueue(label: "outpost.outbox.log-sync")
    /// Runs before each sync with the number of commits it will cover; an errno it returns
    /// stands for a failed sync (tests only).
    let beforeSync = Mutex<(@Sendable (UInt64) -> Int32?)?>(nil)

    init(databasePath: String) {
        logPath = databasePath + "-wal"
    }

    deinit {
        let descriptor = state.withLock { $0.descriptor }
        if descriptor >= 0 { close(descriptor) }
    }

    /// Counts a commit that has returned (its frames are in the log file); the number to
    /// wait for.
    func counted() -> UInt64 {
        state.withLock { state in
            state.counted += 1
            return state.counted
        }
    }

    /// The number of the last commit counted.
    var lastCounted: UInt64 { state.withLock { $0.counted } }

    /// Syncs that finished since the outbox opened (tests).
    var syncs: Int64 { state.withLock { $0.syncs } }

    /// Returns once commit `commit` is durable; throws when the sync that would have made it
    /// durable, or an earlier one, failed.
    func waitUntilDurable(_ commit: UInt64) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let (start, outcome) = state.withLock { state -> (Bool, Result<Void, any Error>?) in
                if let failure = state.failure { return (false, .failure(OutboxError.syncFailed(path: logPath, reason: failure))) }
                if state.durable >= commit { return (false, .success(())) }
                state.waiters.append((commit, continuation))
                guard !state.syncing else { return (false, nil) }
                state.syncing = true
                return (true, nil)
            }
            if let outcome { continuation.resume(with: outcome) }
            if start { queue.async { self.syncWhileWaited() } }
        }
    }

    /// Syncs the log until no commit waits: each round covers the commits counted before it
    /// began, then releases their waiters.
    private func syncWhileWaited() {
        while true {
            let target = state.withLock { $0.counted }
            let failure = syncLog(covering: target)
            let (released, again) = state.withLock { state -> ([CheckedContinuation<Void, any Error>], Bool) in
                if let failure {
                    state.failure = failure
                    state.syncing = false
                    defer { state.waiters = [] }
                    return (state.waiters.map(\.continuation), false)
                }
                state.syncs += 1
                state.durable = max(state.durable, target)
                let durable = state.durable
                let ready = state.waiters.filter { $0.commit <= durable }.map(\.continuation)
                state.waiters.removeAll { $0.commit <= durable }
                state.syncing = !state.waiters.isEmpty
                return (ready, state.syncing)
            }
            if let failure {
                let error = OutboxError.syncFailed(path: logPath, reason: failure)
                for waiter in released { waiter.resume(throwing: error) }
                return
            }
            for waiter in released { waiter.resume() }
            guard again else { return }
        }
    }

    /// One `fdatasync` of the log; nil when it succeeded, else why not.
    private func syncLog(covering target: UInt64) -> String? {
        if let hook = beforeSync.withLock({ $0 }), let code = hook(target) {
            return String(cString: strerror(code))
        }
        let descriptor: Int32
        switch openLog() {
        case .success(let opened): descriptor = opened
        case .failure(let reason): return reason.message
        }
        while fdatasync(descriptor) != 0 {
            if errno == EINTR { continue }
            return String(cString: strerror(errno))
        }
        return nil
    }

    private struct Reason: Error { let message: String }

    /// The descriptor of the log file now at ``logPath``: the one kept open when it still
    /// names the same file, else a new one (a sync of another file would prove nothing).
    private func openLog() -> Result<Int32, Reason> {
        var atPath = stat()
        guard stat(logPath, &atPath) == 0 else {
            return .failure(Reason(message: "the log \(logPath) is gone: \(String(cString: strerror(errno)))"))
        }
        let kept = state.withLock { $0.descriptor }
        if kept >= 0 {
            var open = stat()
            if fstat(kept, &open) == 0, open.st_dev == atPath.st_dev, open.st_ino == atPath.st_ino { return .success(kept) }
            close(kept)
            state.withLock { $0.descriptor = -1 }
        }
        let opened = open(logPath, O_RDONLY | O_CLOEXEC)
        guard opened >= 0 else {
            return .failure(Reason(message: "cannot open the log \(logPath): \(String(cString: strerror(errno)))"))
        }
        state.withLock { $0.descriptor = opened }
        return .success(opened)
    }
}
