/// An input an agent quarantined, as told by its `outpost.document.rejected` event.
public struct RejectedDocument: Sendable, Equatable, Codable {
    /// The rejection event's id.
    public var eventID: String
    public var agentID: String
    public var filename: String?
    /// The stable rejection code (`malformed_xml`, `file_too_large`, …).
    public var reason: String?
    public var detail: String?
    /// The rejection event's `time` (when the agent picked the input up).
    public var time: String?

    public init(eventID: String, agentID: String, filename: String?, reason: String?, detail: String?, time: String?) {
        self.eventID = eventID
        self.agentID = agentID
        self.filename = filename
        self.reason = reason
        self.detail = detail
        self.time = time
    }

    enum CodingKeys: String, CodingKey {
        case eventID = "id"
        case agentID = "agentid"
        case filename, reason, detail, time
    }
}
