import AMQPClient
import EventModel
import Foundation
import Logging
import Synchronization

/// A `type: amqp` source: consumes one queue and hands each message to the agent as one
/// document.
///
/// - A message is acked only after its submission returned: its events (or its rejection
///   event) are committed to the outbox and synced. A redelivered message has the same body,
///   so its events have the same ids: the outbox keeps them out while it holds the first
///   copies (pending, or delivered within `retain_delivered`), and the hub recognises them
///   after that. No receipt is kept per message (``IncomingDocument/keepsReceipt``).
/// - Up to `prefetch` messages are in flight (``DocumentIntake/begin(_:)``): decoded and
///   committed in delivery order while the oldest waits for its sync, so one sync of the
///   outbox covers many messages; they are settled in delivery order, and the committed ones
///   acknowledged together (`basic.ack` with `multiple`) before more are taken, before a
///   rejection is settled and whenever the queue runs dry.
/// - A rejected message is republished to `reject_exchange` (with confirms, `mandatory`)
///   and acked only once the broker confirmed it; without `reject_exchange` it is nacked
///   without requeue, to the queue's dead-letter exchange. Never lost, never redelivered
///   forever.
/// - While intake is paused the consumer takes nothing: at most `prefetch` messages sit
///   unacked with it, the rest stay ready on the broker.
/// - Any broker or network failure closes the connection (the broker requeues unacked
///   messages) and reconnects with backoff.
public final class AMQPSource: Sendable {
    public let settings: AMQPSourceSettings
    let intake: any DocumentIntake
    let logger: Logger
    private let counters = Mutex(AMQPSourceStatus())

    public init(settings: AMQPSourceSettings, intake: any DocumentIntake, logger: Logger) {
        self.settings = settings
        self.intake = intake
        self.logger = logger
    }

    /// Counters for status and tests.
    public var status: AMQPSourceStatus { counters.withLock { $0 } }

    /// Consumes until the task is cancelled; reconnects after failures. Throws only for a
    /// configuration that can never work.
    public func run() async throws {
        var backoff = ReconnectBackoff(initial: settings.reconnectInitial, maximum: settings.reconnectMax)
        if settings.rejectExchange == nil {
            logger.notice("source.amqp.no_reject_exchange", metadata: [
                "source": "\(settings.name)",
                "detail": "rejected messages are nacked to the dead-letter exchange of queue \(settings.queue); without one the broker drops them",
            ])
        }
        while !Task.isCancelled {
            do {
                try await consume(onConnected: { backoff.reset() })
            } catch is CancellationError {
                return
            } catch let error as AMQPError where error.kind == .invalidConfiguration {
                throw error
            } catch {
                if Task.isCancelled { return }
                counters.withLock { $0.connected = false; $0.reconnects += 1 }
                let delay = backoff.next()
                logger.warning("source.amqp.disconnected", metadata: [
                    "source": "\(settings.name)", "error": "\(error)",
                    "outpost.retry_in": "\(String(format: "%.2f", delay))s",
                ])
                do { try await Task.sleep(for: .milliseconds(Int(delay * 1000))) } catch { return }
            }
        }
    }

