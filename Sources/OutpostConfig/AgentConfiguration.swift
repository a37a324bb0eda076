/// The agent's configuration file (`outpost run --config FILE`); every key is shown in
/// deploy/examples/outpost.yaml.
///
/// Plain values only: the composition root turns them into services. Loading and validation
/// live in ``ConfigLoader``; every default below is the one an operator gets when a key is
/// left out.
public struct AgentConfiguration: Sendable, Equatable {
    public var agent: AgentSection
    public var sources: [SourceConfiguration]
    public var hub: HubSinkConfiguration
    public var outbox: OutboxConfiguration
    public var admin: AdminConfiguration
    public var logging: LoggingConfiguration

    public init(
        agent: AgentSection, sources: [SourceConfiguration], hub: HubSinkConfiguration,
        outbox: OutboxConfiguration = .init(), admin: AdminConfiguration = .init(),
        logging: LoggingConfiguration = .init()
    ) {
        self.agent = agent
        self.sources = sources
        self.hub = hub
        self.outbox = outbox
        self.admin = admin
        self.logging = logging
    }
}

/// `agent:`
public struct AgentSection: Sendable, Equatable {
    public var id: String
    public var region: String
    /// Directory for the outbox database and state.
    public var dataDir: String

    public init(id: String, region: String, dataDir: String) {
        self.id = id
        self.region = region
        self.dataDir = dataDir
    }
}

/// One entry of `sources:`.
public enum SourceConfiguration: Sendable, Equatable {
    case fileDrop(FileDropSourceConfiguration)
    case sftp(SFTPSourceConfiguration)
    case amqp(AMQPSourceConfiguration)

    public var name: String {
        switch self {
        case .fileDrop(let c): c.name
        case .sftp(let c): c.name
        case .amqp(let c): c.name
        }
    }
}

/// `format:` of a source.
public enum SourceFormat: String, Sendable, Equatable, CaseIterable {
    case auto
    case idocXML = "idoc-xml"
    case idocFlat = "idoc-flat"
    case raw
}

/// `type: file_drop`
public struct FileDropSourceConfiguration: Sendable, Equatable {
    public enum After: String, Sendable, Equatable, CaseIterable { case archive, delete }
    public var name: String
    public var path: String
    public var include: [String] = ["*"]
    public var exclude: [String] = ["*.tmp", "*.part", ".*"]
    public var format: SourceFormat = .auto
    /// Seconds a file's size and mtime must stay unchanged before pickup.
    public var settle: Double = 2
    /// e.g. ".done": pick up X only when X.done exists.
    public var doneMarker: String?
    public var after: After = .archive
    /// Required when `after` is `archive`.
    public var archiveDir: String?
    public var errorDir: String
    public var maxFileSize: Int64 = 256 << 20
    /// Seconds between full rescans of the directory (besides inotify).
    public var rescanInterval: Double = 30

    public init(name: String, path: String, errorDir: String) {
        self.name = name
        self.path = path
        self.errorDir = errorDir
    }
}

/// `type: sftp` (the adapter comes with its own issue; the keys are parsed and checked now).
public struct SFTPSourceConfiguration: Sendable, Equatable {
    public enum After: String, Sendable, Equatable, CaseIterable { case move, delete }
    public var name: String
    public var host: String
    public var port: Int = 22
    public var user: String
    public var privateKeyFile: String?
    public var passphraseFile: String?
    public var passwordFile: String?
    public var knownHostsFile: String?
    public var hostKeyFingerprint: String?
    public var remoteDir: String
    public var include: [String] = ["*"]
    public var exclude: [String] = ["*.tmp", "*.part", ".*"]
    public var recursive: Bool = false
    public var pollInterval: Double = 10
    public var settle: Double = 2
    public var doneMarker: String?
    public var format: SourceFormat = .auto
    public var after: After = .move
    public var remoteArchiveDir: String?
    public var remoteErrorDir: String?
    public var maxFileSize: Int64 = 256 << 20

    public init(name: String, host: String, user: String, remoteDir: String) {
        self.name = name
        self.host = host
        self.user = user
        self.remoteDir = remoteDir
    }
}

/// `type: amqp` (the adapter comes with its own issue; the keys are parsed and checked now).
public struct AMQPSourceConfiguration: Sendable, Equatable {
    public var name: String
    public var url: String
    public var credentialsFile: String?
    public var queue: String
    public var prefetch: Int = 100
    public var format: SourceFormat = .auto
    public var rejectExchange: String?
    public var rejectRoutingKey: String?

