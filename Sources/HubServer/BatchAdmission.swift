import Foundation

/// Admits at most `limit` batches at once (`max_concurrent_batches`); the hub answers the
/// others 503 with `Retry-After` instead of queueing them in memory.
final class BatchAdmission: @unchecked Sendable {
    /// Batches processed at once.
    let limit: Int
    private let lock = NSLock()
    private var inFlight = 0  // guarded by `lock`

    init(limit: Int) {
        self.limit = limit
    }

    /// Runs `work` if a slot is free, or returns `nil` at once when all are taken.
    func admit<T>(_ work: () async throws -> T) async rethrows -> T? {
        let admitted = lock.withLock {
            guard inFlight < limit else { return false }
            inFlight += 1
            return true
        }
        guard admitted else { return nil }
        defer { lock.withLock { inFlight -= 1 } }
        return try await work()
    }
}
