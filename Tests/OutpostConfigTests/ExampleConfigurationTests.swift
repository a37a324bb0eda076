import Foundation
import Testing

@testable import OutpostConfig

@Suite("The example configurations in deploy/examples")
struct ExampleConfigurationTests {
    @Test("outpost.yaml loads and uses every source type")
    func agentExampleLoads() throws {
        let path = try Fixtures.packageRoot().appendingPathComponent("deploy/examples/outpost.yaml").path
        let config = try ConfigLoader.loadAgent(path: path)
        #expect(config.sources.map(\.name) == ["sap-outbound", "partner-sftp", "erp-queue"])
        #expect(config.hub.requestTimeout == 30)
        #expect(config.outbox.lowWatermark == 768 << 20)
    }

    @Test("outpost-hub.yaml loads")
    func hubExampleLoads() throws {
        let path = try Fixtures.packageRoot().appendingPathComponent("deploy/examples/outpost-hub.yaml").path
        let config = try ConfigLoader.loadHub(path: path)
        #expect(config.storage == .sqlite(path: "/var/lib/outpost-hub/hub.sqlite"))
        #expect(config.agents.map(\.id) == ["plant-emea-01", "plant-apac-01"])
    }
}
