import Forwarder
import Intake
import Foundation
import Logging
import OutpostConfig
import ServiceLifecycle
import Synchronization
import SystemdNotify
import UnixSignals

/// `SIGHUP` (`systemctl reload outpost`): reads the configuration file again and applies it.
/// Sources added, removed or changed are started, stopped or restarted; changed hub
/// connection settings replace the sink; everything else runs on untouched. A file with
/// problems is refused, every problem logged, and the running configuration kept. Settings
/// that only a restart applies (agent identity and data directory, outbox, admin listener,
/// logging, the forwarder's batch and retry tuning) are logged as such.
final class ReloadService: Service, Sendable, CustomStringConvertible {
    let path: String
    let sources: SourceSupervisor
    let sink: SwappableSink
    let current: Mutex<AgentConfiguration>
    let notifier: SystemdNotifier
    let logger: Logger
    var description: String { "configuration reload (SIGHUP)" }

    init(path: String, configuration: AgentConfiguration, sources: SourceSupervisor, sink: SwappableSink, logger: Logger) {
        self.path = path
        self.sources = sources
        self.sink = sink
        current = Mutex(configuration)
        notifier = SystemdNotifier(environment: ProcessInfo.processInfo.environment)
        self.logger = logger
    }

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        try await cancelWhenGracefulShutdown {
            for await _ in signals { await self.reload() }
        }
    }

    /// One reload; never throws: whatever goes wrong is logged and the agent runs on.
    func reload() async {
        notifier.reloading(status: "reloading \(path)")
        defer { notifier.ready(status: "running (configuration reloaded from \(path))") }
        logger.notice("agent.reload.started", metadata: ["outpost.config": "\(path)"])
        let next: AgentConfiguration
        do {
            next = try ConfigLoader.loadAgent(path: path)
            let problems = ConfigLoader.checkEnvironment(next)
            if !problems.isEmpty { throw ConfigError(file: path, problems: problems) }
        } catch let error as ConfigError {
            for problem in error.problems {
                logger.error("agent.reload.problem", metadata: [
                    "outpost.key": "\(problem.keyPath)", "outpost.problem": "\(problem.message)", "outpost.fix": "\(problem.fix)",
                ])
            }
            logger.error("agent.reload.refused", metadata: [
                "outpost.config": "\(path)", "outpost.problems": "\(error.problems.count)",
                "outpost.detail": "the running configuration is kept",
            ])
            return
        } catch {
            logger.error("agent.reload.refused", metadata: ["outpost.config": "\(path)", "error": "\(error)"])
            return
        }
        let previous = current.withLock { $0 }
        do {
            var replacedSink = false
            if Self.connection(previous.hub) != Self.connection(next.hub) {
                await sink.replace(with: try AgentAssembly.makeSink(next.hub))
                replacedSink = true
            }
            let changes = try await sources.apply(next.sources)
            current.withLock { $0 = next }
            let restart = Self.restartNeeded(previous, next)
            if !restart.isEmpty {
                logger.warning("agent.reload.restart_needed", metadata: [
                    "outpost.keys": "\(restart.joined(separator: ","))",
                    "outpost.detail": "these settings keep their running values until `systemctl restart outpost`",
                ])
            }
            logger.notice("agent.reloaded", metadata: [
                "outpost.sources_started": "\(changes.started.joined(separator: ","))",
                "outpost.sources_stopped": "\(changes.stopped.joined(separator: ","))",
                "outpost.sources_restarted": "\(changes.restarted.joined(separator: ","))",
                "outpost.hub": "\(replacedSink ? "replaced: \(sink.description)" : "unchanged")",
            ])
        } catch {
            logger.error("agent.reload.failed", metadata: [
                "outpost.config": "\(path)", "error": "\(error)",
                "outpost.detail": "sources and hub as before the reload, except what the log lines above say changed",
            ])
        }
    }

    /// The hub settings that make the sink: everything but the forwarder's tuning.
    static func connection(_ hub: HubSinkConfiguration) -> HubSinkConfiguration {
        var hub = hub
        let defaults = HubSinkConfiguration(url: "")
        hub.batchMaxEvents = defaults.batchMaxEvents
        hub.batchMaxBytes = defaults.batchMaxBytes
        hub.maxConcurrency = defaults.maxConcurrency
        hub.retryInitial = defaults.retryInitial
        hub.retryMax = defaults.retryMax
        return hub
    }

    /// Keys whose new values only a restart applies.
    static func restartNeeded(_ old: AgentConfiguration, _ new: AgentConfiguration) -> [String] {
        var keys: [String] = []
        if old.agent != new.agent { keys.append("agent") }
        if old.outbox != new.outbox { keys.append("outbox") }
        if old.admin != new.admin { keys.append("admin") }
        if old.logging != new.logging { keys.append("logging") }
        if (old.hub.batchMaxEvents, old.hub.batchMaxBytes, old.hub.maxConcurrency) != (new.hub.batchMaxEvents, new.hub.batchMaxBytes, new.hub.maxConcurrency)
            || (old.hub.retryInitial, old.hub.retryMax) != (new.hub.retryInitial, new.hub.retryMax)
        {
            keys.append("hub (batch_max_events, batch_max_bytes, max_concurrency, retry)")
        }
        return keys
    }
}
