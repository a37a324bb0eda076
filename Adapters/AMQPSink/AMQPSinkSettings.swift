import AMQPClient

/// How the broker hub (`hub.type: amqp`) publishes.
public struct AMQPSinkSettings: Sendable {
    public var endpoint: AMQPEndpoint
    /// The exchange every event is published to; it must exist.
    public var exchange: String
    public var routingKey: RoutingKeyTemplate
    public var contentMode: CloudEventContentMode = .binary
    /// Seconds the broker has to confirm a batch before it counts as failed (and is retried).
    public var confirmTimeout: Double = 30

    public init(endpoint: AMQPEndpoint, exchange: String, routingKey: RoutingKeyTemplate) {
        self.endpoint = endpoint
        self.exchange = exchange
        self.routingKey = routingKey
    }
}

/// The two CloudEvents content modes of the AMQP binding.
public enum CloudEventContentMode: String, Sendable, Equatable, CaseIterable {
    /// The body is the event's data; every other attribute is an application property
    /// (header) `cloudEvents:<name>`, `datacontenttype` is the message's `content_type`.
    case binary
    /// The body is the whole event as JSON, `content_type: application/cloudevents+json`.
    case structured
}
