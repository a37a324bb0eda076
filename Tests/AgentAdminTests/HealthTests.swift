import AgentAdmin
import Foundation
import Logging
import SystemdNotify
import Testing

@Suite("Health, readiness and the systemd watchdog")
struct HealthTests {
    @Test("not ready before the first commit; ready once committed with the forwarder running; degraded while the hub fails")
    func readiness() async throws {
        let agent = try AgentFixture(outcome: .retry(after: nil, reason: "hub unreachable: connection refused"))
        let health = AgentHealth(forwarder: agent.forwarder, gate: nil)
        let now = Date().timeIntervalSince1970
        #expect(health.readiness(now: now).status == .notReady)
        #expect(health.readiness(now: now).outbox.hasPrefix("starting"))

        health.recordCommit(at: now, failure: nil)
        await agent.withForwarder {
            let looped = await AgentFixture.eventually { agent.forwarder.snapshot.lastLoopAt != nil }
            #expect(looped)
            #expect(health.readiness(now: Date().timeIntervalSince1970).status == .ready)
            try? await agent.submit("doc")
            let degraded = await AgentFixture.eventually {
                health.readiness(now: Date().timeIntervalSince1970).status == .degraded
            }
            #expect(degraded)
            #expect(health.readiness(now: Date().timeIntervalSince1970).hub.hasPrefix("unreachable"))
        }
        health.recordCommit(at: now, failure: "disk I/O error")
        let broken = health.readiness(now: Date().timeIntervalSince1970)
        #expect(broken.status == .notReady)
        #expect(broken.outbox == "cannot commit: disk I/O error")
    }

    @Test("WATCHDOG=1 only while the forwarder loop runs; READY=1 after the first commit; STOPPING=1 at the end")
    func watchdogFollowsThePipeline() async throws {
        let agent = try AgentFixture()
        let socket = try NotifySocket(abstract: false)
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": socket.address, "WATCHDOG_USEC": "100000"])
        let health = AgentHealth(forwarder: agent.forwarder, gate: nil, forwarderStaleAfter: 0.3)
        let service = SystemdService(
            notifier: notifier, health: health, reader: agent.reader(), logger: agent.logger, statusInterval: 0.2)
        let running = Task { try await service.run() }
        defer { running.cancel() }

        // What the service sent so far (each read takes what arrived since the last one).
        var seen: [String] = []

        // No commit yet: no READY=1.
        try await Task.sleep(for: .milliseconds(200))
        seen += socket.received()
        #expect(!seen.contains { $0.hasPrefix("READY=1") })

        // Committed, but the forwarder loop never ran (wedged): READY=1, yet no pings.
        health.recordCommit(at: Date().timeIntervalSince1970, failure: nil)
        let wedged = await AgentFixture.eventually {
            seen += socket.received()
            return seen.contains { $0.hasPrefix("READY=1\nSTATUS=outbox 0 pending") }
                && seen.contains { $0.hasPrefix("STATUS=WEDGED: forwarder loop has not run yet") }
        }
        #expect(wedged, "\(seen)")
        #expect(!seen.contains("WATCHDOG=1"))

        // The forwarder runs: pings flow, and STATUS lines carry the outbox depth.
        seen = []
        let healthy = await agent.withForwarder { () -> Bool in
            await AgentFixture.eventually {
                seen += socket.received()
                return seen.filter { $0 == "WATCHDOG=1" }.count >= 2 && seen.contains { $0.hasPrefix("STATUS=outbox 0 pending") }
            }
        }
        #expect(healthy, "\(seen)")

        // The forwarder stopped: after forwarderStaleAfter (0.3 s) the pings stop again, that
        // is, a window of 0.6 s comes with none (a loaded machine may take a while to get there).
        let stopped = await AgentFixture.eventually {
            _ = socket.received()
            try? await Task.sleep(for: .milliseconds(600))
            return !socket.received().contains("WATCHDOG=1")
        }
        #expect(stopped, "WATCHDOG=1 kept coming after the forwarder stopped")
    }
}
