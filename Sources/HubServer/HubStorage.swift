import Foundation

/// Where the hub keeps the events it accepted. One implementation per backend
/// (`SQLiteHubStorage`, and `InMemoryHubStorage` for tests); all share the same semantics:
/// an event id is stored at most once, events are read back in arrival order, and each
/// event's JSON is returned byte for byte as it was received.
public protocol HubStorage: Sendable {
    /// Stores the batch's events whose ids are new and counts the others as duplicates,
    /// atomically; also records that the batch's agent was seen.
    /// - Throws: `HubStorageError` when the storage cannot take the write now.
    func store(_ batch: IngestBatch) async throws -> StoreOutcome

    /// Stored events matching `query`, oldest first, after `query.after`.
    func events(matching query: EventQuery) async throws -> EventPage

    /// The stored JSON of the event with this id, or `nil`.
    func event(id: String) async throws -> Data?

    /// Counters and the most recent `recentRejections` rejected documents.
    func statistics(recentRejections: Int) async throws -> HubStatistics

    /// The latest heartbeat per agent, and the per-type hourly counts and pickup-to-storage
    /// latencies of events stored at or after `since` (seconds since 1970).
    func recentActivity(since: Double) async throws -> RecentActivity

    /// Performs a cheap write to prove that the storage can store now.
    func checkWritable() async throws
}
