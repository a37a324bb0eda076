import Intake
import EventModel
import Foundation
import Outbox
import Testing

@Suite("Outbox maintenance")
struct MaintenanceServiceTests {
    /// One event committed and delivered, which a retention of -1 s makes due for pruning.
    private func deliveredEvent(_ fixture: AgentFixture, _ name: String) async throws {
        let content = Array("maintenance \(name)".utf8)
        _ = try await fixture.intake.submit(IncomingDocument(
            sourceName: "q", fileName: name, input: .bytes(content), size: Int64(content.count), format: .raw))
        let pending = try await fixture.outbox.pendingWindow(limit: 10).map(\.sequence)
        try #require(pending.count == 1)
        try await fixture.outbox.acknowledge(delivered: pending)
        try #require(try await fixture.outbox.status().deliveredRetained == 1)
    }

    @Test("while the agent is quiet its rounds leave the outbox alone; the round put off runs before the release, once")
    func quietRoundsArePutOff() async throws {
        let fixture = try AgentFixture()
        defer { fixture.removeAll() }
        try await deliveredEvent(fixture, "first")
        let quiet = QuietSpell()
        quiet.released()
        let service = MaintenanceService(
            outbox: fixture.outbox, retainDelivered: -1, gate: nil, logger: quietLogger, interval: 0.02, quiet: quiet)
        let running = Task { try await service.run() }
        try await Task.sleep(for: .milliseconds(300))
        running.cancel()
        _ = try? await running.value
        #expect(try await fixture.outbox.status().deliveredRetained == 1, "a quiet agent's round pruned")
        await service.runPutOff()
        #expect(try await fixture.outbox.status().deliveredRetained == 0)
        #expect(!quiet.takePutOff(), "the put-off round is taken once")

        // Woken, the rounds do their work again, and none is put off.
        try await deliveredEvent(fixture, "second")
        quiet.woken()
        let awake = Task { try await service.run() }
        defer { awake.cancel() }
        #expect(try await eventually { try await fixture.outbox.status().deliveredRetained == 0 })
        #expect(!quiet.takePutOff(), "nothing put off while awake")
    }
}
