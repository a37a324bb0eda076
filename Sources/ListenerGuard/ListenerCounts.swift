/// A listener's connection counters at one instant (``ListenerCounters/counts``), as
/// `GET /v1/stats` shows them under `connections`.
public struct ListenerCounts: Sendable, Equatable, Codable {
    /// Connections served now.
    public var open: Int
    /// Connections closed as soon as they were accepted because `max_connections` were served.
    public var refused: Int
    /// Connections closed because a request's headers took longer than `header_timeout`.
    public var headerTimeouts: Int
    /// Connections closed because a request body arrived slower than `min_body_rate`.
    public var slowBodies: Int
    /// Keep-alive connections closed after `idle_timeout` without a request.
    public var idleTimeouts: Int
    /// Connections answered 431 and closed because a request's headers exceeded `max_header_bytes`.
    public var oversizedHeaders: Int

    public init(open: Int = 0, refused: Int = 0, headerTimeouts: Int = 0, slowBodies: Int = 0, idleTimeouts: Int = 0, oversizedHeaders: Int = 0) {
        self.open = open
        self.refused = refused
        self.headerTimeouts = headerTimeouts
        self.slowBodies = slowBodies
        self.idleTimeouts = idleTimeouts
        self.oversizedHeaders = oversizedHeaders
    }

    enum CodingKeys: String, CodingKey {
        case open, refused
        case headerTimeouts = "header_timeouts"
        case slowBodies = "slow_bodies"
        case idleTimeouts = "idle_timeouts"
        case oversizedHeaders = "oversized_headers"
    }
}
