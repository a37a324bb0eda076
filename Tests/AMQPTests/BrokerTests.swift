import AMQPClient
import AMQPSink
import AMQPSource
import EventModel
import Forwarder
import Foundation
import Logging
import Testing
import TestSupport

/// Everything that talks to a real RabbitMQ, one test at a time (one shared node; the
/// restart test starts its own).
@Suite(.serialized, .enabled(if: IntegrationGate.runs(TestBroker.unavailableReason == nil), "rabbitmq-server is not installed"))
struct BrokerTests {
    static func unique(_ prefix: String) -> String { "\(prefix).\(UUID().uuidString.prefix(8).lowercased())" }

    // MARK: client

    @Test func publishesWithConfirmsAndReadsPropertiesBack() async throws {
        let broker = try await SharedBroker.shared.get()
        let connection = try await broker.connect()
        defer { Task { await connection.close() } }
        let queue = Self.unique("client")
        try await connection.declareQueue(queue)
        try await connection.enableConfirms()
        var properties = AMQPProperties()
        properties.messageID = "m-1"
        properties.correlationID = "c-1"
        properties.timestamp = 1_795_688_100
        properties.persistent = true
        properties.headers = ["s": .string("v"), "n": .int(-5), "b": .bool(true), "t": .table(["k": .double(1.5)])]
        let outcomes = try await connection.publish(
            [AMQPOutgoingMessage(exchange: "", routingKey: queue, properties: properties, body: Array("hello".utf8)),
             AMQPOutgoingMessage(exchange: "", routingKey: Self.unique("nowhere"), properties: AMQPProperties(), body: [])],
            mandatory: true)
        #expect(outcomes[0] == .confirmed)
        guard case .returned(let code, _) = outcomes[1] else {
            Issue.record("an unroutable mandatory message must come back, got \(outcomes[1])")
            return
        }
        #expect(code == 312)
        let got = try #require(try await connection.get(queue: queue))
        #expect(got.body == Array("hello".utf8))
        #expect(got.properties == properties)
        try await connection.acknowledge(got.deliveryTag)
        #expect(try await connection.get(queue: queue) == nil)
    }

    @Test func namesMissingExchangesAndRefusedLogins() async throws {
        let broker = try await SharedBroker.shared.get()
        let connection = try await broker.connect()
        let missing = await #expect(throws: AMQPError.self) { try await connection.checkExchange(Self.unique("missing")) }
        #expect(missing?.kind == .notFound)
        await connection.close()
        var wrong = broker.endpoint
        wrong.password = "wrong"
        let refused = await #expect(throws: AMQPError.self) { _ = try await AMQPConnection.open(wrong) }
        #expect(refused?.kind == .accessRefused)
        #expect(refused?.message.contains("credentials") == true)
    }

    // MARK: source

    /// Starts a source on `queue` feeding `intake`; returns the task running it.
    /// A fresh agent harness, an admin connection to the shared broker and a queue of a
    /// unique name for a source to consume (declared unless the test declares it itself).
    static func consumerScene(declaring: Bool = true) async throws -> (TestBroker, AgentHarness, AMQPConnection, String) {
        let broker = try await SharedBroker.shared.get()
        let harness = try AgentHarness()
        let admin = try await broker.connect()
        let queue = unique("erp.outbound")
        if declaring { try await admin.declareQueue(queue) }
        return (broker, harness, admin, queue)
    }

    static func startSource(
        broker: TestBroker, queue: String, intake: any DocumentIntake, prefetch: Int = 20,
        rejectExchange: String? = nil
    ) -> (AMQPSource, Task<Void, Error>) {
        var settings = AMQPSourceSettings(name: "erp-queue", endpoint: broker.endpoint, queue: queue)
        settings.prefetch = prefetch
        settings.rejectExchange = rejectExchange
        settings.reconnectInitial = 0.2
        settings.reconnectMax = 1
        let source = AMQPSource(settings: settings, intake: intake, logger: Logger(label: "test.source"))
        return (source, Task { try await source.run() })
    }

