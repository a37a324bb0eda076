import AMQPClient
import AMQPSource
import Foundation
import Logging
import Testing
import TestSupport

/// Restarts the broker under a running source: its own node, since the restart disturbs
/// every connection.
@Suite(.serialized, .enabled(if: IntegrationGate.runs(TestBroker.unavailableReason == nil), "rabbitmq-server is not installed"))
struct BrokerRestartTests {
    @Test func brokerRestartMidStreamLosesNothingAndDuplicatesNothing() async throws {
        let broker = try await TestBroker.start()
        let harness = try AgentHarness()
        defer { harness.remove() }
        do {
            let admin = try await broker.connect()
            try await admin.declareQueue("erp.outbound")
            try await BrokerTests.publish((1...300).map { IDocMessage.xml(docnum: $0) }, to: "erp.outbound", on: admin)
            await admin.close()

            harness.pausable.setSubmitDelay(0.02)  // 300 messages take ≥ 6 s: the restart lands mid-stream
            let (source, task) = BrokerTests.startSource(broker: broker, queue: "erp.outbound", intake: harness.pausable)
            defer { task.cancel() }
            #expect(try await AgentHarness.eventually { source.status.acknowledged >= 20 })
            await broker.stopNode()
            let committedWhileDown = try await harness.pendingEvents().count
            #expect(committedWhileDown < 300, "the restart should happen mid-stream")
            try await broker.boot()
            #expect(try await AgentHarness.eventually(timeout: 120) {
                try await harness.pendingEvents().count == 300
            })
            #expect(source.status.reconnects >= 1)
            let events = try await harness.pendingEvents()
            let ids = events.compactMap { $0["id"] as? String }
            #expect(ids.count == 300 && Set(ids) == Set((1...300).map { IDocMessage.id(docnum: $0) }))
            #expect(try await AgentHarness.eventually {
                let check = try await broker.connect()
                let state = try await check.queueState("erp.outbound")
                await check.close()
                return state.messages == 0
            })
            task.cancel()
            _ = try? await task.value
        } catch {
            await broker.stop()
            throw error
        }
        await broker.stop()
    }
}
