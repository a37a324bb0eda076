import Foundation
import Logging
import ServiceLifecycle
import SystemdNotify

/// Talks to systemd for a `Type=notify` unit:
/// - `READY=1` once the outbox is open and recovered and a first commit (the start
///   heartbeat) went through;
/// - `STATUS=` every `statusInterval` with outbox depth, oldest pending age and pause state;
/// - `WATCHDOG=1` every half `WatchdogSec`, but only while ``AgentHealth/stalls(now:)`` is
///   empty, so a wedged pipeline gets restarted by systemd instead of being kept alive;
/// - `STOPPING=1` when graceful shutdown starts.
///
/// List it last in the service group: it is then the first to hear of the shutdown.
public struct SystemdService: Service, CustomStringConvertible {
    public let description = "systemd notify"
    let notifier: SystemdNotifier
    let health: AgentHealth
    let reader: AgentVitalsReader
    let logger: Logger
    let statusInterval: Double

    public init(
        notifier: SystemdNotifier, health: AgentHealth, reader: AgentVitalsReader, logger: Logger,
        statusInterval: Double = 10
    ) {
        self.notifier = notifier
        self.health = health
        self.reader = reader
        self.logger = logger
        self.statusInterval = statusInterval
    }

    public func run() async throws {
        try await untilGracefulShutdown {
            try await waitForFirstCommit()
            notifier.ready(status: await statusLine())
            logger.info("agent.ready", metadata: [
                "outpost.watchdog": "\(notifier.watchdogInterval.map { "\($0) s" } ?? "off")",
            ])
            try await loop()
        }
        notifier.stopping(status: "stopping: sources stop, the forwarder drains in-flight batches")
    }

    private func waitForFirstCommit() async throws {
        while !health.hasCommitted {
            // Keep systemd's start timeout honest: while the first commit fails, say why.
            let stalls = health.stalls(now: Date().timeIntervalSince1970)
            if !stalls.isEmpty { notifier.status("starting: " + stalls.joined(separator: "; ")) }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    private func loop() async throws {
        let tick = min(statusInterval, notifier.watchdogInterval.map { $0 / 2 } ?? statusInterval)
        var statusDue = Date().timeIntervalSince1970 + statusInterval
        var withheld = false
        while !Task.isCancelled {
            try await Task.sleep(for: .milliseconds(Int(tick * 1000)))
            let now = Date().timeIntervalSince1970
            if notifier.watchdogInterval != nil {
                let stalls = health.stalls(now: now)
                if stalls.isEmpty {
                    notifier.watchdog()
                    if withheld { logger.notice("watchdog.resumed") }
                    withheld = false
                } else {
                    if !withheld { logger.error("watchdog.withheld", metadata: ["error": "\(stalls.joined(separator: "; "))"]) }
                    withheld = true
                    notifier.status("WEDGED: " + stalls.joined(separator: "; "))
                    continue
                }
            }
            if now >= statusDue {
                notifier.status(await statusLine())
                statusDue = now + statusInterval
            }
        }
    }

    private func statusLine() async -> String {
        do {
            return try await reader.read().statusLine
        } catch {
            return "outbox unreadable: \(error)"
        }
    }
}