    static func publish(_ bodies: [[UInt8]], to queue: String, on connection: AMQPConnection, ids: [String?]? = nil) async throws {
        try await connection.enableConfirms()
        let messages = bodies.enumerated().map { index, body in
            var p = AMQPProperties()
            p.persistent = true
            p.messageID = ids?[index] ?? nil
            p.headers = ["plant": .string("DE01")]
            return AMQPOutgoingMessage(exchange: "", routingKey: queue, properties: p, body: body)
        }
        let outcomes = try await connection.publish(messages, mandatory: true)
        #expect(outcomes.allSatisfy { $0 == .confirmed })
    }

    @Test func consumesIntoTheOutboxAndAcksOnlyCommittedMessages() async throws {
        let (broker, harness, admin, queue) = try await Self.consumerScene()
        defer { harness.remove() }
        var bodies = (1...40).map { IDocMessage.xml(docnum: $0) }
        // The same documents again, one under another message id, one without any (named by
        // its delivery tag): no new event, and no id conflict.
        bodies += [IDocMessage.xml(docnum: 7), IDocMessage.xml(docnum: 8)]
        var ids: [String?] = bodies.indices.map { "msg-\($0)" }
        ids[ids.count - 1] = nil
        try await Self.publish(bodies, to: queue, on: admin, ids: ids)
        let (source, task) = Self.startSource(broker: broker, queue: queue, intake: harness.intake)
        defer { task.cancel() }
        #expect(try await AgentHarness.eventually { source.status.acknowledged == 42 })
        let events = try await harness.pendingEvents()
        #expect(events.count == 40)
        #expect(Set(events.compactMap { $0["id"] as? String }) == Set((1...40).map { IDocMessage.id(docnum: $0) }))
        #expect(try await harness.outbox.deadLetters().isEmpty)
        let first = try #require(events.first { $0["id"] as? String == IDocMessage.id(docnum: 1) })
        #expect(first["amqpmessageid"] as? String == "msg-0")
        #expect(first["amqphplant"] as? String == "DE01")
        #expect(first["filename"] as? String == "msg-0")
        // Messages leave no receipt: they are recognised by their events' ids.
        let sha = try #require(first["filesha256"] as? String)
        #expect(try await harness.outbox.receipt(source: "erp-queue", sha256: sha) == nil)
        task.cancel()
        _ = try? await task.value
        #expect(try await admin.queueState(queue).messages == 0)
        await admin.close()
    }

    /// Up to `prefetch` messages are decoded and committed while the oldest waits for its
    /// sync: the outbox must still hold them in delivery order, a refused one in between
    /// changing nothing, and every one acked.
    @Test func manyMessagesInFlightAreCommittedInDeliveryOrder() async throws {
        let (broker, harness, admin, queue) = try await Self.consumerScene()
        defer { harness.remove() }
        // Docnums out of numeric order, so that sorting cannot pass for the delivery order.
        let docnums = (1...400).map { ($0 * 7919) % 1009 }
        var bodies = docnums.map { IDocMessage.xml(docnum: $0) }
        bodies.insert(IDocMessage.poison, at: 137)
        try await Self.publish(bodies, to: queue, on: admin)
        let (source, task) = Self.startSource(broker: broker, queue: queue, intake: harness.intake, prefetch: 100)
        defer { task.cancel() }
        #expect(try await AgentHarness.eventually { source.status.acknowledged == 400 && source.status.deadLettered == 1 })
        let events = try await harness.pendingEvents()
        let ids = events.compactMap { $0["id"] as? String }.filter { $0.hasPrefix("idoc:") }
        #expect(ids == docnums.map { IDocMessage.id(docnum: $0) })
        // Acknowledged in bursts, a quarter of `prefetch` or what is left when the queue is
        // dry, not one by one.
        #expect(source.status.acknowledgements < 40, "\(source.status.acknowledgements) acks for 400 messages")
        task.cancel()
        _ = try? await task.value
        #expect(try await admin.queueState(queue).messages == 0)
        await admin.close()
    }

