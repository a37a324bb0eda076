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
    /// The SHA-256 of the event's document (`data`), which tells a re-send from a conflict.
    public var dataDigest: DataDigest
    /// The event's JSON object, byte for byte as received.
    public var json: Data

    public init(
        id: String, type: String, source: String, region: String, agentID: String,
        subject: String? = nil, time: String? = nil, rejectedDocument: RejectedDocument? = nil,
        dataDigest: DataDigest? = nil, json: Data
    ) {
        self.id = id
        self.type = type
        self.source = source
        self.region = region
        self.agentID = agentID
        self.subject = subject
        self.time = time
        self.rejectedDocument = rejectedDocument
        // Without a digest given, the whole JSON stands for the document.
        self.dataDigest = dataDigest ?? json.withUnsafeBytes { DataDigest(of: .json(0..<$0.count), in: $0) }
        self.json = json
    }

    /// The CloudEvents type of the event an agent sends for a quarantined input.
    public static let documentRejectedType = "outpost.document.rejected"
}
