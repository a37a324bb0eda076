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

    /// An input queue holding `total` IDocs (sender `<prefix><docnum % 8>`), an exchange and
    /// a quorum output queue bound to it, and an agent configuration that consumes the one
    /// and publishes to the other.
    struct KillScene {
        let dir: String
        let admin: AMQPConnection
        let input: String
        let output: String
        let config: String
        let binary: String
        let total: Int
        let senderPrefix: String
        /// Set when a check failed: the scratch directory stays for a look.
        let kept = Flag()

        init(total: Int, senderPrefix: String, hubExtra: String = "") async throws {
            let broker = try await SharedBroker.shared.get()
            dir = try AgentProcessTests.scratch()
            input = BrokerTests.unique("erp.outbound")
            let exchange = BrokerTests.unique("outpost.events")
            output = BrokerTests.unique("hub.events")
            admin = try await broker.connect()
            try await admin.declareQueue(input)
            try await admin.declareExchange(exchange)
            try await admin.declareQueue(output, arguments: ["x-queue-type": .string("quorum")])
            try await admin.bindQueue(output, exchange: exchange, routingKey: "#")
            self.total = total
            self.senderPrefix = senderPrefix
            for chunk in stride(from: 1, through: total, by: 500) {
                try await BrokerTests.publish(
                    (chunk..<min(chunk + 500, total + 1)).map { IDocMessage.xml(docnum: $0, sender: "\(senderPrefix)\($0 % 8)") },
                    to: input, on: admin)
            }
            config = try AgentProcessTests.writeAgentConfig(
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
                    \(hubExtra)
                    """)
            binary = try AgentProcess.binary("outpost")
        }

        func start() throws -> Subprocess {
            try AgentProcess.start(binary, ["run", "--config", config], log: dir + "/agent.log")
        }

        var log: String { AgentProcess.tail(dir + "/agent.log") }

        /// The agent's crash, if it crashed (it may still run, taking its backtrace) or exited
        /// by itself.
        func crash(of agent: Subprocess) -> String? {
            CrashReport.of("the agent", exitStatus: agent.status, logAt: dir + "/agent.log")
                ?? agent.status.map { "the agent exited by itself (status \($0))" }
        }

        /// Drained means: with the agent stopped (so no message is held unacked by its
        /// consumer, which the queue's ready count would not show), the input queue is empty
        /// and nothing is pending in the outbox. A pass that stops with messages still on the
        /// input queue (prefetched, not yet committed, handed back at the stop) runs again.
        func drain() async throws -> Bool {
            for pass in 0..<3 {
                let agent = try start()
                _ = try await AgentHarness.eventually(timeout: 120) {
                    let inputLeft = try await admin.queueState(input).messages
                    let status = try? await AgentProcessTests.pendingEvents(config: config)
                    return inputLeft == 0 && status == 0 || crash(of: agent) != nil
                }
                if let crash = crash(of: agent) {
                    // A crash is a failure in itself, whatever the counts say after it.
                    Issue.record("drain pass \(pass + 1): \(crash); agent log:\n\(log)")
                    kept.set()
                    return false
                }
                await AgentProcess.stop(agent)
                let inputLeft = try await admin.queueState(input).messages
                let pending = try? await AgentProcessTests.pendingEvents(config: config)
                if inputLeft == 0 && pending == 0 { return true }
                print("drain pass \(pass + 1) ended with \(inputLeft) messages on the input and \(pending.map(String.init) ?? "?") events pending; agent log:\n\(log)")
            }
            return false
        }

        /// The consumer's side: how often each event id (message_id) was published, the
        /// agent's heartbeats left out; checks that every IDoc is there and nothing else.
        func publishedOnce() async throws -> [String: Int] {
            var seen: [String: Int] = [:]
            while let message = try await admin.get(queue: output) {
                try await admin.acknowledge(message.deliveryTag)
                let id = message.properties.messageID ?? "?"
                if id.hasPrefix("heartbeat:") { continue }
                seen[id, default: 0] += 1
            }
            let expected = Set((1...total).map { IDocMessage.id(docnum: $0, sender: "\(senderPrefix)\($0 % 8)") })
            let missing = expected.subtracting(seen.keys)
            let unexpected = Set(seen.keys).subtracting(expected)
            #expect(missing.isEmpty, "\(missing.count) lost, e.g. \(missing.sorted().prefix(3))")
            if !missing.isEmpty {
                // What the outbox says of them (dead letters with their reasons), and where the
                // whole scene is kept for a look (the scratch directory is not removed then).
                kept.set()
                let dead = try? await Subprocess.run(binary, ["dlq", "list", "--config", config])
                print("outpost dlq list after the loss:\n\(dead?.stdout ?? "(could not run)")\nagent log:\n\(log)")
                print("the scene (outbox, agent log) is kept in \(dir); missing: \(missing.sorted())")
            }
            #expect(unexpected.isEmpty, "\(unexpected.count) not from the input, e.g. \(unexpected.sorted().prefix(3))")
            return seen
        }

        func close() async {
            await admin.close()
            if !kept.isSet { try? FileManager.default.removeItem(atPath: dir) }
        }
    }

    @Test func killDuringPublishingLeavesEveryEventInTheQuorumQueue() async throws {
        let scene = try await KillScene(total: 3000, senderPrefix: "KILLCLNT", hubExtra: "  batch_max_events: 100")
        let agent = try scene.start()
        let publishing = try await AgentHarness.eventually(timeout: 60) {
            try await scene.admin.queueState(scene.output).messages >= 200
        }
        #expect(publishing, "agent log:\n\(scene.log)")
        agent.killAndReap()
        let atKill = try await scene.admin.queueState(scene.output).messages
        #expect(atKill < scene.total, "the kill should land mid-stream")
        #expect(try await scene.drain(), "agent log:\n\(scene.log)")
        let seen = try await scene.publishedOnce()
        let duplicates = seen.values.reduce(0) { $0 + $1 - 1 }
        print("kill -9 during publishing: \(seen.count) distinct events, \(duplicates) redelivered duplicates (\(atKill) were in the queue at the kill)")
        await scene.close()
    }

    /// kill -9 three times while the source consumes (committed messages are acknowledged
    /// together, `basic.ack` with `multiple`): every message still reaches the output once
    /// after de-duplication, none is lost, the input ends empty.
    @Test func killWhileConsumingLosesNoAcknowledgedMessage() async throws {
        let scene = try await KillScene(total: 6000, senderPrefix: "ACKCLNT")
        var killedAt: [Int] = []
        for threshold in [4500, 3000, 1500] {
            let agent = try scene.start()
            let deadline = Date().addingTimeInterval(60)
            var ready = try await scene.admin.queueState(scene.input).messages
            while ready > threshold, Date() < deadline {
                try await Task.sleep(for: .milliseconds(5))
                ready = try await scene.admin.queueState(scene.input).messages
            }
            agent.killAndReap()
            #expect(ready <= threshold, "agent log:\n\(scene.log)")
            killedAt.append(ready)
        }
        #expect(killedAt.allSatisfy { $0 > 0 }, "each kill should land while the input still holds messages: \(killedAt)")
        #expect(try await scene.drain(), "agent log:\n\(scene.log)")
        let seen = try await scene.publishedOnce()
        print("kill -9 while consuming at \(killedAt) ready messages: \(seen.count) distinct events, \(seen.values.reduce(0) { $0 + $1 - 1 }) duplicates")
        await scene.close()
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