    @Test func poisonMessageIsDeadLetteredToTheRejectExchangeThenAcked() async throws {
        let (broker, harness, admin, queue) = try await Self.consumerScene(declaring: false)
        defer { harness.remove() }
        let rejects = Self.unique("erp.rejected")
        let rejectQueue = Self.unique("erp.rejected.q")
        try await admin.declareQueue(queue)
        try await admin.declareExchange(rejects, type: "fanout")
        try await admin.declareQueue(rejectQueue)
        try await admin.bindQueue(rejectQueue, exchange: rejects, routingKey: "")
        try await Self.publish(
            [IDocMessage.xml(docnum: 1), IDocMessage.poison, IDocMessage.xml(docnum: 2)], to: queue, on: admin,
            ids: ["good-1", "poison", "good-2"])
        let (source, task) = Self.startSource(broker: broker, queue: queue, intake: harness.intake, rejectExchange: rejects)
        defer { task.cancel() }
        #expect(try await AgentHarness.eventually { source.status.acknowledged == 2 && source.status.deadLettered == 1 })
        let dead = try #require(try await admin.get(queue: rejectQueue))
        #expect(dead.body == IDocMessage.poison)
        #expect(dead.properties.messageID == "poison")
        #expect(dead.properties.headers["plant"] == .string("DE01"))
        let events = try await harness.pendingEvents()
        let rejected = try #require(events.first { $0["type"] as? String == "outpost.document.rejected" })
        let reason = try #require(rejected["reason"] as? String)
        #expect(dead.properties.headers["x-outpost-reason"] == .string(reason))
        #expect(rejected["amqpmessageid"] as? String == "poison")
        #expect(events.count == 3)
        task.cancel()
        _ = try? await task.value
        #expect(try await admin.queueState(queue).messages == 0)
        await admin.close()
    }

    @Test func poisonMessageGoesToTheQueuesOwnDeadLetterExchangeWithoutRejectExchange() async throws {
        let (broker, harness, admin, queue) = try await Self.consumerScene(declaring: false)
        defer { harness.remove() }
        let dlx = Self.unique("erp.dlx")
        let dlq = Self.unique("erp.dlq")
        try await admin.declareExchange(dlx, type: "fanout")
        try await admin.declareQueue(dlq)
        try await admin.bindQueue(dlq, exchange: dlx, routingKey: "")
        try await admin.declareQueue(queue, arguments: ["x-dead-letter-exchange": .string(dlx)])
        try await Self.publish([IDocMessage.poison], to: queue, on: admin, ids: ["poison"])
        let (source, task) = Self.startSource(broker: broker, queue: queue, intake: harness.intake)
        defer { task.cancel() }
        #expect(try await AgentHarness.eventually { source.status.deadLettered == 1 })
        #expect(try await AgentHarness.eventually { try await admin.queueState(dlq).messages == 1 })
        task.cancel()
        _ = try? await task.value
        #expect(try await admin.queueState(queue).messages == 0)
        await admin.close()
    }

    @Test func pausedIntakeLeavesMessagesOnTheBroker() async throws {
        let (broker, harness, admin, queue) = try await Self.consumerScene()
        defer { harness.remove() }
        harness.pausable.setPaused(true)
        try await Self.publish((1...30).map { IDocMessage.xml(docnum: $0) }, to: queue, on: admin)
        let (source, task) = Self.startSource(broker: broker, queue: queue, intake: harness.pausable, prefetch: 5)
        defer { task.cancel() }
        #expect(try await AgentHarness.eventually { source.status.connected })
        try await Task.sleep(for: .seconds(2))
        #expect(try await harness.pendingEvents().isEmpty)
        #expect(source.status.acknowledged == 0)
        // Only the prefetch window left the queue's ready list; the rest waits on the broker.
        #expect(try await admin.queueState(queue).messages == 25)
        harness.pausable.setPaused(false)
        #expect(try await AgentHarness.eventually { source.status.acknowledged == 30 })
        #expect(try await harness.pendingEvents().count == 30)
        #expect(try await admin.queueState(queue).messages == 0)
        task.cancel()
        _ = try? await task.value
        await admin.close()
    }

    // MARK: sink

    /// Commits `count` IDoc events through the real intake and forwards them with `sink`.
    static func forward(
        _ harness: AgentHarness, sink: AMQPSink, count: Int, until done: @Sendable (ForwarderSnapshot) -> Bool
    ) async throws -> ForwarderSnapshot {
        for docnum in 1...count {
            _ = try await harness.intake.submit(IncomingDocument(
                sourceName: "drop", fileName: "f\(docnum).xml", input: .bytes(IDocMessage.xml(docnum: docnum)),
                size: 0, format: .idocXML))
        }
        var settings = ForwarderSettings()
        settings.batchMaxEvents = 50
        settings.retryInitial = 0.1
        settings.retryMax = 0.5
        let forwarder = Forwarder(outbox: harness.outbox, sink: sink, settings: settings, logger: Logger(label: "test.fwd"))
        let run = Task { await forwarder.run() }
        defer { run.cancel() }
        _ = try await AgentHarness.eventually { done(forwarder.snapshot) }
        forwarder.beginShutdown()
        await run.value
        await sink.shutdown()
        return forwarder.snapshot
    }

