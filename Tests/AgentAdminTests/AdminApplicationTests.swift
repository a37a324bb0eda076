import AgentAdmin
import BuildInfo
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@Suite("Admin listener")
struct AdminApplicationTests {
    @Test("/healthz answers, /readyz follows health, /metrics is Prometheus text with the agent's metrics")
    func endpoints() async throws {
        let agent = try AgentFixture()
        let health = AgentHealth(forwarder: agent.forwarder, gate: nil)
        let exporter = AgentMetricsExporter(
            registry: agent.registry, reader: agent.reader(), agentID: "plant-emea-01", region: "emea")
        try await agent.submit("hello")
        let app = buildAdminApplication(host: "127.0.0.1", port: 0, exporter: exporter, health: health, logger: agent.logger)
        try await app.test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
                let body = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
                #expect(body?["status"] as? String == "ok")
                #expect(body?["version"] as? String == OutpostVersion.current)
            }
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                let body = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
                #expect(body?["status"] as? String == "not_ready")
            }
            health.recordCommit(at: Date().timeIntervalSince1970, failure: nil)
            await agent.withForwarder {
                _ = await AgentFixture.eventually { agent.forwarder.snapshot.lastLoopAt != nil }
                try? await client.execute(uri: "/readyz", method: .get) { response in
                    #expect(response.status == .ok)
                    let body = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any]
                    #expect(body?["status"] as? String == "ready")
                    #expect(body?["hub"] as? String == "ok")
                }
            }
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
                let text = String(buffer: response.body)
                #expect(text.contains(#"outpost_documents_received_total{source="sap-outbound"} 1"#))
                #expect(text.contains("# TYPE outpost_outbox_events gauge"))
                #expect(text.contains("outpost_intake_paused 0"))
                #expect(text.contains(#"outpost_agent_info{version="\#(OutpostVersion.current)",agent="plant-emea-01",region="emea"} 1"#))
                #expect(text.contains(#"outpost_source_last_pickup_timestamp_seconds{source="sap-outbound"}"#))
                #expect(text.contains("outpost_outbox_oldest_pending_age_seconds"))
            }
        }
    }
}
