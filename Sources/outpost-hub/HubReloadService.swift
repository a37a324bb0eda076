import Foundation
import HubServer
import Logging
import OutpostConfig
import ServiceLifecycle
import SystemdNotify
import UnixSignals

/// `SIGHUP` (`systemctl reload outpost-hub`): reads the hub's file again and applies its agents
/// list and mapping (profiles, tolerance, flat layouts). A file with problems is refused,
/// every problem logged, and the running configuration kept; settings only a restart applies
/// (listen address, storage, TLS, limits, read access, turning mapping on or off) are logged
/// as such.
final class HubReloadService: Service, Sendable, CustomStringConvertible {
    let path: String
    let agents: HubAgentDirectory
    let mapping: MappingWorker?
    let running: HubConfiguration
    let notifier: SystemdNotifier
    let logger: Logger
    var description: String { "configuration reload (SIGHUP)" }

    init(path: String, configuration: HubConfiguration, agents: HubAgentDirectory, mapping: MappingWorker?, logger: Logger) {
        self.path = path
        self.agents = agents
        self.mapping = mapping
        running = configuration
        notifier = SystemdNotifier(environment: ProcessInfo.processInfo.environment)
        self.logger = logger
    }

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        try await cancelWhenGracefulShutdown {
            for await _ in signals { self.reload() }
        }
    }

    func reload() {
        notifier.reloading(status: "reloading \(path)")
        defer { notifier.ready(status: "serving (configuration reloaded from \(path))") }
        let next: HubConfiguration
        do {
            next = try ConfigLoader.loadHub(path: path)
        } catch {
            for problem in error.problems {
                logger.error("hub.reload.problem", metadata: [
                    "hub.key": "\(problem.keyPath)", "hub.problem": "\(problem.message)", "hub.fix": "\(problem.fix)",
                ])
            }
            logger.error("hub.reload.refused", metadata: [
                "hub.config": "\(path)", "hub.problems": "\(error.problems.count)", "hub.detail": "the running configuration is kept",
            ])
            return
        }
        agents.replace(with: next.agents)
        mapping?.update(next.mapping)
        let restart = Self.restartNeeded(running, next)
        if !restart.isEmpty {
            logger.warning("hub.reload.restart_needed", metadata: [
                "hub.keys": "\(restart.joined(separator: ","))",
                "hub.detail": "these settings keep their running values until `systemctl restart outpost-hub`",
            ])
        }
        logger.notice("hub.reloaded", metadata: [
            "hub.agents": "\(next.agents.count)", "hub.mapping_profiles": "\(next.mapping.overrides.count)",
        ])
    }

    /// Keys whose new values only a restart applies.
    static func restartNeeded(_ old: HubConfiguration, _ new: HubConfiguration) -> [String] {
        var keys: [String] = []
        if (old.listenHost, old.listenPort) != (new.listenHost, new.listenPort) { keys.append("listen") }
        if old.storage != new.storage { keys.append("storage") }
        if old.tls != new.tls { keys.append("tls") }
        if old.readTokenSHA256 != new.readTokenSHA256 || old.readAccess != new.readAccess { keys.append("read_token_sha256/read_access") }
        if old.maxBatchBytes != new.maxBatchBytes || old.maxConcurrentBatches != new.maxConcurrentBatches || old.perAgent != new.perAgent {
            keys.append("max_batch_bytes/max_concurrent_batches/per_agent")
        }
        if old.headerTimeout != new.headerTimeout || old.minBodyRate != new.minBodyRate || old.idleTimeout != new.idleTimeout
            || old.maxHeaderBytes != new.maxHeaderBytes || old.maxConnections != new.maxConnections
        {
            keys.append("connection limits")
        }
        if old.mapping.enabled != new.mapping.enabled { keys.append("mapping.enabled") }
        return keys
    }
}
