import Foundation
import HubServer

/// A storage whose writes wait until the test opens the gate, to hold a batch in process.
actor GatedStorage: HubStorage {
    private let base = InMemoryHubStorage()
    private var isOpen = false
    private var gateWaiters: [CheckedContinuation<Void, Never>] = []
    private var arrivalWaiters: [CheckedContinuation<Void, Never>] = []
    private var storesWaiting = 0

    func store(_ batch: IngestBatch) async throws -> StoreOutcome {
        if !isOpen {
            storesWaiting += 1
            arrivalWaiters.forEach { $0.resume() }
            arrivalWaiters.removeAll()
            await withCheckedContinuation { gateWaiters.append($0) }
        }
        return try await base.store(batch)
    }

    /// Returns once a `store` call is blocked on the gate.
    func waitUntilAStoreIsWaiting() async {
        if storesWaiting > 0 { return }
        await withCheckedContinuation { arrivalWaiters.append($0) }
    }

    func open() {
        isOpen = true
        gateWaiters.forEach { $0.resume() }
        gateWaiters.removeAll()
    }

    func events(matching query: EventQuery) async -> EventPage { await base.events(matching: query) }
    func event(id: String) async -> Data? { await base.event(id: id) }
    func conflicts(after: EventCursor?, limit: Int) async -> ConflictPage { await base.conflicts(after: after, limit: limit) }
    func statistics(recentRejections: Int) async -> HubStatistics { await base.statistics(recentRejections: recentRejections) }
    func recentActivity(since: Double) async throws -> RecentActivity { await base.recentActivity(since: since) }
    func checkWritable() async throws { try await base.checkWritable() }
}
