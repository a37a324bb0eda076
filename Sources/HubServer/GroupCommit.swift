import Foundation

/// Runs writes that arrive while another is being made durable together, in one transaction
/// and one sync: a request that finds the writer idle is written at once; those arriving
/// during its commit are written next, all of them in one round (at most `maximumRound`).
///
/// Each job's result is its own: `round` returns one result per job, so one failing batch
/// (rolled back to its savepoint) does not fail the others of its round.
final class GroupCommit<Job: Sendable, Outcome: Sendable>: @unchecked Sendable {
    typealias Round = @Sendable ([Job]) async -> [Result<Outcome, any Error>]

    private struct Pending {
        var job: Job
        var continuation: CheckedContinuation<Outcome, any Error>
    }

    private let lock = NSLock()
    private var pending: [Pending] = []
    private var writing = false
    private let maximumRound: Int
    private let round: Round

    init(maximumRound: Int = 64, round: @escaping Round) {
        self.maximumRound = max(1, maximumRound)
        self.round = round
    }

    /// Writes `job` in the next round and returns its outcome once that round is durable.
    func submit(_ job: Job) async throws -> Outcome {
        try await withCheckedThrowingContinuation { continuation in
            let leads = lock.withLock { () -> Bool in
                pending.append(Pending(job: job, continuation: continuation))
                if writing { return false }
                writing = true
                return true
            }
            if leads { Task { await self.drain() } }
        }
    }

    private func drain() async {
        while true {
            let jobs = lock.withLock { () -> [Pending] in
                let taken = Array(pending.prefix(maximumRound))
                pending.removeFirst(taken.count)
                if taken.isEmpty { writing = false }
                return taken
            }
            if jobs.isEmpty { return }
            let results = await round(jobs.map(\.job))
            for (index, job) in jobs.enumerated() {
                job.continuation.resume(with: index < results.count ? results[index] : .failure(HubStorageError.unavailable("no result for a batch of the round")))
            }
        }
    }
}
