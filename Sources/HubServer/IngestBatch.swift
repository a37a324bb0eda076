import Foundation

/// A batch of validated events from one authenticated agent, ready to store.
public struct IngestBatch: Sendable {
    /// The agent whose token sent the batch (every event's `agentid`).
    public var agentID: String
    /// The agent's region (every event's `region`).
    public var region: String
    /// When the hub received the batch; recorded as the agent's last-seen time.
    public var receivedAt: Date
    public var events: [IncomingEvent]

    public init(agentID: String, region: String, receivedAt: Date, events: [IncomingEvent]) {
        self.agentID = agentID
        self.region = region
        self.receivedAt = receivedAt
        self.events = events
    }
}
