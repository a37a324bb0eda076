/// Filters and position for reading stored events (`GET /v1/events`).
public struct EventQuery: Sendable, Equatable {
    public var type: String?
    public var source: String?
    public var region: String?
    public var subject: String?
    /// Read events that arrived after this position; `nil` reads from the start.
    public var after: EventCursor?
    /// Most events returned (1…`maximumLimit`).
    public var limit: Int

    public static let defaultLimit = 100
    public static let maximumLimit = 1000

    public init(
        type: String? = nil, source: String? = nil, region: String? = nil, subject: String? = nil,
        after: EventCursor? = nil, limit: Int = EventQuery.defaultLimit
    ) {
        self.type = type
        self.source = source
        self.region = region
        self.subject = subject
        self.after = after
        self.limit = min(max(1, limit), Self.maximumLimit)
    }
}
