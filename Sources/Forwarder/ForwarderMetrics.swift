import Metrics

/// What the forwarder counts, as swift-metrics instruments (exported by the agent's
/// `/metrics` in Prometheus text). Names follow Prometheus conventions.
public struct ForwarderMetrics: Sendable {
    /// `outpost_events_delivered_total`: events the hub stored (or already had).
    let delivered: Counter
    /// `outpost_delivery_retries_total`: batch attempts that will be retried.
    let retries: Counter
    /// `outpost_dead_letters_total`: events the hub refused for good.
    let deadLetters: Counter
    /// `outpost_delivery_latency_seconds`: commit (pickup) → hub acknowledgement, per event.
    let latency: Metrics.Timer

    /// The histogram buckets that suit ``latencyName``: from 50 ms (hub keeping up) to an
    /// hour (events that waited out an outage).
    public static let latencyBuckets: [Duration] = [
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
        .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(300),
        .seconds(900), .seconds(3600),
    ]
    public static let latencyName = "outpost_delivery_latency_seconds"

    /// Instruments made by `factory` (tests pass their own registry's factory).
    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        delivered = Counter(label: "outpost_events_delivered_total", dimensions: [], factory: factory)
        retries = Counter(label: "outpost_delivery_retries_total", dimensions: [], factory: factory)
        deadLetters = Counter(label: "outpost_dead_letters_total", dimensions: [], factory: factory)
        latency = Metrics.Timer(label: Self.latencyName, dimensions: [], factory: factory)
    }
}
