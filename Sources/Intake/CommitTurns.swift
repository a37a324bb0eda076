import Synchronization

/// Keeps commits in the order their submissions began, while the work before each commit
/// (hashing, decoding) overlaps: a turn is taken when a submission begins, and its commit
/// waits until every earlier turn has finished, committed or failed.
final class CommitTurns: Sendable {
    private struct State {
        var issued = 0
        /// The turn that may commit now.
        var current = 0
        /// Turns finished ahead of their order (they failed before committing).
        var finishedEarly: Set<Int> = []
        var waiting: [Int: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = Mutex(State())

    /// A new turn, after all turns taken before.
    func take() -> Int {
        state.withLock { state in
            defer { state.issued += 1 }
            return state.issued
        }
    }

    /// Returns once all turns before `turn` are finished.
    func wait(for turn: Int) async {
        await withCheckedContinuation { continuation in
            let now = state.withLock { state -> Bool in
                guard state.current != turn else { return true }
                state.waiting[turn] = continuation
                return false
            }
            if now { continuation.resume() }
        }
    }

    /// Marks `turn` finished (call exactly once per turn, whatever happened to it).
    func finish(_ turn: Int) {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.finishedEarly.insert(turn)
            while state.finishedEarly.remove(state.current) != nil { state.current += 1 }
            return state.waiting.removeValue(forKey: state.current)
        }
        next?.resume()
    }
}
