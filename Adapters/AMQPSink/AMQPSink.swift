import AMQPClient
import CloudEventWire
import EventModel
import Logging

/// Publishes events to an exchange of an AMQP 0-9-1 broker (`hub.type: amqp`).
///
/// Every event is one persistent message, published `mandatory` with publisher confirms;
/// a batch counts as delivered only when the broker confirmed each of its messages. The
/// forwarder's rules apply unchanged (order per key, retries with backoff, concurrency,
/// dead letters):
/// - confirmed → delivered;
/// - returned (no queue bound for the routing key) → that event is dead-lettered;
/// - nacked, timeout, lost connection → the batch is retried (a consumer may then see an
///   event twice: it de-duplicates on `message_id`, which is the event id);
/// - login refused or the exchange missing → delivery pauses until the operator fixes it.
public final class AMQPSink: EventSink {
    public let description: String
    /// A message per event: its JSON with the sequence prefix in place of "{".
    public var batchBodySize: BatchBodySize { BatchBodySize(framing: 0, perEvent: CloudEventBatch.sequencePrefixLength - 1) }
    let settings: AMQPSinkSettings
    let logger: Logger
    private let pool: PublisherPool

    public init(settings: AMQPSinkSettings, logger: Logger) {
        self.settings = settings
        self.logger = logger
        self.pool = PublisherPool(endpoint: settings.endpoint, exchange: settings.exchange)
        self.description = "amqp-sink(\(settings.endpoint) exchange=\(settings.exchange) routing_key=\(settings.routingKey))"
    }

    public func deliver(_ batch: [OutboundEvent]) async -> DeliveryOutcome {
        var rejected: [String: String] = [:]
        var messages: [AMQPOutgoingMessage] = []
        messages.reserveCapacity(batch.count)
        for event in batch {
            do {
                messages.append(try CloudEventMessage.make(
                    event, exchange: settings.exchange, routingKey: settings.routingKey, mode: settings.contentMode))
            } catch {
                rejected[event.id] = error.reason
            }
        }
        guard !messages.isEmpty else { return .delivered(rejected: rejected) }

        let connection: AMQPConnection
        do {
            connection = try await pool.checkout()
        } catch {
            return Self.outcome(for: error)
        }
        let outcomes: [AMQPPublishOutcome]
        do {
            outcomes = try await connection.publish(messages, mandatory: true, timeout: settings.confirmTimeout)
        } catch {
            await connection.close()
            return Self.outcome(for: error)
        }
        pool.checkin(connection)
        var nacked = 0
        for (message, outcome) in zip(messages, outcomes) {
            switch outcome {
            case .confirmed:
                continue
            case .returned(let code, let text):
                rejected[message.properties.messageID ?? ""] =
                    "unroutable: exchange '\(settings.exchange)' has no queue for routing key '\(message.routingKey)' (\(code) \(text))"
            case .nacked:
                nacked += 1
            }
        }
        if nacked > 0 {
            return .retry(after: nil, reason: "the broker nacked \(nacked) of \(messages.count) messages")
        }
        return .delivered(rejected: rejected)
    }

    public func shutdown() async {
        await pool.closeAll()
    }

    /// Login refused or a missing exchange need the operator: pause. Everything else passes.
    static func outcome(for error: any Error) -> DeliveryOutcome {
        guard let error = error as? AMQPError else { return .retry(after: nil, reason: "\(error)") }
        switch error.kind {
        case .accessRefused, .notFound, .invalidConfiguration:
            return .pause(reason: error.message)
        case .connectionFailed, .closedByBroker, .timeout, .closed:
            return .retry(after: nil, reason: error.message)
        }
    }
}