    public init(name: String, url: String, queue: String) {
        self.name = name
        self.url = url
        self.queue = queue
    }
}

/// `hub:`
public struct HubSinkConfiguration: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable, CaseIterable { case http, amqp }
    public var type: Kind = .http
    /// Every hub endpoint, in the configured order: one hub, or several replicas of one hub
    /// (on one database) that the sink spreads batches over and fails over between.
    public var urls: [String]
    /// The first endpoint (the only one for `amqp`).
    public var url: String {
        get { urls.first ?? "" }
        set { urls = [newValue] }
    }
    /// File holding the bearer token (one line). Required for `http`.
    public var tokenFile: String?
    /// `http` hub: a batch per request (the Outpost hub) or one event per request (any
    /// CloudEvents HTTP receiver).
    public var mode: Mode = .batch
    /// `http` hub: how request bodies are compressed (`Content-Encoding`); when the key is
    /// absent, gzip in `batch` mode and none in the others.
    public var compression: Compression = .gzip
    /// `http` hub: the HTTP proxy requests go through.
    public var proxy: Proxy = .environment
    /// `http` hub: the proxy's `user:password`, one line (a secret file, mode 0600).
    public var proxyCredentialsFile: String?
    public var batchMaxEvents: Int = 500
    public var batchMaxBytes: Int = 4 << 20
    public var maxConcurrency: Int = 8
    public var retryInitial: Double = 0.5
    public var retryMax: Double = 300
    /// Seconds for one request to the hub before it counts as failed.
    public var requestTimeout: Double = 30
    /// Plain http:// to a non-loopback host is refused unless this is true.
    public var allowInsecure: Bool = false
    public var caFile: String?
    public var clientCertFile: String?
    public var clientKeyFile: String?
    // amqp hub
    public var credentialsFile: String?
    public var exchange: String?
    public var routingKey: String = "{type}.{region}"
    /// CloudEvents AMQP content mode: `binary` (data as body, attributes as
    /// `cloudEvents:*` headers) or `structured` (the whole event as JSON).
    public var contentMode: ContentMode = .binary

    public enum ContentMode: String, Sendable, Equatable, CaseIterable { case binary, structured }

    /// `hub.compression`: gzip (the default, every Outpost hub from this version accepts it),
    /// zstd (smaller and faster, for hubs from this version too) or none.
    public enum Compression: String, Sendable, Equatable, CaseIterable { case gzip, zstd, none }

    /// `hub.mode`: `batch` (`application/cloudevents-batch+json`, the Outpost hub), `structured`
    /// (one `application/cloudevents+json` event per request) or `binary` (one event per request,
    /// `data` as the body, the attributes as `ce-` headers).
    public enum Mode: String, Sendable, Equatable, CaseIterable { case batch, structured, binary }

    /// `hub.proxy`: absent, the environment's `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY` (and their
    /// lowercase forms); `none`, direct whatever the environment says; or one `http://` proxy.
    public enum Proxy: Sendable, Equatable {
        case environment
        case none
        case url(String)
    }

    public init(url: String) { self.urls = [url] }
}

/// `outbox:`
public struct OutboxConfiguration: Sendable, Equatable {
    public var highWatermark: Int64 = 1 << 30
    public var lowWatermark: Int64 = 768 << 20
    public var minFreeDisk: Int64 = 2 << 30
    /// Seconds delivered events are kept for `replay --since`.
    public var retainDelivered: Double = 86400
    /// Bind the chunk inserts' values straight to SQLite (true), or through GRDB's arguments,
    /// which copies each text and payload first (false: for a SQLite the direct path does not
    /// suit).
    public var directBinding = true

    public init() {}
}

/// `admin:`
public struct AdminConfiguration: Sendable, Equatable {
    /// `host:port` of the admin listener, or nil when `listen: null`.
    public var listen: String? = "127.0.0.1:9464"

    public init() {}
}

/// `logging:`
public struct LoggingConfiguration: Sendable, Equatable {
    public enum Level: String, Sendable, Equatable, CaseIterable {
        case trace, debug, info, notice, warning, error, critical
    }
    public enum Format: String, Sendable, Equatable, CaseIterable { case logfmt, json }
    public var level: Level = .info
    public var format: Format = .logfmt

    public init() {}
}