    @Test(arguments: [CloudEventContentMode.binary, .structured])
    func sinkPublishesEveryEventOnceWithConfirms(mode: CloudEventContentMode) async throws {
        let broker = try await SharedBroker.shared.get()
        let harness = try AgentHarness()
        defer { harness.remove() }
        let admin = try await broker.connect()
        let exchange = Self.unique("outpost.events")
        let queue = Self.unique("hub.in")
        try await admin.declareExchange(exchange)
        try await admin.declareQueue(queue, arguments: ["x-queue-type": .string("quorum")])
        try await admin.bindQueue(queue, exchange: exchange, routingKey: "sap.idoc.#")
        var settings = AMQPSinkSettings(
            endpoint: broker.endpoint, exchange: exchange, routingKey: try RoutingKeyTemplate("{type}.{region}"))
        settings.contentMode = mode
        let snapshot = try await Self.forward(
            harness, sink: AMQPSink(settings: settings, logger: Logger(label: "test.sink")), count: 120
        ) { $0.delivered == 120 }
        #expect(snapshot.delivered == 120 && snapshot.deadLettered == 0)
        var ids: [String] = []
        while let message = try await admin.get(queue: queue) {
            try await admin.acknowledge(message.deliveryTag)
            #expect(message.routingKey == "sap.idoc.ORDERS.emea")
            #expect(message.properties.persistent)
            ids.append(message.properties.messageID ?? "")
            if mode == .binary {
                #expect(message.properties.headers["cloudEvents:id"] == .string(message.properties.messageID ?? "-"))
                #expect(message.properties.contentType == "application/xml")
                #expect(String(decoding: message.body, as: UTF8.self).hasPrefix("<ORDERS05>"))
            } else {
                let object = try JSONSerialization.jsonObject(with: Data(message.body)) as! [String: Any]
                #expect(object["id"] as? String == message.properties.messageID)
            }
        }
        #expect(ids.count == 120)
        #expect(Set(ids) == Set((1...120).map { IDocMessage.id(docnum: $0) }))
        // One sender: one partition key, so the queue holds them in outbox order.
        #expect(ids == (1...120).map { IDocMessage.id(docnum: $0) })
        await admin.close()
    }

    @Test func unroutableEventsAreDeadLetteredAndAMissingExchangePauses() async throws {
        let broker = try await SharedBroker.shared.get()
        let admin = try await broker.connect()
        let exchange = Self.unique("outpost.events")
        try await admin.declareExchange(exchange)
        await admin.close()

        let harness = try AgentHarness()
        defer { harness.remove() }
        let sink = AMQPSink(
            settings: AMQPSinkSettings(
                endpoint: broker.endpoint, exchange: exchange, routingKey: try RoutingKeyTemplate("{type}.{region}")),
            logger: Logger(label: "test.sink"))
        let snapshot = try await Self.forward(harness, sink: sink, count: 5) { $0.deadLettered == 5 }
        #expect(snapshot.deadLettered == 5 && snapshot.delivered == 0)
        let letters = try await harness.outbox.deadLetters()
        #expect(letters.count == 5)
        #expect(letters.allSatisfy { $0.reason.contains("unroutable") && $0.reason.contains("sap.idoc.ORDERS.emea") })

        let other = try AgentHarness()
        defer { other.remove() }
        let missing = AMQPSink(
            settings: AMQPSinkSettings(
                endpoint: broker.endpoint, exchange: Self.unique("absent"), routingKey: try RoutingKeyTemplate("{type}")),
            logger: Logger(label: "test.sink"))
        let paused = try await Self.forward(other, sink: missing, count: 2) { $0.paused != nil }
        #expect(paused.paused?.contains("does not exist") == true)
        #expect(paused.delivered == 0 && paused.deadLettered == 0)
        #expect(try await other.outbox.status().pendingEvents == 2)
    }
}
