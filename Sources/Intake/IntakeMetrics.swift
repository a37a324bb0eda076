import Metrics
import Synchronization

/// What intake counts, as swift-metrics instruments (exported by the agent's `/metrics`).
/// Every instrument has a `source` dimension; rejections also have `reason`.
public struct IntakeMetrics: Sendable {
    let factory: any MetricsFactory
    /// Each source's instruments for committed inputs, made at its first input: a queue source
    /// commits one input per message, and making an instrument asks the registry (a lock, the
    /// name checked and looked up) each time.
    private let received = ReceivedCounters()

    /// Instruments made by `factory` (tests pass their own registry's factory).
    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
    }

    /// A committed input: `outpost_documents_received_total`, `outpost_events_received_total`
    /// (new events only) and `outpost_bytes_received_total` (input size).
    func committed(source: String, events: Int, bytes: Int64) {
        let counters = received.counters(for: source, factory: factory)
        counters.documents.increment()
        counters.events.increment(by: events)
        counters.bytes.increment(by: Int(clamping: bytes))
    }

    /// Events kept as dead letters because their id was taken by another document:
    /// `outpost_id_conflicts_total{source}`.
    func idConflicts(source: String, count: Int) {
        Counter(label: "outpost_id_conflicts_total", dimensions: [("source", source)], factory: factory)
            .increment(by: count)
    }

    /// A quarantined input: `outpost_rejections_total{source,reason}`.
    func rejected(source: String, reason: String) {
        Counter(label: "outpost_rejections_total", dimensions: [("source", source), ("reason", reason)], factory: factory)
            .increment()
    }
}

/// The instruments of committed inputs, by source.
private final class ReceivedCounters: Sendable {
    struct Instruments: Sendable {
        let documents: Counter
        let events: Counter
        let bytes: Counter
    }

    private let bySource = Mutex<[String: Instruments]>([:])

    func counters(for source: String, factory: any MetricsFactory) -> Instruments {
        bySource.withLock { bySource in
            if let made = bySource[source] { return made }
            let dimensions = [("source", source)]
            let made = Instruments(
                documents: Counter(label: "outpost_documents_received_total", dimensions: dimensions, factory: factory),
                events: Counter(label: "outpost_events_received_total", dimensions: dimensions, factory: factory),
                bytes: Counter(label: "outpost_bytes_received_total", dimensions: dimensions, factory: factory))
            bySource[source] = made
            return made
        }
    }
}
