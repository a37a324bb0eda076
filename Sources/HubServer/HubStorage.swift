import Foundation

/// Where the hub keeps the events it accepted. One implementation per backend
/// (`SQLiteHubStorage`, `PostgresHubStorage`, and `InMemoryHubStorage` for tests); all share the
/// same semantics, checked by one set of tests run against each:
/// - an event id is stored at most once, whichever agent sends it; a second event with that id
///   and the same document (`IncomingEvent.dataDigest`) is a duplicate, one with another
///   document is an ``IDConflict``, recorded apart and never stored as the event;
/// - `store` returns only once the batch is durable (a power cut after it loses nothing);
/// - events are read back in an arrival order that paging never skips: an event becomes
///   visible only after every event ordered before it;
/// - each event's JSON is returned byte for byte as it was received.
public protocol HubStorage: Sendable {
    /// Stores the batch's events whose ids are new, counts the re-sent ones as duplicates and
    /// records the conflicting ones, atomically and durably; also records that the batch's
    /// agent was seen.
    /// - Throws: `HubStorageError` when the storage cannot take the write now.
    func store(_ batch: IngestBatch) async throws -> StoreOutcome

    /// Stored events matching `query`, oldest first, after `query.after`.
    func events(matching query: EventQuery) async throws -> EventPage

    /// The stored JSON of the event with this id, or `nil`.
    func event(id: String) async throws -> Data?

    /// Recorded id conflicts, oldest first, after `after`.
    func conflicts(after: EventCursor?, limit: Int) async throws -> ConflictPage

    /// Counters and the most recent `recentRejections` rejected documents.
    func statistics(recentRejections: Int) async throws -> HubStatistics

    /// The latest heartbeat per agent, and the per-type hourly counts and pickup-to-storage
    /// latencies of events stored at or after `since` (seconds since 1970).
    func recentActivity(since: Double) async throws -> RecentActivity

    /// Performs a cheap write to prove that the storage can store now.
    func checkWritable() async throws
}
