import Synchronization

/// In-memory running totals of undelivered events, kept exact for this process's own
/// writes and re-synchronised from the database now and then.
final class OutboxCounters: Sendable {
    struct Snapshot: Sendable {
        var undeliveredEvents: Int64 = 0
        var undeliveredBytes: Int64 = 0
    }
    private let state = Mutex(Snapshot())

    func snapshot() -> Snapshot { state.withLock { $0 } }
    func reset(events: Int64, bytes: Int64) {
        state.withLock { $0 = Snapshot(undeliveredEvents: events, undeliveredBytes: bytes) }
    }
    func add(events: Int64, bytes: Int64) {
        state.withLock {
            $0.undeliveredEvents += events
            $0.undeliveredBytes += bytes
        }
    }
}
