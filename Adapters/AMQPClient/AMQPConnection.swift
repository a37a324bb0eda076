import Synchronization

/// One AMQP 0-9-1 connection with one channel, on its own thread (rabbitmq-c underneath).
///
/// Every method runs on the connection's thread, one at a time, and suspends the caller
/// meanwhile; nothing blocks the cooperative pool. After any error (``AMQPError``) the
/// connection is unusable: ``close()`` it and open a new one.
public final class AMQPConnection: Sendable {
    public let endpoint: AMQPEndpoint
    private let thread: ConnectionThread
    private let session: Session
    private let closed = Mutex(false)

    private init(endpoint: AMQPEndpoint, thread: ConnectionThread, session: Session) {
        self.endpoint = endpoint
        self.thread = thread
        self.session = session
    }

    deinit {
        closeInBackground()
    }

    /// Connects, logs in and opens a channel.
    public static func open(_ endpoint: AMQPEndpoint) async throws -> AMQPConnection {
        let thread = ConnectionThread(name: "amqp \(endpoint.host):\(endpoint.port)")
        do {
            let session = try await thread.perform { try Session.open(endpoint) }
            return AMQPConnection(endpoint: endpoint, thread: thread, session: session)
        } catch {
            thread.stop()
            throw error
        }
    }

    /// Closes the connection (politely when it is healthy) and ends its thread.
    public func close() async {
        guard markClosed() else { return }
        _ = try? await thread.perform { [session] in session.close() }
        thread.stop()
    }

    private func closeInBackground() {
        guard markClosed() else { return }
        thread.enqueue { [session] in session.close() }
        thread.stop()
    }

    private func markClosed() -> Bool {
        closed.withLock { wasClosed in
            defer { wasClosed = true }
            return !wasClosed
        }
    }

    private func run<T: Sendable>(_ body: @escaping @Sendable (Session) throws -> T) async throws -> T {
        try await thread.perform { [session] in try body(session) }
    }

    // MARK: topology

    /// Declares (creates if missing) an exchange.
    public func declareExchange(_ name: String, type: String = "topic", durable: Bool = true) async throws {
        try await run { try $0.declareExchange(name, type: type, durable: durable, passive: false) }
    }

    /// Throws ``AMQPError`` `.notFound` when the exchange does not exist (the connection is then unusable).
    public func checkExchange(_ name: String) async throws {
        try await run { try $0.declareExchange(name, type: "topic", durable: true, passive: true) }
    }

    /// Declares (creates if missing) a queue; `arguments` such as `x-queue-type: quorum` or
    /// `x-dead-letter-exchange`.
    @discardableResult
    public func declareQueue(
        _ name: String, durable: Bool = true, arguments: [String: AMQPFieldValue] = [:]
    ) async throws -> AMQPQueueState {
        try await run { try $0.declareQueue(name, durable: durable, passive: false, arguments: arguments) }
    }

    /// The queue's counters; throws `.notFound` when it does not exist.
    public func queueState(_ name: String) async throws -> AMQPQueueState {
        try await run { try $0.declareQueue(name, durable: true, passive: true, arguments: [:]) }
    }

    public func bindQueue(_ queue: String, exchange: String, routingKey: String) async throws {
        try await run { try $0.bindQueue(queue, exchange: exchange, routingKey: routingKey) }
    }

    public func purgeQueue(_ name: String) async throws {
        try await run { try $0.purgeQueue(name) }
    }

    // MARK: consuming

    /// Starts a consumer on `queue` with manual acknowledgements; the broker hands out at
    /// most `prefetch` unacknowledged messages at a time.
    public func startConsuming(queue: String, prefetch: Int) async throws {
        try await run { try $0.startConsuming(queue: queue, prefetch: prefetch) }
    }

    /// The next delivery, or nil when none arrived within `timeout` seconds.
    public func nextDelivery(timeout: Double) async throws -> AMQPDelivery? {
        try await run { try $0.nextDelivery(timeout: timeout) }
    }

    /// Up to `limit` deliveries in one call to the connection's thread: the first waited for
    /// up to `timeout` seconds, the rest only those that can be read at once.
    public func nextDeliveries(limit: Int, timeout: Double) async throws -> [AMQPDelivery] {
        try await run { try $0.nextDeliveries(limit: limit, timeout: timeout) }
    }

    /// ``acknowledge(_:upToAndIncluding:)`` with `multiple` for `tag` (when not nil), then
    /// ``nextDeliveries(limit:timeout:)``, in one call to the connection's thread.
    public func acknowledgeAndTake(upToAndIncluding tag: UInt64?, limit: Int, timeout: Double) async throws -> [AMQPDelivery] {
        try await run { session in
            if let tag { try session.acknowledge(tag, multiple: true) }
            return try session.nextDeliveries(limit: limit, timeout: timeout)
        }
    }

    /// `basic.ack` for one delivery, or with `upToAndIncluding` for it and every earlier
    /// delivery of the channel not yet acknowledged or rejected (`multiple`).
    public func acknowledge(_ deliveryTag: UInt64, upToAndIncluding: Bool = false) async throws {
        try await run { try $0.acknowledge(deliveryTag, multiple: upToAndIncluding) }
    }

    /// `basic.nack` for one delivery: back to the queue (`requeue`) or to the queue's
    /// dead-letter exchange (dropped when it has none).
    public func reject(_ deliveryTag: UInt64, requeue: Bool) async throws {
        try await run { try $0.reject(deliveryTag, requeue: requeue) }
    }

    /// `basic.get`: one message (acknowledge it) or nil when the queue is empty.
    public func get(queue: String) async throws -> AMQPDelivery? {
        try await run { try $0.get(queue: queue) }
    }

    // MARK: publishing

    /// Puts the channel in confirm mode (required by ``publish(_:mandatory:timeout:)``).
    public func enableConfirms() async throws {
        try await run { try $0.enableConfirms() }
    }

    /// Publishes `messages` in order and waits for the broker's confirm of each.
    public func publish(
        _ messages: [AMQPOutgoingMessage], mandatory: Bool, timeout: Double = 30
    ) async throws -> [AMQPPublishOutcome] {
        try await run { try $0.publish(messages, mandatory: mandatory, timeout: timeout) }
    }
}