    /// One connection's life: connect, check, consume until something fails.
    private func consume(onConnected: () -> Void) async throws {
        var endpoint = settings.endpoint
        endpoint.connectionName = "outpost \(settings.name) consumer"
        let consumer = try await AMQPConnection.open(endpoint)
        var rejects: AMQPConnection?
        var acks = PendingAcks()
        do {
            _ = try await consumer.queueState(settings.queue)
            if let exchange = settings.rejectExchange {
                rejects = try await openRejectPublisher(checking: exchange)
            }
            try await consumer.startConsuming(queue: settings.queue, prefetch: settings.prefetch)
            counters.withLock { $0.connected = true }
            onConnected()
            logger.info("source.amqp.connected", metadata: [
                "source": "\(settings.name)", "outpost.broker": "\(endpoint)", "outpost.queue": "\(settings.queue)",
            ])
            var buffered: [AMQPDelivery] = []
            // Messages handed to the intake and not yet settled, in delivery order: up to
            // `prefetch` are decoded and committed while the oldest one's sync is awaited, so
            // one sync of the outbox covers many messages. Each is acked once its own commit
            // is durable, in delivery order, as before.
            var window: [InFlight] = []
            window.reserveCapacity(settings.prefetch)
            while true {
                try Task.checkCancellation()
                // Refilled in bursts, once at most half is left and a quarter of `prefetch` is
                // settled (or nothing is left): the committed messages are acknowledged and more
                // taken in one call to the connection's thread, and the intake's gate asked once
                // per burst, not once per message. The broker counts unacknowledged messages
                // against `prefetch`, so those acknowledged in one burst arrive for the next.
                if window.count <= settings.prefetch / 2, acks.count >= settings.prefetch / 4 || window.isEmpty {
                    if !intake.acceptsNow() {
                        try await flush(&acks, consumer)
                        try await awaitIntake(keepingAlive: consumer, buffer: &buffered)
                    }
                    // Held deliveries first, then what the connection has.
                    var taken = buffered.prefix(settings.prefetch - window.count)
                    buffered.removeFirst(taken.count)
                    let room = settings.prefetch - window.count - taken.count
                    if room > 0 || acks.last != nil {
                        taken += try await consumer.acknowledgeAndTake(
                            upToAndIncluding: acks.last, limit: room,
                            timeout: window.isEmpty && taken.isEmpty ? 0.5 : 0)
                        acknowledged(&acks)
                    }
                    for delivery in taken {
                        let document = MessageMapping.document(delivery, sourceName: settings.name, format: settings.format)
                        window.append(InFlight(delivery: delivery, document: document, submission: intake.begin(document)))
                    }
                }
                guard !window.isEmpty else { continue }
                let oldest = window.removeFirst()
                try await settle(oldest, consumer: consumer, rejects: rejects, acks: &acks)
            }
        } catch {
            // Stopping: what is committed is acknowledged now rather than redelivered at the
            // next start (where the intake would recognise it as already committed).
            if error is CancellationError { try? await flush(&acks, consumer) }
            await rejects?.close()
            await consumer.close()
            throw error
        }
    }

    private func openRejectPublisher(checking exchange: String) async throws -> AMQPConnection {
        var endpoint = settings.endpoint
        endpoint.connectionName = "outpost \(settings.name) reject publisher"
        let publisher = try await AMQPConnection.open(endpoint)
        do {
            try await publisher.checkExchange(exchange)
            try await publisher.enableConfirms()
            return publisher
        } catch let error as AMQPError where error.kind == .notFound {
            await publisher.close()
            throw AMQPError(
                .notFound, "reject_exchange '\(exchange)' does not exist on \(endpoint): declare it and bind a queue to it",
                replyCode: 404)
        } catch {
            await publisher.close()
            throw error
        }
    }

