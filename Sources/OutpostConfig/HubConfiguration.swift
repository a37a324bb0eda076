/// The reference hub's configuration file (`outpost-hub serve --config FILE`), SPEC §5.
public struct HubConfiguration: Sendable, Equatable {
    /// `listen: host:port`
    public var listenHost: String = "127.0.0.1"
    public var listenPort: Int = 8080
    public var storage: Storage
    /// Largest accepted request body; larger answers 413.
    public var maxBatchBytes: Int = 16 << 20
    /// Batches processed at once; more answer 503 with `Retry-After`.
    public var maxConcurrentBatches: Int = 16
    /// Hex SHA-256 of the token that GET /v1/* requires, when set.
    public var readTokenSHA256: String?
    public var agents: [HubAgent]
    /// `tls:`; nil serves plain HTTP.
    public var tls: HubTLSConfiguration?

    public enum Storage: Sendable, Equatable {
        case sqlite(path: String)
        case postgres(url: String)
    }

    public init(storage: Storage, agents: [HubAgent]) {
        self.storage = storage
        self.agents = agents
    }
}

/// One entry of the hub's `agents:`: who may send, and as which region.
public struct HubAgent: Sendable, Equatable {
    public var id: String
    public var region: String
    /// Lowercase hex SHA-256 of the agent's bearer token.
    public var tokenSHA256: String

    public init(id: String, region: String, tokenSHA256: String) {
        self.id = id
        self.region = region
        self.tokenSHA256 = tokenSHA256
    }
}
