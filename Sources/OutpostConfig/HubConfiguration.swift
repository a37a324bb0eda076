/// The reference hub's configuration file (`outpost-hub serve --config FILE`); every key is
/// in deploy/examples/outpost-hub.yaml, explained in docs/OPERATIONS.md, "The hub".
public struct HubConfiguration: Sendable, Equatable {
    /// `listen: host:port`
    public var listenHost: String = "127.0.0.1"
    public var listenPort: Int = 8080
    public var storage: Storage
    /// Largest accepted request body; larger answers 413.
    public var maxBatchBytes: Int = 16 << 20
    /// Batches processed at once; more answer 503 with `Retry-After`.
    public var maxConcurrentBatches: Int = 16
    /// Hex SHA-256 of the token that GET /v1/* and the dashboard require.
    public var readTokenSHA256: String?
    /// `read_access`: `token` (default: reads need the read token, and without one they are
    /// refused) or `open` (anyone who reaches the port reads every document).
    public var readAccess: ReadAccess = .token
    public var agents: [HubAgent]
    /// `tls:`; nil serves plain HTTP.
    public var tls: HubTLSConfiguration?
    /// `header_timeout`: seconds a request's headers may take to arrive, counted from the
    /// connection's opening or the first byte of a later request; then the connection is closed.
    public var headerTimeout: Double = 10
    /// `min_body_rate`: bytes per second a request body must average once `header_timeout`
    /// has passed since its headers; a slower sender's connection is closed.
    public var minBodyRate: Int = 1 << 10
    /// `idle_timeout`: seconds a keep-alive connection may wait for its next request.
    public var idleTimeout: Double = 75
    /// `max_header_bytes`: largest request line and headers; larger answer 431 and close.
    public var maxHeaderBytes: Int = 16 << 10
    /// `max_connections`: connections served at once; more are closed as they are accepted.
    public var maxConnections: Int = 4096

    /// `per_agent:`: what one agent may take of the hub, so an agent in a retry storm cannot
    /// starve the others; more is answered 429 with `Retry-After`.
    public var perAgent = AgentLimits()

    /// `mapping:`: canonical documents, spend and three-way match from stored IDocs.
    public var mapping = MappingSettings()

    /// `per_agent:` keys. The defaults never throttle an agent with the default forwarder
    /// settings (`max_concurrency: 8`) at a normal pace.
    public struct AgentLimits: Sendable, Equatable {
        /// `max_concurrent_batches`: batches of one agent processed at once.
        public var maxConcurrentBatches: Int = 8
        /// `events_per_second`: events one agent may send per second, on average.
        public var eventsPerSecond: Double = 5000
        /// `burst_events`: events one agent may send at once above the rate (the bucket's size).
        public var burstEvents: Int = 50000

        public init() {}
    }

    public enum Storage: Sendable, Equatable {
        case sqlite(path: String)
        case postgres(PostgresStorage)
    }

    public enum ReadAccess: String, Sendable, Equatable, CaseIterable {
        case token, open
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
    /// `client_cert_subject`: the subject (RFC 4514) the agent's mutual-TLS client certificate
    /// must have; its token is refused on a connection with any other certificate, so a stolen
    /// token alone is not enough. `nil`: any certificate the CA signed.
    public var clientCertSubject: String?

    public init(id: String, region: String, tokenSHA256: String, clientCertSubject: String? = nil) {
        self.id = id
        self.region = region
        self.tokenSHA256 = tokenSHA256
        self.clientCertSubject = clientCertSubject
    }
}

/// `storage: {postgres: URL, …}`: the PostgreSQL database several hub replicas share.
public struct PostgresStorage: Sendable, Equatable {
    /// `postgres://user[:password]@host[:port]/database[?sslmode=…]`
    public var url: String
    /// A file holding the password (mode 0600), instead of one in the URL.
    public var passwordFile: String?
    /// Most connections this replica opens.
    public var poolSize: Int = 8
    /// Longest a statement may run, seconds; the server cancels it after.
    public var statementTimeout: Double = 30
    /// TLS to the database; `nil` takes the URL's `sslmode`, else `prefer`.
    public var sslMode: SSLMode?
    /// PEM CAs that sign the server's certificate (`verify-full`), else the system's.
    public var caFile: String?
    /// Days of events kept; older monthly partitions are dropped whole. `nil` keeps everything.
    public var retentionDays: Int?
    /// Start even when the server can lose commits it acknowledged (`fsync = off`,
    /// `synchronous_commit = off`). Off: the hub refuses to start on such a server.
    public var allowUnsafeDurability = false

    public enum SSLMode: String, Sendable, Equatable, CaseIterable {
        case disable, prefer, require
        case verifyFull = "verify-full"
    }

    public init(url: String) {
        self.url = url
    }
}
