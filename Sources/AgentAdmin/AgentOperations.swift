import Intake
import Forwarder
import Foundation
import Logging
import Metrics
import Outbox
import Prometheus
import ServiceLifecycle
import SystemdNotify

/// The services that make the agent operable: the admin listener (`/metrics`, `/healthz`,
/// `/readyz`), heartbeats, and the systemd notifications. The composition root appends
/// ``services`` after the pipeline's services (so these stop first).
public struct AgentOperations: Sendable {
    public let health: AgentHealth
    public let reader: AgentVitalsReader
    /// Admin listener (when `admin.listen` is set), heartbeat, systemd (under systemd only).
    public let services: [any Service]

    /// Bootstraps swift-metrics onto a Prometheus registry with Outpost's histogram buckets.
    /// Call once, before the pipeline's parts are built (they make their instruments in `init`).
    public static func bootstrapMetrics() -> PrometheusCollectorRegistry {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets[ForwarderMetrics.latencyName] = ForwarderMetrics.latencyBuckets
        MetricsSystem.bootstrap(factory)
        return registry
    }

    /// - Parameters:
    ///   - adminListen: `host:port` of `admin.listen`, or nil for no listener.
    ///   - environment: where `NOTIFY_SOCKET` and `WATCHDOG_USEC` are read.
    /// - Throws: ``AdminAddressError`` when `adminListen` is not `host:port`.
    public init(
        agentID: String, region: String, sourceNames: @escaping @Sendable () -> [String], adminListen: String?,
        registry: PrometheusCollectorRegistry,
        outbox: Outbox, forwarder: Forwarder, gate: IntakeGate?, intake: OutboxIntake?,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws {
        let reader = AgentVitalsReader(
            outbox: outbox, forwarder: forwarder, gate: gate, intake: intake, sourceNames: sourceNames)
        let health = AgentHealth(forwarder: forwarder, gate: gate)
        var services: [any Service] = []
        if let adminListen {
            let (host, port) = try AdminAddressError.split(adminListen)
            let exporter = AgentMetricsExporter(registry: registry, reader: reader, agentID: agentID, region: region)
            services.append(AdminService(
                application: buildAdminApplication(
                    host: host, port: port, exporter: exporter, health: health, logger: Logger(label: "outpost.admin")),
                description: "admin listener \(adminListen)"))
        }
        services.append(HeartbeatService(
            agentID: agentID, region: region, outbox: outbox, forwarder: forwarder, reader: reader, health: health,
            logger: Logger(label: "outpost.heartbeat")))
        let notifier = SystemdNotifier(environment: environment)
        if notifier.isEnabled {
            services.append(SystemdService(
                notifier: notifier, health: health, reader: reader, logger: Logger(label: "outpost.systemd")))
        }
        self.health = health
        self.reader = reader
        self.services = services
    }
}

/// Runs the admin HTTP application under a short description (for the service group's logs).
struct AdminService<App: Service>: Service, CustomStringConvertible {
    let application: App
    let description: String

    func run() async throws { try await application.run() }
}

/// `admin.listen` is not `host:port`.
public struct AdminAddressError: Error, CustomStringConvertible {
    public let description: String

    static func split(_ text: String) throws -> (String, Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port)
        else {
            throw AdminAddressError(description: "admin.listen \(text) is not host:port (e.g. 127.0.0.1:9464)")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host, port)
    }
}

/// The registry `/metrics` renders (so the composition root need not import Prometheus).
public typealias AgentMetricsRegistry = PrometheusCollectorRegistry
