import Foundation

/// One event to store: its indexed attributes and its JSON exactly as received.
public struct IncomingEvent: Sendable, Equatable {
    public var id: String
    public var type: String
    public var source: String
    public var region: String
    public var agentID: String
    public var subject: String?
    public var time: String?
    /// Set for `outpost.document.rejected` events.
    public var rejectedDocument: RejectedDocument?
    /// The event's JSON object, byte for byte as received.
    public var json: Data

    public init(
        id: String, type: String, source: String, region: String, agentID: String,
        subject: String? = nil, time: String? = nil, rejectedDocument: RejectedDocument? = nil, json: Data
    ) {
        self.id = id
        self.type = type
        self.source = source
        self.region = region
        self.agentID = agentID
        self.subject = subject
        self.time = time
        self.rejectedDocument = rejectedDocument
        self.json = json
    }

    /// The CloudEvents type of the event an agent sends for a quarantined input.
    public static let documentRejectedType = "outpost.document.rejected"
}
