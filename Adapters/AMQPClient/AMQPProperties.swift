/// The basic properties of a message (the AMQP 0-9-1 content header) that Outpost reads and
/// writes. `user_id` and `cluster_id` are left out on purpose: a republished message with
/// another user's `user_id` would be refused by the broker.
public struct AMQPProperties: Sendable, Equatable {
    public var contentType: String?
    public var contentEncoding: String?
    public var headers = AMQPHeaders()
    /// Delivery mode 2: the broker writes the message to disk (on a durable queue).
    public var persistent: Bool = false
    public var priority: UInt8?
    public var correlationID: String?
    public var replyTo: String?
    public var expiration: String?
    public var messageID: String?
    /// Seconds since 1970.
    public var timestamp: UInt64?
    public var type: String?
    public var appID: String?

    public init() {}
}

/// A message received from a queue.
public struct AMQPDelivery: Sendable, Equatable {
    /// Identifies the delivery on its channel for ``AMQPConnection/acknowledge(_:)``.
    public var deliveryTag: UInt64
    /// True when the broker delivered this message before (to this or another consumer).
    public var redelivered: Bool
    public var exchange: String
    public var routingKey: String
    public var properties: AMQPProperties
    public var body: [UInt8]

    public init(
        deliveryTag: UInt64, redelivered: Bool, exchange: String, routingKey: String, properties: AMQPProperties,
        body: [UInt8]
    ) {
        self.deliveryTag = deliveryTag
        self.redelivered = redelivered
        self.exchange = exchange
        self.routingKey = routingKey
        self.properties = properties
        self.body = body
    }
}

/// A message to publish.
public struct AMQPOutgoingMessage: Sendable, Equatable {
    public var exchange: String
    public var routingKey: String
    public var properties: AMQPProperties
    public var body: [UInt8]

    public init(exchange: String, routingKey: String, properties: AMQPProperties, body: [UInt8]) {
        self.exchange = exchange
        self.routingKey = routingKey
        self.properties = properties
        self.body = body
    }
}

/// What the broker said about one published message (publisher confirms).
public enum AMQPPublishOutcome: Sendable, Equatable {
    /// Stored: routed to at least one queue (and written to disk there, when persistent on a
    /// durable queue).
    case confirmed
    /// Sent back by the broker: `mandatory` and no queue is bound for its routing key.
    case returned(replyCode: Int, replyText: String)
    /// The broker could not take responsibility for it (internal error); publish it again.
    case nacked
}

/// A queue's counters, from a (passive) `queue.declare`.
public struct AMQPQueueState: Sendable, Equatable {
    /// Messages ready for delivery (not counting those delivered and not yet acknowledged).
    public var messages: Int
    public var consumers: Int
}
