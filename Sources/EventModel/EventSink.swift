/// An event leaving the outbox: its outbox sequence number and stored JSON.
public struct OutboundEvent: Sendable, Equatable {
    /// The outbox sequence number (monotonic per agent); sent as the `sequence` attribute.
    public var sequence: Int64
    public var id: String
    public var partitionKey: String
    /// The stored CloudEvent JSON object, without `sequence`.
    public var json: [UInt8]

    public init(sequence: Int64, id: String, partitionKey: String, json: [UInt8]) {
        self.sequence = sequence
        self.id = id
        self.partitionKey = partitionKey
        self.json = json
    }
}

/// What a sink says about one batch (Vector's delivered | retry | reject, plus the cases a
/// hub API needs).
public enum DeliveryOutcome: Sendable, Equatable {
    /// Stored by the hub. `rejected` lists the events (id → reason) the hub refused for
    /// good; they are dead-lettered, the rest count as delivered.
    case delivered(rejected: [String: String])
    /// A passing failure (5xx, 408, 425, 429, network): send the same batch again later,
    /// not before `after` seconds when the hub said so.
    case retry(after: Double?, reason: String)
    /// The hub refuses this agent's credentials (401/403): stop delivering, keep every
    /// event, show the reason in status.
    case pause(reason: String)
    /// The batch was too large (413): split it and send the halves.
    case tooLarge
    /// The batch was refused for good (other 4xx): split to isolate the culprit; a single
    /// event refused this way is dead-lettered with the reason.
    case reject(reason: String)
}

/// Delivers batches of events somewhere (the hub over HTTP, a broker).
public protocol EventSink: Sendable {
    /// A short description for logs; never contains secrets.
    var description: String { get }
    /// How this sink's batch body grows with its events (for `batch_max_bytes`).
    var batchBodySize: BatchBodySize { get }
    /// Sends one batch. Must not throw: every failure is a ``DeliveryOutcome``.
    func deliver(_ batch: [OutboundEvent]) async -> DeliveryOutcome
    /// Releases connections.
    func shutdown() async
    /// Gives back memory kept for the next batches (called when the agent has gone quiet).
    func releaseMemory()
}

extension EventSink {
    /// Keeps nothing between batches.
    public func releaseMemory() {}
}
