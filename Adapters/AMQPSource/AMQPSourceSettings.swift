import AMQPClient
import EventModel

/// How one `type: amqp` source consumes (`sources:` in deploy/examples/outpost.yaml).
public struct AMQPSourceSettings: Sendable {
    /// The source's `name` (in every event's `source`).
    public var name: String
    public var endpoint: AMQPEndpoint
    /// The queue to consume; it must exist (the ERP side owns it).
    public var queue: String
    /// Most unacknowledged messages the broker hands this consumer at once.
    public var prefetch: Int = 100
    /// The configured format, nil = detect per message.
    public var format: DocumentFormat?
    /// Where rejected messages are republished (with confirms) before they are acked; nil =
    /// nack them without requeue, to the queue's own dead-letter exchange.
    public var rejectExchange: String?
    /// Routing key for rejected messages; nil = the message's own routing key.
    public var rejectRoutingKey: String?
    /// First and longest delay between reconnection attempts, seconds.
    public var reconnectInitial: Double = 0.5
    public var reconnectMax: Double = 30

    public init(name: String, endpoint: AMQPEndpoint, queue: String) {
        self.name = name
        self.endpoint = endpoint
        self.queue = queue
    }
}
