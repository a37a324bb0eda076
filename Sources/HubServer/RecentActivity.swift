import Foundation

/// What the dashboard reads from storage besides ``HubStatistics``: each agent's latest
/// heartbeat, event counts per type and hour, and delivery latencies.
public struct RecentActivity: Sendable, Equatable {
    /// The latest `outpost.agent.heartbeat` of each agent that sent one.
    public var heartbeats: [StoredHeartbeat]
    /// Events stored per type and hour (hour = seconds since 1970 / 3600, rounded down).
    public var hourlyCounts: [HourlyCount]
    /// Seconds from pickup (the event's `time`) to storage at the hub, for recent events
    /// other than heartbeats.
    public var latencies: [Double]

    public init(heartbeats: [StoredHeartbeat] = [], hourlyCounts: [HourlyCount] = [], latencies: [Double] = []) {
        self.heartbeats = heartbeats
        self.hourlyCounts = hourlyCounts
        self.latencies = latencies
    }

    /// The most recent heartbeat of one agent, as stored.
    public struct StoredHeartbeat: Sendable, Equatable {
        public var agentID: String
        public var region: String
        /// When the hub stored it, seconds since 1970.
        public var receivedAt: Double
        /// The event's JSON as received.
        public var json: Data

        public init(agentID: String, region: String, receivedAt: Double, json: Data) {
            self.agentID = agentID
            self.region = region
            self.receivedAt = receivedAt
            self.json = json
        }
    }

    /// Events of one type stored in one hour.
    public struct HourlyCount: Sendable, Equatable {
        public var type: String
        public var hour: Int64
        public var events: Int

        public init(type: String, hour: Int64, events: Int) {
            self.type = type
            self.hour = hour
            self.events = events
        }
    }

    /// The type of the agents' heartbeat events.
    public static let heartbeatType = "outpost.agent.heartbeat"
    /// Most latency samples read for one dashboard.
    public static let latencySampleLimit = 10_000
}
