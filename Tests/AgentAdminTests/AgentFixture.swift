import RawDocument
import Intake
import AgentAdmin
import EventModel
import Forwarder
import Foundation
import Logging
import Outbox
import Prometheus
import Synchronization

/// A sink that answers every batch with a fixed outcome and remembers what it got.
final class ScriptedSink: EventSink {
    let description = "scripted-sink"
    let batchBodySize = BatchBodySize(framing: 2, perEvent: 36)
    private let state: Mutex<(outcome: DeliveryOutcome, batches: [[OutboundEvent]])>

    init(_ outcome: DeliveryOutcome) { state = Mutex((outcome, [])) }

    func answer(_ outcome: DeliveryOutcome) { state.withLock { $0.outcome = outcome } }
    var batches: [[OutboundEvent]] { state.withLock { $0.batches } }

    func deliver(_ batch: [OutboundEvent]) async -> DeliveryOutcome {
        state.withLock {
            $0.batches.append(batch)
            return $0.outcome
        }
    }

    func shutdown() async {}
}

/// An outbox in a temporary directory, a forwarder on a scripted sink and an intake, all
/// counting into their own Prometheus registry.
struct AgentFixture {
    let directory: String
    let outbox: Outbox
    let sink: ScriptedSink
    let registry = PrometheusCollectorRegistry()
    let forwarder: Forwarder
    let intake: OutboxIntake
    let logger: Logger

    init(outcome: DeliveryOutcome = .delivered(rejected: [:])) throws {
        directory = NSTemporaryDirectory() + "outpost-admin-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        outbox = try Outbox(path: directory + "/outbox.sqlite")
        sink = ScriptedSink(outcome)
        var logger = Logger(label: "admin-test")
        logger.logLevel = .critical
        self.logger = logger
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets[ForwarderMetrics.latencyName] = ForwarderMetrics.latencyBuckets
        var settings = ForwarderSettings()
        settings.retryInitial = 0.05
        settings.retryMax = 0.1
        settings.idlePoll = 0.02
        forwarder = Forwarder(
            outbox: outbox, sink: sink, settings: settings, logger: logger, metrics: ForwarderMetrics(factory: factory))
        intake = OutboxIntake(
            outbox: outbox, codecs: [.raw: RawCodec()], agentID: "plant-emea-01", region: "emea", gate: nil,
            logger: logger, metrics: IntakeMetrics(factory: factory))
    }

    func reader() -> AgentVitalsReader {
        AgentVitalsReader(outbox: outbox, forwarder: forwarder, gate: nil, intake: intake, sourceNames: ["sap-outbound"])
    }

    /// Submits `text` as a raw document from source `sap-outbound`.
    @discardableResult
    func submit(_ text: String, fileName: String = "doc.txt", source: String = "sap-outbound") async throws -> IntakeResult {
        let bytes = Array(text.utf8)
        return try await intake.submit(IncomingDocument(
            sourceName: source, fileName: fileName, input: .bytes(bytes), size: Int64(bytes.count), format: .raw))
    }

    /// Runs the forwarder while `body` runs.
    func withForwarder<T>(_ body: () async throws -> T) async rethrows -> T {
        let task = Task { await forwarder.run() }
        defer { task.cancel() }
        return try await body()
    }

    /// Polls `condition` every 20 ms for up to `seconds`.
    static func eventually(_ seconds: Double = 5, _ condition: () async throws -> Bool) async rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try await condition() { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return try await condition()
    }

    /// The value of one sample line (`name{labels} value`) of the registry's text, if present.
    func sample(_ prefix: String) -> Double? {
        registry.emitToString().split(separator: "\n")
            .first { $0.hasPrefix(prefix + " ") }
            .flatMap { $0.split(separator: " ").last.flatMap { Double($0) } }
    }
}
