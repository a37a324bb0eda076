import Intake
import AgentAdmin
import ArgumentParser
import BuildInfo
import EventModel
import Forwarder
import Foundation
import Logging
import Outbox
import OutpostConfig
import ServiceLifecycle

/// The agent built from a configuration: the outbox, the hub sink, the forwarder, the intake,
/// the sources and the operations services, as one `ServiceGroup` (`run`). `outpost run` runs
/// it; a configuration reload (`ReloadService`) applies a new file to the same parts.
final class AgentApplication: Sendable {
    let configuration: AgentConfiguration
    let outbox: Outbox
    let sink: SwappableSink
    let forwarder: Forwarder
    let gate: IntakeGate
    let intake: OutboxIntake
    let sources: SourceSupervisor
    /// In stop order last to first: sources stop first, the forwarder last so it can drain.
    let services: [any Service]

    /// Opens the outbox, builds every part and starts the configured sources' runners (they
    /// run once `run()` runs the group).
    init(configuration config: AgentConfiguration, path: String, metrics: AgentMetricsRegistry) async throws {
        configuration = config
        do {
            outbox = try Outbox(path: AgentAssembly.outboxPath(config), binder: AgentAssembly.outboxBinder(config.outbox))
        } catch {
            throw CommandFailure.runtime("\(error)")
        }
        do {
            sink = SwappableSink(try AgentAssembly.makeSink(config.hub))
        } catch {
            throw CommandFailure.user("\(path): \(error)")
        }
        gate = IntakeGate(
            outbox: outbox, high: config.outbox.highWatermark, low: config.outbox.lowWatermark,
            minFreeDisk: config.outbox.minFreeDisk, dataDir: config.agent.dataDir,
            logger: Logger(label: "outpost.intake"))
        let quiet = QuietSpell()
        let maintenance = MaintenanceService(
            outbox: outbox, retainDelivered: config.outbox.retainDelivered, gate: gate,
            logger: Logger(label: "outpost.outbox"), quiet: quiet)
        let idleRelease = IdleMemoryRelease(
            outbox: outbox, quiet: quiet, beforeRelease: { await maintenance.runPutOff() },
            alsoGiveBack: { [sink] in sink.releaseMemory() })
        let forwarder = Forwarder(
            outbox: outbox, sink: sink, settings: AgentAssembly.forwarderSettings(config.hub),
            logger: Logger(label: "outpost.forwarder"), onNotify: idleRelease.noteActivity)
        self.forwarder = forwarder
        idleRelease.settleWhen { [outbox] in forwarder.foundEmpty || outbox.undeliveredBytes > 0 }
        let intake = OutboxIntake(
            outbox: outbox, codecs: AgentAssembly.codecs, agentID: config.agent.id, region: config.agent.region,
            gate: gate, logger: Logger(label: "outpost.intake"), onCommit: { forwarder.notify() })
        self.intake = intake
        let dataDir = config.agent.dataDir
        let sources = SourceSupervisor(
            runner: { source in try AgentAssembly.sourceRunner(source, intake: intake, dataDir: dataDir) },
            logger: Logger(label: "outpost.source"))
        self.sources = sources
        do {
            _ = try await sources.apply(config.sources)
        } catch let error as ExitCode {
            throw error
        } catch {
            throw CommandFailure.user("\(path): \(error)")
        }
        var services: [any Service] = [
            ForwarderService(forwarder: forwarder, sinkDescription: sink.description),
            maintenance,
            sources,
            ReloadService(path: path, configuration: config, sources: sources, sink: sink, logger: Logger(label: "outpost.reload")),
            idleRelease,
        ]
        do {
            services += try AgentAssembly.operationsServices(
                config, registry: metrics, outbox: outbox, forwarder: forwarder, gate: gate, intake: intake,
                sourceNames: { sources.names })
        } catch let error as ExitCode {
            throw error
        } catch {
            throw CommandFailure.user("\(error)")
        }
        self.services = services
    }

    /// Runs every service until SIGTERM or SIGINT (or a service fails), then shuts the sink
    /// down and closes the outbox. Returns the failure that stopped the agent, if any.
    func run(logger: Logger) async -> (any Error)? {
        let group = ServiceGroup(
            services: services, gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [], logger: logger)
        logger.info("agent.started", metadata: [
            "outpost.agent": "\(configuration.agent.id)", "outpost.region": "\(configuration.agent.region)",
            "outpost.version": "\(OutpostVersion.current)",
            "outpost.sources": "\(configuration.sources.count)", "outpost.hub": "\(sink.description)",
        ])
        var failure: (any Error)?
        do {
            try await group.run()
        } catch {
            logger.critical("agent.failed", metadata: ["error": "\(error)"])
            failure = error
        }
        await sink.shutdown()
        await Self.close(outbox, logger: logger)
        return failure
    }

    /// Closes the outbox once every service has stopped. A failure loses nothing (the log is
    /// still there, and SQLite replays it at the next start), so it is only logged.
    static func close(_ outbox: Outbox, logger: Logger) async {
        do {
            try await outbox.close()
        } catch {
            logger.warning("outbox.close_failed", metadata: [
                "error": "\(error)", "outpost.outbox": "\(outbox.path)",
            ])
        }
    }
}
