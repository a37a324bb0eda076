import Intake
import AgentAdmin
import EventModel
import Foundation
import Testing

@Suite("Agent metrics")
struct MetricsTests {
    @Test("intake counts documents, events and bytes per source, and rejections by reason")
    func intakeCounters() async throws {
        let agent = try AgentFixture()
        try await agent.submit("hello", fileName: "a.txt")
        try await agent.submit("world!", fileName: "b.txt")
        #expect(agent.sample(#"outpost_documents_received_total{source="sap-outbound"}"#) == 2)
        #expect(agent.sample(#"outpost_events_received_total{source="sap-outbound"}"#) == 2)
        #expect(agent.sample(#"outpost_bytes_received_total{source="sap-outbound"}"#) == 11)
        // Each source its own instruments.
        try await agent.submit("queue message", fileName: "m1", source: "erp-queue")
        #expect(agent.sample(#"outpost_documents_received_total{source="erp-queue"}"#) == 1)
        #expect(agent.sample(#"outpost_bytes_received_total{source="erp-queue"}"#) == 13)
        #expect(agent.sample(#"outpost_documents_received_total{source="sap-outbound"}"#) == 2)

        try await agent.intake.reject(
            sourceName: "sap-outbound", fileName: "big.xml", size: 1 << 30, fingerprint: "big.xml:1",
            rejection: DocumentRejection(.fileTooLarge, "above max_file_size"), quarantinedAs: nil)
        #expect(agent.sample(#"outpost_rejections_total{source="sap-outbound",reason="file_too_large"}"#) == 1)
        #expect(agent.intake.lastPickups["sap-outbound"] != nil)
    }

    @Test("the forwarder counts delivered events and their pickup-to-ack latency")
    func deliveryCounters() async throws {
        let agent = try AgentFixture()
        try await agent.submit("one", fileName: "1.txt")
        try await agent.submit("two", fileName: "2.txt")
        let delivered = await agent.withForwarder {
            await AgentFixture.eventually { agent.sample("outpost_events_delivered_total") == 2 }
        }
        #expect(delivered)
        #expect(agent.sample("outpost_delivery_latency_seconds_count") == 2)
        #expect(agent.sample(#"outpost_delivery_latency_seconds_bucket{le="3600.0"}"#) == 2)
    }

    @Test("retries and dead letters are counted, and the hub failure shows in the snapshot")
    func retriesAndDeadLetters() async throws {
        let agent = try AgentFixture(outcome: .retry(after: nil, reason: "hub answered 503"))
        try await agent.submit("one", fileName: "1.txt")
        let (retried, dead) = await agent.withForwarder {
            let retried = await AgentFixture.eventually { (agent.sample("outpost_delivery_retries_total") ?? 0) >= 1 }
            #expect(agent.forwarder.snapshot.hubFailure == "hub answered 503")
            agent.sink.answer(.reject(reason: "hub answered 422"))
            let dead = await AgentFixture.eventually { agent.sample("outpost_dead_letters_total") == 1 }
            return (retried, dead)
        }
        #expect(retried)
        #expect(dead)
        #expect(agent.forwarder.snapshot.hubFailure == nil)
    }
}
