import Foundation

/// An event that arrived under an id the hub already holds with another document: an agent
/// posting another agent's id, or a DOCNUM reused after an SAP system refresh. The hub keeps the
/// first document as the event and this one in its conflicts, and tells the agent (which
/// dead-letters it with reason `id_conflict`).
public struct IDConflict: Sendable, Equatable, Codable {
    /// The event id both documents claim.
    public var id: String
    /// Who sent the conflicting document.
    public var agentID: String
    public var region: String
    /// When the hub received it (RFC 3339).
    public var receivedAt: String
    /// The digest of the document stored under the id, and of the one refused.
    public var storedDigest: String
    public var receivedDigest: String
    /// The agent whose document is stored under the id.
    public var storedAgentID: String

    public init(
        id: String, agentID: String, region: String, receivedAt: String, storedDigest: String, receivedDigest: String,
        storedAgentID: String
    ) {
        self.id = id
        self.agentID = agentID
        self.region = region
        self.receivedAt = receivedAt
        self.storedDigest = storedDigest
        self.receivedDigest = receivedDigest
        self.storedAgentID = storedAgentID
    }

    enum CodingKeys: String, CodingKey {
        case id, region
        case agentID = "agentid"
        case receivedAt = "received_at"
        case storedDigest = "stored_sha256"
        case receivedDigest = "received_sha256"
        case storedAgentID = "stored_agentid"
    }

    /// The reason the hub answers for the event (the agent dead-letters it with it).
    public var reason: String {
        "id_conflict: the hub already holds another document under this id (stored data sha256 \(storedDigest) from agent "
            + "\(storedAgentID), this one \(receivedDigest)); it is kept in the hub's conflicts, not stored as the event"
    }
}
