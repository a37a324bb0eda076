import Metrics

/// What intake counts, as swift-metrics instruments (exported by the agent's `/metrics`).
/// Every instrument has a `source` dimension; rejections also have `reason`.
public struct IntakeMetrics: Sendable {
    let factory: any MetricsFactory

    /// Instruments made by `factory` (tests pass their own registry's factory).
    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
    }

    /// A committed input: `outpost_documents_received_total`, `outpost_events_received_total`
    /// (new events only) and `outpost_bytes_received_total` (input size).
    func committed(source: String, events: Int, bytes: Int64) {
        let dimensions = [("source", source)]
        Counter(label: "outpost_documents_received_total", dimensions: dimensions, factory: factory).increment()
        Counter(label: "outpost_events_received_total", dimensions: dimensions, factory: factory).increment(by: events)
        Counter(label: "outpost_bytes_received_total", dimensions: dimensions, factory: factory)
            .increment(by: Int(clamping: bytes))
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
