import AgentAdmin
import BuildInfo
import EventModel
import Foundation
import Outbox
import Testing

@Suite("Heartbeats")
struct HeartbeatTests {
    @Test("a heartbeat is a CloudEvent with a deterministic id, its own partition key and the agent's vitals")
    func encoding() async throws {
        let agent = try AgentFixture()
        var vitals = try await agent.reader().read()
        vitals.time = RFC3339.parse("2026-11-26T10:15:42.250Z")!
        vitals.outbox.pendingEvents = 7
        vitals.outbox.pendingBytes = 7000
        vitals.outbox.oldestPendingAt = vitals.time - 90
        vitals.outbox.deadLetters = 2
        vitals.intakePaused = "outbox above high_watermark"
        vitals.lastPickups = [("sap-outbound", vitals.time - 5), ("partner-sftp", nil)]

        let event = HeartbeatEvent.encode(
            agentID: "plant-emea-01", region: "emea", vitals: vitals, reason: .periodic, startedAt: vitals.time - 3600)
        #expect(event.id == "heartbeat:plant-emea-01:2026-11-26T10:15Z")
        #expect(event.partitionKey == "heartbeat:plant-emea-01")
        #expect(event.type == "outpost.agent.heartbeat")
        let object = try #require(JSONSerialization.jsonObject(with: Data(event.json)) as? [String: Any])
        #expect(object["specversion"] as? String == "1.0")
        #expect(object["source"] as? String == "outpost://plant-emea-01/agent")
        #expect(object["time"] as? String == "2026-11-26T10:15:42Z")
        #expect(object["agentid"] as? String == "plant-emea-01")
        #expect(object["region"] as? String == "emea")
        let data = try #require(object["data"] as? [String: Any])
        #expect(data["version"] as? String == OutpostVersion.current)
        #expect(data["outbox_depth"] as? Int == 7)
        #expect(data["oldest_pending_age_seconds"] as? Int == 90)
        #expect(data["dead_letters"] as? Int == 2)
        #expect(data["intake_paused"] as? Bool == true)
        #expect(data["intake_paused_reason"] as? String == "outbox above high_watermark")
        let sources = try #require(data["sources"] as? [[String: Any]])
        #expect(sources.count == 2)
        #expect(sources[0]["last_pickup"] as? String == "2026-11-26T10:15:37Z")
        #expect(sources[1]["last_pickup"] is NSNull)

        let change = HeartbeatEvent.encode(
            agentID: "plant-emea-01", region: "emea", vitals: vitals, reason: .stateChange, startedAt: vitals.time)
        #expect(change.id == "heartbeat:plant-emea-01:2026-11-26T10:15:42.250Z")
        let start = HeartbeatEvent.encode(
            agentID: "plant-emea-01", region: "emea", vitals: vitals, reason: .started, startedAt: vitals.time)
        #expect(start.id == "heartbeat:plant-emea-01:2026-11-26T10:15:42.250Z")
    }

    @Test("the service commits a heartbeat to the outbox and records the commit as healthy")
    func commitsToOutbox() async throws {
        let agent = try AgentFixture()
        let health = AgentHealth(forwarder: agent.forwarder, gate: nil)
        let service = HeartbeatService(
            agentID: "plant-emea-01", region: "emea", outbox: agent.outbox, forwarder: agent.forwarder,
            reader: agent.reader(), health: health, logger: agent.logger)
        #expect(!health.hasCommitted)
        await service.beat(reason: .started, startedAt: Date().timeIntervalSince1970)
        #expect(health.hasCommitted)
        let pending = try await agent.outbox.pendingWindow(limit: 10)
        #expect(pending.count == 1)
        #expect(pending.first?.partitionKey == "heartbeat:plant-emea-01")
        let events = try await agent.outbox.outboundEvents(pending.map(\.sequence))
        let json = String(decoding: events[0].json, as: UTF8.self)
        #expect(json.contains(#""type":"outpost.agent.heartbeat""#))
        #expect(json.contains(#""reason":"started""#))
    }
}
