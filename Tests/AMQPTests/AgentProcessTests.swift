import AMQPClient
import Foundation
import TestSupport
import Testing

/// The real `outpost` (and `outpost-hub`) binaries against the shared RabbitMQ node.
@Suite(.serialized, .enabled(if: IntegrationGate.runs(TestBroker.unavailableReason == nil), "rabbitmq-server is not installed"))
struct AgentProcessTests {
    /// A scratch directory with an agent configuration for `source` and `hub` YAML blocks.
    static func writeAgentConfig(dir: String, source: String, hub: String) throws -> String {
        let config = """
            agent:
              id: plant-emea-01
              region: emea
              data_dir: \(dir)/data
            sources:
            \(source)
            hub:
            \(hub)
              retry_initial: 100ms
              retry_max: 1s
            admin:
              listen: null
            """
        let path = dir + "/outpost.yaml"
        try config.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func scratch() throws -> String {
        let dir = NSTemporaryDirectory() + "outpost-amqp-e2e-" + UUID().uuidString.prefix(8).lowercased()
        try FileManager.default.createDirectory(atPath: dir + "/data", withIntermediateDirectories: true)
        return dir
    }

    @Test func queueToHubEndToEnd() async throws {
        let broker = try await SharedBroker.shared.get()
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let queue = BrokerTests.unique("erp.outbound")
        let admin = try await broker.connect()
        try await admin.declareQueue(queue)
        var bodies = (1...60).map { IDocMessage.xml(docnum: $0, sender: "E2ECLNT") }
        bodies.append(IDocMessage.xml(docnum: 5, sender: "E2ECLNT"))  // the ERP sends one twice
        try await BrokerTests.publish(bodies, to: queue, on: admin)

        let hubPort = try FreePort.pick()
        try "test\n".write(toFile: dir + "/hub.token", atomically: true, encoding: .utf8)
        chmod(dir + "/hub.token", 0o600)
        try """
            listen: 127.0.0.1:\(hubPort)
            storage:
              sqlite: \(dir)/hub.sqlite
            read_access: open
            agents:
              - id: plant-emea-01
                region: emea
                token_sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
            """.write(toFile: dir + "/hub.yaml", atomically: true, encoding: .utf8)
        let hub = try AgentProcess.start(
            try AgentProcess.binary("outpost-hub"), ["serve", "--config", dir + "/hub.yaml"], log: dir + "/hub.log")
        let config = try Self.writeAgentConfig(
            dir: dir,
            source: """
                  - name: erp-queue
                    type: amqp
                    url: \(broker.url)
                    queue: \(queue)
                    prefetch: 10
                    format: idoc-xml
                """,
            hub: """
                  url: http://127.0.0.1:\(hubPort)/v1/events
                  token_file: \(dir)/hub.token
                """)
        let agent = try AgentProcess.start(try AgentProcess.binary("outpost"), ["run", "--config", config], log: dir + "/agent.log")
        defer {
            agent.send(SIGTERM)
            hub.send(SIGTERM)
        }
        let arrived = try await AgentHarness.eventually(timeout: 60) {
            let page = try? LoopbackGET.json(port: hubPort, path: "/v1/events?source=outpost://plant-emea-01/erp-queue&limit=1000")
            return (page?["events"] as? [Any])?.count == 60
        }
        #expect(arrived, "agent log:\n\(AgentProcess.tail(dir + "/agent.log"))\nhub log:\n\(AgentProcess.tail(dir + "/hub.log"))")
        let page = try LoopbackGET.json(port: hubPort, path: "/v1/events?limit=1000")
        // The agent's heartbeats reach the hub too; the queue's documents are the rest.
        let events = try #require(page["events"] as? [[String: Any]]).filter { $0["type"] as? String != "outpost.agent.heartbeat" }
        #expect(Set(events.compactMap { $0["id"] as? String }) == Set((1...60).map { IDocMessage.id(docnum: $0, sender: "E2ECLNT") }))
        #expect(events.allSatisfy { $0["amqphplant"] as? String == "DE01" })
        #expect(try await AgentHarness.eventually { try await admin.queueState(queue).messages == 0 })
        await AgentProcess.stop(agent)
        await AgentProcess.stop(hub)
        await admin.close()
    }

    @Test func killDuringPublishingLeavesEveryEventInTheQuorumQueue() async throws {
        let broker = try await SharedBroker.shared.get()
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let input = BrokerTests.unique("erp.outbound")
        let exchange = BrokerTests.unique("outpost.events")
        let output = BrokerTests.unique("hub.events")
        let admin = try await broker.connect()
        try await admin.declareQueue(input)
        try await admin.declareExchange(exchange)
        try await admin.declareQueue(output, arguments: ["x-queue-type": .string("quorum")])
        try await admin.bindQueue(output, exchange: exchange, routingKey: "#")
        let total = 3000
        for chunk in stride(from: 1, through: total, by: 500) {
            try await BrokerTests.publish(
                (chunk..<min(chunk + 500, total + 1)).map { IDocMessage.xml(docnum: $0, sender: "KILLCLNT\($0 % 8)") },
                to: input, on: admin)
        }
        let config = try Self.writeAgentConfig(
            dir: dir,
            source: """
                  - name: erp-queue
                    type: amqp
                    url: \(broker.url)
                    queue: \(input)
                    prefetch: 200
                """,
            hub: """
                  type: amqp
                  url: \(broker.url)
                  exchange: \(exchange)
                  routing_key: "{type}.{region}.{sndprn}"
                  batch_max_events: 100
                """)
        let binary = try AgentProcess.binary("outpost")
        var agent = try AgentProcess.start(binary, ["run", "--config", config], log: dir + "/agent.log")
        let publishing = try await AgentHarness.eventually(timeout: 60) {
            try await admin.queueState(output).messages >= 200
        }
        #expect(publishing, "agent log:\n\(AgentProcess.tail(dir + "/agent.log"))")
        agent.killAndReap()
        let atKill = try await admin.queueState(output).messages
        #expect(atKill < total, "the kill should land mid-stream")

        // Drained means: with the agent stopped (so no message is held unacked by its
        // consumer, which the queue's ready count would not show), the input queue is empty
        // and nothing is pending in the outbox. A pass that stops with messages still on the
        // input queue (prefetched, not yet committed, handed back at the stop) runs again.
        var drained = false
        for _ in 0..<3 where !drained {
            agent = try AgentProcess.start(binary, ["run", "--config", config], log: dir + "/agent.log")
            _ = try await AgentHarness.eventually(timeout: 120) {
                let inputLeft = try await admin.queueState(input).messages
                let status = try? await Self.pendingEvents(config: config)
                return inputLeft == 0 && status == 0
            }
            await AgentProcess.stop(agent)
            let inputLeft = try await admin.queueState(input).messages
            let pending = try? await Self.pendingEvents(config: config)
            drained = inputLeft == 0 && pending == 0
        }
        #expect(drained, "agent log:\n\(AgentProcess.tail(dir + "/agent.log"))")

        // The consumer's side: de-duplicate on message_id (= event id).
        var seen: [String: Int] = [:]
        while let message = try await admin.get(queue: output) {
            try await admin.acknowledge(message.deliveryTag)
            let id = message.properties.messageID ?? "?"
            if id.hasPrefix("heartbeat:") { continue }  // the agent's own heartbeats are published too
            seen[id, default: 0] += 1
        }
        let expected = Set((1...total).map { IDocMessage.id(docnum: $0, sender: "KILLCLNT\($0 % 8)") })
        #expect(Set(seen.keys) == expected, "every event exactly once after de-duplication by message_id")
        let duplicates = seen.values.reduce(0) { $0 + $1 - 1 }
        print("kill -9 during publishing: \(seen.count) distinct events, \(duplicates) redelivered duplicates (\(atKill) were in the queue at the kill)")
        await admin.close()
    }

    /// kill -9 three times while the source consumes (committed messages are acknowledged
    /// together, `basic.ack` with `multiple`): every message still reaches the output once
    /// after de-duplication, none is lost, the input ends empty.
    @Test func killWhileConsumingLosesNoAcknowledgedMessage() async throws {
        let broker = try await SharedBroker.shared.get()
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let input = BrokerTests.unique("erp.outbound")
        let exchange = BrokerTests.unique("outpost.events")
        let output = BrokerTests.unique("hub.events")
        let admin = try await broker.connect()
        try await admin.declareQueue(input)
        try await admin.declareExchange(exchange)
        try await admin.declareQueue(output, arguments: ["x-queue-type": .string("quorum")])
        try await admin.bindQueue(output, exchange: exchange, routingKey: "#")
        let total = 6000
        for chunk in stride(from: 1, through: total, by: 500) {
            try await BrokerTests.publish(
                (chunk..<min(chunk + 500, total + 1)).map { IDocMessage.xml(docnum: $0, sender: "ACKCLNT\($0 % 8)") },
                to: input, on: admin)
        }
        let config = try Self.writeAgentConfig(
            dir: dir,
            source: """
                  - name: erp-queue
                    type: amqp
                    url: \(broker.url)
                    queue: \(input)
                    prefetch: 200
                """,
            hub: """
                  type: amqp
                  url: \(broker.url)
                  exchange: \(exchange)
                  routing_key: "{type}.{region}.{sndprn}"
                """)
        let binary = try AgentProcess.binary("outpost")
        var killedAt: [Int] = []
        for threshold in [4500, 3000, 1500] {
            let agent = try AgentProcess.start(binary, ["run", "--config", config], log: dir + "/agent.log")
            let deadline = Date().addingTimeInterval(60)
            var ready = try await admin.queueState(input).messages
            while ready > threshold, Date() < deadline {
                try await Task.sleep(for: .milliseconds(5))
                ready = try await admin.queueState(input).messages
            }
            let consuming = ready <= threshold
            agent.killAndReap()
            #expect(consuming, "agent log:\n\(AgentProcess.tail(dir + "/agent.log"))")
            killedAt.append(ready)
        }
        #expect(killedAt.allSatisfy { $0 > 0 }, "each kill should land while the input still holds messages: \(killedAt)")

        var drained = false
        for _ in 0..<3 where !drained {
            let agent = try AgentProcess.start(binary, ["run", "--config", config], log: dir + "/agent.log")
            _ = try await AgentHarness.eventually(timeout: 120) {
                let inputLeft = try await admin.queueState(input).messages
                let status = try? await Self.pendingEvents(config: config)
                return inputLeft == 0 && status == 0
            }
            await AgentProcess.stop(agent)
            let inputLeft = try await admin.queueState(input).messages
            let pending = try? await Self.pendingEvents(config: config)
            drained = inputLeft == 0 && pending == 0
        }
        #expect(drained, "agent log:\n\(AgentProcess.tail(dir + "/agent.log"))")

        var seen: [String: Int] = [:]
        while let message = try await admin.get(queue: output) {
            try await admin.acknowledge(message.deliveryTag)
            let id = message.properties.messageID ?? "?"
            if id.hasPrefix("heartbeat:") { continue }
            seen[id, default: 0] += 1
        }
        let expected = Set((1...total).map { IDocMessage.id(docnum: $0, sender: "ACKCLNT\($0 % 8)") })
        let missing = expected.subtracting(seen.keys)
        let unexpected = Set(seen.keys).subtracting(expected)
        #expect(missing.isEmpty, "\(missing.count) lost, e.g. \(missing.sorted().prefix(3))")
        #expect(unexpected.isEmpty, "\(unexpected.count) not published, e.g. \(unexpected.sorted().prefix(3))")
        print("kill -9 while consuming at \(killedAt) ready messages: \(seen.count) distinct events, \(seen.values.reduce(0) { $0 + $1 - 1 }) duplicates")
        await admin.close()
    }

    /// `outpost status --json`: the outbox's pending event count.
    static func pendingEvents(config: String) async throws -> Int {
        let result = try await Subprocess.run(try AgentProcess.binary("outpost"), ["status", "--config", config, "--json"])
        let data = Data(result.stdout.utf8)
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw BrokerError("outpost status --json printed no JSON object")
        }
        guard let pending = object["pending_events"] as? Int else {
            throw BrokerError("outpost status --json has no pending_events: \(object)")
        }
        return pending
    }
}
