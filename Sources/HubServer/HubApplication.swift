import EventModel
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import ListenerGuard
import Logging
import OutpostConfig

/// Builds the hub's HTTP application (docs/OPERATIONS.md, "The hub") on `storage`; `run()`/`runService()` serves it
/// on `configuration`'s listen address — over TLS when `configuration.tls` is set — and tests
/// drive it with HummingbirdTesting.
///
/// - Parameters:
///   - configuration: agents and their token digests, read token, limits, listen address.
///     `storage` is not opened from it: the caller chooses and opens the storage.
///   - storage: where accepted events go.
///   - logger: receives one entry per refused request or failed write (never a token).
///   - agents: the accepted agents, when a reload is to replace them (else `configuration.agents`).
///   - contentCodecs: the request `Content-Encoding`s accepted besides identity (outpost-hub
///     passes gzip and zstd); any other gets 415.
///   - onServerRunning: called once the listener is bound (systemd's READY=1 waits for it).
/// - Throws: ``HubTLSError`` when a `tls:` file cannot be read.
public func buildHubApplication(
    configuration: HubConfiguration, storage: some HubStorage, logger: Logger, agents: HubAgentDirectory? = nil,
    contentCodecs: [any ContentCodec] = [],
    onServerRunning: @escaping @Sendable () async -> Void = {}
) throws -> some ApplicationProtocol {
    let listener = ListenerCounters(connections: OpenConnections(limit: configuration.maxConnections))
    let http1 = HTTPServerBuilder.http1(
        configuration: configuration.listenerLimits.http1Configuration(counters: listener, logger: logger))
    let server: HTTPServerBuilder =
        if let tls = configuration.tls {
            try .tls(http1, tlsConfiguration: tls.serverConfiguration())
        } else {
            http1
        }
    return Application(
        router: buildHubRouter(
            configuration: configuration, storage: storage, logger: logger,
            agents: agents ?? HubAgentDirectory(configuration.agents), listener: listener, contentCodecs: contentCodecs),
        server: server,
        configuration: .init(
            address: .hostname(configuration.listenHost, port: configuration.listenPort), serverName: "outpost-hub",
            backlog: 1024),
        onServerRunning: { _ in await onServerRunning() },
        logger: logger)
}

/// - Parameter listener: the counters `GET /v1/stats` shows under `connections`; `nil` when
///   no listener serves the router (tests that call it directly).
func buildHubRouter(
    configuration: HubConfiguration, storage: some HubStorage, logger: Logger, agents: HubAgentDirectory,
    listener: ListenerCounters? = nil, contentCodecs: [any ContentCodec] = []
) -> Router<HubRequestContext> {
    let router = Router(context: HubRequestContext.self)
    router.get("healthz") { _, _ -> Response in
        do {
            try await storage.checkWritable()
            return try Response.json(["status": "ok"])
        } catch {
            logger.error("health.storage_unwritable", metadata: ["hub.error": "\(error)"])
            return try Response.json(["status": "unavailable", "error": "\(error)"], status: .serviceUnavailable)
        }
    }
    let v1 = router.group("v1")
    IngestController(
        storage: storage,
        authenticator: BearerAuthenticator(directory: agents),
        admission: BatchAdmission(limit: configuration.maxConcurrentBatches),
        quotas: AgentQuotas(limits: configuration.perAgent),
        maxBatchBytes: configuration.maxBatchBytes,
        contentCodecs: contentCodecs,
        logger: logger
    ).addRoutes(to: v1)
    let reads = v1.group()
    let dashboard = router.group()
    if configuration.readAccess == .token {
        // An unparsable digest locks reads rather than opening them.
        let guardian = ReadTokenMiddleware(digest: configuration.readTokenSHA256.map { TokenDigest(hex: $0) ?? TokenDigest(of: "") })
        reads.add(middleware: guardian)
        dashboard.add(middleware: guardian)
    }
    ReadController(storage: storage, agents: agents, listener: listener).addRoutes(to: reads)
    if let canonical = storage as? any CanonicalStorage {
        SpendController(storage: canonical, tolerancePercent: configuration.mapping.tolerancePercent).addRoutes(to: reads)
    }
    DashboardController(storage: storage, agents: agents).addRoutes(to: dashboard)
    return router
}
