import BuildInfo
import Foundation
import Prometheus

/// `/metrics`: the Prometheus text of everything the agent counts (the swift-metrics
/// instruments of intake, forwarder and sink, bootstrapped onto `registry`) plus gauges read
/// fresh from the outbox and the forwarder at each scrape.
public final class AgentMetricsExporter: Sendable {
    let registry: PrometheusCollectorRegistry
    let reader: AgentVitalsReader
    private let gauges: Gauges

    struct Gauges: Sendable {
        let outboxEvents: Gauge
        let outboxBytes: Gauge
        let oldestPendingAge: Gauge
        let deadLetters: Gauge
        let databaseBytes: Gauge
        let intakePaused: Gauge
        let deliveryPaused: Gauge
        let hubReachable: Gauge
        let inFlight: Gauge
        let concurrencyLimit: Gauge
        let lastDelivery: Gauge
    }

    /// - Parameters:
    ///   - registry: the registry the process's `MetricsSystem` was bootstrapped with.
    ///   - agentID, region: labels of `outpost_agent_info`.
    public init(registry: PrometheusCollectorRegistry, reader: AgentVitalsReader, agentID: String, region: String) {
        self.registry = registry
        self.reader = reader
        registry.gauge(
            "outpost_agent_info",
            labels: [("version", OutpostVersion.current), ("agent", agentID), ("region", region)],
            help: "Always 1; labels tell the build and identity of the agent."
        ).set(to: 1)
        gauges = Gauges(
            outboxEvents: registry.gauge("outpost_outbox_events", help: "Events waiting for delivery."),
            outboxBytes: registry.gauge("outpost_outbox_bytes", help: "Bytes of events waiting for delivery."),
            oldestPendingAge: registry.gauge("outpost_outbox_oldest_pending_age_seconds",
                help: "Age of the oldest event waiting for delivery (0 when none)."),
            deadLetters: registry.gauge("outpost_outbox_dead_letters", help: "Events in the dead-letter queue (outpost dlq list)."),
            databaseBytes: registry.gauge("outpost_outbox_database_bytes", help: "Size of the outbox database files."),
            intakePaused: registry.gauge("outpost_intake_paused", help: "1 while intake is paused (watermark or disk floor)."),
            deliveryPaused: registry.gauge("outpost_delivery_paused", help: "1 while delivery is paused (the hub refused the credentials)."),
            hubReachable: registry.gauge("outpost_hub_reachable", help: "0 while delivery attempts fail (network, 5xx, 429)."),
            inFlight: registry.gauge("outpost_delivery_batches_in_flight", help: "Batches being delivered now (current concurrency)."),
            concurrencyLimit: registry.gauge("outpost_delivery_concurrency_limit", help: "Current adaptive limit of batches in flight."),
            lastDelivery: registry.gauge("outpost_last_delivery_timestamp_seconds", help: "When the hub last acknowledged a batch."))
    }

    /// Refreshes the gauges and returns the registry's Prometheus text.
    public func render() async -> [UInt8] {
        if let vitals = try? await reader.read() {
            update(vitals)
        }
        return registry.emitToBuffer()
    }

    func update(_ vitals: AgentVitals) {
        gauges.outboxEvents.set(to: Double(vitals.outbox.pendingEvents))
        gauges.outboxBytes.set(to: Double(vitals.outbox.pendingBytes))
        gauges.oldestPendingAge.set(to: vitals.oldestPendingAge ?? 0)
        gauges.deadLetters.set(to: Double(vitals.outbox.deadLetters))
        gauges.databaseBytes.set(to: Double(vitals.outbox.databaseBytes))
        gauges.intakePaused.set(to: vitals.intakePaused == nil ? 0 : 1)
        gauges.deliveryPaused.set(to: vitals.deliveryPaused == nil ? 0 : 1)
        gauges.hubReachable.set(to: vitals.hubFailure == nil ? 1 : 0)
        gauges.inFlight.set(to: Double(vitals.inFlightBatches))
        gauges.concurrencyLimit.set(to: Double(vitals.concurrencyLimit))
        gauges.lastDelivery.set(to: vitals.outbox.lastDeliveryAt ?? 0)
        for source in vitals.lastPickups {
            // The registry hands back the gauge it made for this source before, if any.
            registry.gauge("outpost_source_last_pickup_timestamp_seconds", labels: [("source", source.name)],
                help: "When the source last handed over an input (0 before the first).").set(to: source.time ?? 0)
        }
    }
}

extension PrometheusCollectorRegistry {
    fileprivate func gauge(_ name: String, labels: [(String, String)] = [], help: String) -> Gauge {
        makeGauge(descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help), labels: labels)
    }
}
