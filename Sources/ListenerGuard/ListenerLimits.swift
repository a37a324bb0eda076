/// What one HTTP listener allows a client: how long its headers may take, how slowly its
/// body may arrive, how long an idle keep-alive connection stays, how large its headers may
/// be and how many connections are served at once (docs/OPERATIONS.md, "Connection limits").
public struct ListenerLimits: Sendable, Equatable {
    /// Seconds a request's line and headers may take, counted from the connection's opening
    /// (first request) or from the first byte of a later request; then the connection is closed.
    public var headerTimeout: Double
    /// Bytes per second a request body must average once `headerTimeout` has passed since its
    /// headers arrived; a slower sender's connection is closed.
    public var minBodyRate: Int
    /// Seconds a keep-alive connection may wait for its next request.
    public var idleTimeout: Double
    /// Largest request line plus headers, in bytes; a larger request is answered 431 and closed.
    public var maxHeaderBytes: Int
    /// Connections served at once; a connection beyond it is closed as soon as it is accepted.
    public var maxConnections: Int
    /// Largest buffer a connection reads into (``ReceiveBufferCap``): what an idle keep-alive
    /// connection may hold between its requests. 16 KiB unless set.
    public var maxReadBuffer = 16 << 10

    /// - Parameters: see the properties; every value must be positive.
    public init(headerTimeout: Double, minBodyRate: Int, idleTimeout: Double, maxHeaderBytes: Int, maxConnections: Int) {
        precondition(headerTimeout > 0 && minBodyRate > 0 && idleTimeout > 0 && maxHeaderBytes > 0 && maxConnections > 0)
        self.headerTimeout = headerTimeout
        self.minBodyRate = minBodyRate
        self.idleTimeout = idleTimeout
        self.maxHeaderBytes = maxHeaderBytes
        self.maxConnections = maxConnections
    }

    /// The agent's admin listener (`/metrics`, `/healthz`, `/readyz`): small GET requests from a
    /// local scraper, so tight limits.
    public static let admin = ListenerLimits(
        headerTimeout: 10, minBodyRate: 1024, idleTimeout: 60, maxHeaderBytes: 16 << 10, maxConnections: 64)
}
