import ListenerGuard

/// `GET /v1/stats`: what the hub has stored and who sent it, and what its listener refused.
public struct HubStatistics: Sendable, Equatable, Codable {
    /// Events stored.
    public var events: Int
    /// Events dropped because their id was already stored with the same document.
    public var duplicatesDropped: Int
    /// Events refused because their id was already stored with another document.
    public var idConflicts: Int
    /// Stored events per `region`.
    public var regions: [String: Int]
    /// Stored events per `type`.
    public var types: [String: Int]
    /// Per agent id.
    public var agents: [String: AgentActivity]
    public var rejectedDocuments: RejectedDocuments
    /// Canonical mapping: documents per kind, failed mappings and open exceptions (absent
    /// where the storage keeps no canonical model).
    public var mapping: MappingStatistics?
    /// The listener's connection counters since this hub process started (not stored: each
    /// replica counts its own); `nil` where no listener is involved (the storages' answer).
    public var connections: ListenerCounts?

    public init(
        events: Int = 0, duplicatesDropped: Int = 0, idConflicts: Int = 0, regions: [String: Int] = [:], types: [String: Int] = [:],
        agents: [String: AgentActivity] = [:], rejectedDocuments: RejectedDocuments = RejectedDocuments()
    ) {
        self.events = events
        self.duplicatesDropped = duplicatesDropped
        self.idConflicts = idConflicts
        self.regions = regions
        self.types = types
        self.agents = agents
        self.rejectedDocuments = rejectedDocuments
    }

    /// What one agent sent.
    public struct AgentActivity: Sendable, Equatable, Codable {
        public var region: String
        public var events: Int
        public var duplicates: Int
        /// Events it sent under an id stored with another document.
        public var conflicts: Int
        /// When the hub last stored a batch from the agent (RFC 3339), `nil` if never.
        public var lastSeen: String?

        public init(region: String, events: Int = 0, duplicates: Int = 0, conflicts: Int = 0, lastSeen: String? = nil) {
            self.region = region
            self.events = events
            self.duplicates = duplicates
            self.conflicts = conflicts
            self.lastSeen = lastSeen
        }

        enum CodingKeys: String, CodingKey {
            case region, events, duplicates, conflicts
            case lastSeen = "last_seen"
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(region, forKey: .region)
            try container.encode(events, forKey: .events)
            try container.encode(duplicates, forKey: .duplicates)
            try container.encode(conflicts, forKey: .conflicts)
            try container.encode(lastSeen, forKey: .lastSeen)  // null, not absent, for a silent agent
        }
    }

    /// Inputs the agents quarantined (`outpost.document.rejected` events).
    public struct RejectedDocuments: Sendable, Equatable, Codable {
        public var count: Int
        /// The most recent ones, newest first.
        public var recent: [RejectedDocument]

        public init(count: Int = 0, recent: [RejectedDocument] = []) {
            self.count = count
            self.recent = recent
        }
    }

    enum CodingKeys: String, CodingKey {
        case events, regions, types, agents, mapping, connections
        case duplicatesDropped = "duplicates_dropped"
        case idConflicts = "id_conflicts"
        case rejectedDocuments = "rejected_documents"
    }
}
