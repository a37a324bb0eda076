import Intake
import EventModel
import Forwarder
import Foundation
import Logging
import Outbox
import ServiceLifecycle

/// Commits an `outpost.agent.heartbeat` event at start, every `interval` and whenever the
/// pause state changes (intake paused or resumed, delivery paused, hub lost or back).
///
/// Each heartbeat is also the agent's proof that it can commit: its outcome feeds
/// ``AgentHealth`` (readiness, systemd's READY=1 and watchdog).
public struct HeartbeatService: Service, CustomStringConvertible {
    public let description = "heartbeat"
    let agentID: String
    let region: String
    let outbox: Outbox
    let forwarder: Forwarder
    let reader: AgentVitalsReader
    let health: AgentHealth
    let logger: Logger
    let interval: Double
    let checkEvery: Double

    /// - Parameters:
    ///   - interval: seconds between periodic heartbeats (60 in production).
    ///   - checkEvery: how often the pause state is looked at for changes, seconds.
    public init(
        agentID: String, region: String, outbox: Outbox, forwarder: Forwarder, reader: AgentVitalsReader,
        health: AgentHealth, logger: Logger, interval: Double = 60, checkEvery: Double = 2
    ) {
        self.agentID = agentID
        self.region = region
        self.outbox = outbox
        self.forwarder = forwarder
        self.reader = reader
        self.health = health
        self.logger = logger
        self.interval = interval
        self.checkEvery = checkEvery
    }

    public func run() async throws {
        try await untilGracefulShutdown {
            let startedAt = Date().timeIntervalSince1970
            var state = PauseState(forwarder.snapshot, reader.gate?.pausedReason)
            var reason = HeartbeatEvent.Reason.started
            var due = 0.0
            while !Task.isCancelled {
                let now = Date().timeIntervalSince1970
                let current = PauseState(forwarder.snapshot, reader.gate?.pausedReason)
                if current != state {
                    state = current
                    reason = .stateChange
                }
                if reason != .periodic || now >= due {
                    await beat(reason: reason, startedAt: startedAt)
                    reason = .periodic
                    due = now + interval
                }
                try await Task.sleep(for: .milliseconds(Int(checkEvery * 1000)))
            }
        }
    }

    /// Commits one heartbeat and records the outcome in ``AgentHealth``.
    public func beat(reason: HeartbeatEvent.Reason, startedAt: Double) async {
        let now = Date().timeIntervalSince1970
        do {
            let vitals = try await reader.read()
            let event = HeartbeatEvent.encode(
                agentID: agentID, region: region, vitals: vitals, reason: reason, startedAt: startedAt)
            try await outbox.commit { tx in try tx.append(event, source: "agent", fileName: "") }
            health.recordCommit(at: now, failure: nil)
            forwarder.notify()
            let level: Logger.Level = reason == .periodic ? .debug : .info
            logger.log(level: level, "agent.heartbeat", metadata: [
                "event_id": "\(event.id)", "outpost.reason": "\(reason.rawValue)",
                "outpost.outbox_events": "\(vitals.outbox.pendingEvents)",
                "outpost.dead_letters": "\(vitals.outbox.deadLetters)",
                "outpost.intake_paused": "\(vitals.intakePaused != nil)",
            ])
        } catch {
            health.recordCommit(at: now, failure: "\(error)")
            logger.error("agent.heartbeat_failed", metadata: ["error": "\(error)"])
        }
    }

    /// The parts of the state whose change triggers a heartbeat at once.
    struct PauseState: Equatable {
        var intakePaused: Bool
        var deliveryPaused: Bool
        var hubReachable: Bool

        init(_ snapshot: ForwarderSnapshot, _ intakePaused: String?) {
            self.intakePaused = intakePaused != nil
            deliveryPaused = snapshot.paused != nil
            hubReachable = snapshot.hubFailure == nil
        }
    }
}