    /// Returns when intake accepts. While it is paused, keeps the connection alive (and its
    /// heartbeats) by receiving into `buffer`, which the broker's prefetch limit bounds.
    private func awaitIntake(keepingAlive consumer: AMQPConnection, buffer: inout [AMQPDelivery]) async throws {
        let done = Latch()
        let gate = Task { [intake] in
            defer { done.set() }
            try await intake.waitUntilAccepting()
        }
        defer { gate.cancel() }
        await Task.yield()
        let started = ContinuousClock.now
        var reported = false
        while !done.isSet {
            try Task.checkCancellation()
            if !reported, ContinuousClock.now - started > .seconds(1) {
                reported = true
                logger.notice("source.amqp.paused", metadata: [
                    "source": "\(settings.name)", "outpost.held": "\(buffer.count)",
                ])
            }
            if buffer.count < settings.prefetch, let delivery = try await consumer.nextDelivery(timeout: 0.2) {
                buffer.append(delivery)
            } else if buffer.count >= settings.prefetch {
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        try await gate.value
        if reported { logger.notice("source.amqp.resumed", metadata: ["source": "\(settings.name)"]) }
    }

    /// A message handed to the intake: its submission runs while later ones are handed over.
    private struct InFlight {
        var delivery: AMQPDelivery
        var document: IncomingDocument
        var submission: PendingSubmission
    }

    /// The committed messages not yet acknowledged: the last one's tag stands for all of them,
    /// since every earlier delivery of the channel is settled (messages are settled in
    /// delivery order, and deliveries held while intake is paused come later).
    private struct PendingAcks {
        var last: UInt64?
        var count = 0

        mutating func add(_ tag: UInt64) {
            last = tag
            count += 1
        }
    }

    /// Acknowledges the messages in `acks` with one `basic.ack`.
    private func flush(_ acks: inout PendingAcks, _ consumer: AMQPConnection) async throws {
        guard let tag = acks.last else { return }
        try await consumer.acknowledge(tag, upToAndIncluding: true)
        acknowledged(&acks)
    }

    /// Counts the messages in `acks` as acknowledged (by one `basic.ack`) and empties it.
    private func acknowledged(_ acks: inout PendingAcks) {
        let count = acks.count
        guard count > 0 else { return }
        counters.withLock {
            $0.acknowledged += count
            $0.acknowledgements += 1
        }
        acks = PendingAcks()
    }

    /// Settles a message once its submission has returned: committed, it joins `acks`;
    /// rejected, it is dead-lettered (after the committed ones before it are acknowledged). A
    /// submission the outbox could not commit is made again, with backoff, before anything
    /// later is settled.
    private func settle(_ message: InFlight, consumer: AMQPConnection, rejects: AMQPConnection?, acks: inout PendingAcks) async throws {
        let delivery = message.delivery
        let document = message.document
        let result: IntakeResult
        do {
            result = try await message.submission.result()
        } catch {
            try Task.checkCancellation()
            logger.error("source.amqp.commit_failed", metadata: [
                "source": "\(settings.name)", "file": "\(document.fileName)", "error": "\(error)",
            ])
            result = try await submit(document)
        }
        switch result {
        case .committed, .alreadyCommitted:
            acks.add(delivery.deliveryTag)
        case .rejected(let rejection, _):
            try await flush(&acks, consumer)
            if let rejects, let exchange = settings.rejectExchange {
                try await republish(delivery, rejection: rejection, to: exchange, via: rejects)
                try await consumer.acknowledge(delivery.deliveryTag)
            } else {
                try await consumer.reject(delivery.deliveryTag, requeue: false)
            }
            counters.withLock { $0.deadLettered += 1 }
            logger.warning("source.amqp.dead_lettered", metadata: [
                "source": "\(settings.name)", "file": "\(document.fileName)", "reason": "\(rejection.code.rawValue)",
                "outpost.reject_exchange": "\(settings.rejectExchange ?? "(queue dead-letter exchange)")",
            ])
        }
    }

    /// Submits, retrying with backoff while the outbox cannot commit (the message stays unacked).
    private func submit(_ document: IncomingDocument) async throws -> IntakeResult {
        var backoff = ReconnectBackoff(initial: 0.5, maximum: 30)
        while true {
            do {
                return try await intake.submit(document)
            } catch {
                try Task.checkCancellation()
                let delay = backoff.next()
                logger.error("source.amqp.commit_failed", metadata: [
                    "source": "\(settings.name)", "file": "\(document.fileName)", "error": "\(error)",
                    "outpost.retry_in": "\(String(format: "%.2f", delay))s",
                ])
                try await Task.sleep(for: .milliseconds(Int(delay * 1000)))
            }
        }
    }

    /// Publishes the rejected message, unchanged but for `x-outpost-*` headers naming why,
    /// and returns once the broker confirmed it.
    private func republish(
        _ delivery: AMQPDelivery, rejection: DocumentRejection, to exchange: String, via publisher: AMQPConnection
    ) async throws {
        var properties = delivery.properties
        properties.persistent = true
        properties.headers["x-outpost-reason"] = .string(rejection.code.rawValue)
        properties.headers["x-outpost-detail"] = .string(String(rejection.detail.prefix(1024)))
        properties.headers["x-outpost-source"] = .string(settings.name)
        properties.headers["x-outpost-queue"] = .string(settings.queue)
        let message = AMQPOutgoingMessage(
            exchange: exchange, routingKey: settings.rejectRoutingKey ?? delivery.routingKey, properties: properties,
            body: delivery.body)
        let outcome = try await publisher.publish([message], mandatory: true)
        switch outcome.first {
        case .confirmed:
            return
        case .returned(let code, let text):
            throw AMQPError(
                .closedByBroker,
                "reject_exchange '\(exchange)' routed the rejected message nowhere (\(code) \(text)); bind a queue to it",
                replyCode: code)
        case .nacked, nil:
            throw AMQPError(.closedByBroker, "the broker refused to take the rejected message (nack); will retry")
        }
    }
}

/// What an ``AMQPSource`` has done so far.
public struct AMQPSourceStatus: Sendable, Equatable {
    public var connected = false
    /// Messages acked after their events were committed.
    public var acknowledged = 0
    /// `basic.ack`s that acked them (each covers every settled message before it).
    public var acknowledgements = 0
    /// Messages dead-lettered (republished to the reject exchange or nacked).
    public var deadLettered = 0
    /// Connections lost (or never made) and retried.
    public var reconnects = 0

    public init() {}
}
