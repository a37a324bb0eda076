import Foundation
import OutpostConfig

/// Everything the dashboard at `/` shows, computed from storage (pure, so tests can check it
/// without HTML).
struct DashboardModel: Sendable {
    /// An agent is "silent" after this many missed heartbeats.
    static let silentAfterMissedHeartbeats = 3.0
    /// Agents send a heartbeat every minute.
    static let heartbeatInterval = 60.0
    /// Hours the chart covers.
    static let chartHours = 24

    struct AgentRow: Sendable {
        var id: String
        var region: String
        /// Last batch stored from the agent (any event).
        var lastSeen: String?
        var heartbeatAge: Double?
        var version: String?
        var backlog: Int?
        var backlogBytes: Int?
        var oldestPendingAge: Double?
        var deadLetters: Int?
        var intakePaused: String?
        var deliveryPaused: String?
        var hubFailure: String?
        /// Documents of this agent refused as id conflicts.
        var conflicts = 0
        var lastPickups: [(source: String, time: String?)] = []
        var silent: Bool { heartbeatAge.map { $0 > DashboardModel.silentAfterMissedHeartbeats * DashboardModel.heartbeatInterval } ?? true }
    }

    var generatedAt: Double
    var agents: [AgentRow]
    var totalEvents: Int
    var duplicatesDropped: Int
    /// Documents refused because their id was stored with another document.
    var idConflicts: Int
    var latencyP50: Double?
    var latencyP99: Double?
    var latencySamples: Int
    /// Hour (seconds since 1970 / 3600) → type → events, for the last ``chartHours`` hours.
    var hours: [Int64]
    var hourly: [String: [Int64: Int]]
    var rejections: HubStatistics.RejectedDocuments
    var deadLettersTotal: Int
    /// The canonical model: failed mappings and open exceptions by region, spend by region
    /// (nil where the storage keeps no canonical model).
    var mapping: MappingStatistics?
    var spendByRegion: [SpendTotal] = []
    var failedMappings: Int { mapping?.failures.reduce(0) { $0 + $1.count } ?? 0 }
    var openExceptions: Int { mapping?.exceptions.reduce(0) { $0 + $1.count } ?? 0 }

    var regions: [String] { Array(Set(agents.map(\.region))).sorted() }
    var silentAgents: [AgentRow] { agents.filter(\.silent) }

    init(statistics: HubStatistics, activity: RecentActivity, configuredAgents: [HubAgent], now: Double) {
        generatedAt = now
        var rows: [String: AgentRow] = [:]
        for agent in configuredAgents { rows[agent.id] = AgentRow(id: agent.id, region: agent.region) }
        for (id, seen) in statistics.agents {
            var row = rows[id] ?? AgentRow(id: id, region: seen.region)
            row.lastSeen = seen.lastSeen
            row.conflicts = seen.conflicts
            rows[id] = row
        }
        for beat in activity.heartbeats {
            var row = rows[beat.agentID] ?? AgentRow(id: beat.agentID, region: beat.region)
            row.heartbeatAge = max(0, now - beat.receivedAt)
            HeartbeatData(json: beat.json).apply(to: &row)
            rows[beat.agentID] = row
        }
        agents = rows.values.sorted { ($0.region, $0.id) < ($1.region, $1.id) }
        totalEvents = statistics.events
        duplicatesDropped = statistics.duplicatesDropped
        idConflicts = statistics.idConflicts
        let sorted = activity.latencies.sorted()
        latencySamples = sorted.count
        latencyP50 = Self.percentile(sorted, 0.50)
        latencyP99 = Self.percentile(sorted, 0.99)
        let current = Int64((now / 3600).rounded(.down))
        hours = Array((current - Int64(Self.chartHours) + 1)...current)
        var hourly: [String: [Int64: Int]] = [:]
        for count in activity.hourlyCounts where count.hour >= hours[0] {
            hourly[count.type, default: [:]][count.hour, default: 0] += count.events
        }
        self.hourly = hourly
        rejections = statistics.rejectedDocuments
        deadLettersTotal = agents.reduce(0) { $0 + ($1.deadLetters ?? 0) }
        mapping = statistics.mapping
    }

    /// Nearest-rank percentile of sorted samples.
    static func percentile(_ sorted: [Double], _ p: Double) -> Double? {
        guard !sorted.isEmpty else { return nil }
        let rank = Int((p * Double(sorted.count)).rounded(.up))
        return sorted[min(sorted.count - 1, max(0, rank - 1))]
    }

    /// Types in the chart, busiest first, heartbeats left out (they would drown the rest).
    var chartTypes: [String] {
        var totals: [(type: String, events: Int)] = []
        for (type, hours) in hourly where type != RecentActivity.heartbeatType {
            totals.append((type, hours.values.reduce(0, +)))
        }
        totals.sort { a, b in a.events != b.events ? a.events > b.events : a.type < b.type }
        return totals.map(\.type)
    }
}

/// The `data` of a stored heartbeat event (see the agent's `HeartbeatEvent`).
struct HeartbeatData {
    var object: [String: Any]

    init(json: Data) {
        let event = (try? JSONSerialization.jsonObject(with: json)) as? [String: Any]
        object = event?["data"] as? [String: Any] ?? [:]
    }

    func apply(to row: inout DashboardModel.AgentRow) {
        row.version = object["version"] as? String
        row.backlog = (object["outbox_depth"] as? NSNumber)?.intValue
        row.backlogBytes = (object["outbox_bytes"] as? NSNumber)?.intValue
        row.oldestPendingAge = (object["oldest_pending_age_seconds"] as? NSNumber)?.doubleValue
        row.deadLetters = (object["dead_letters"] as? NSNumber)?.intValue
        row.intakePaused = object["intake_paused_reason"] as? String
        row.deliveryPaused = object["delivery_paused"] as? String
        row.hubFailure = object["hub_failure"] as? String
        row.lastPickups = ((object["sources"] as? [[String: Any]]) ?? []).compactMap { source in
            (source["name"] as? String).map { ($0, source["last_pickup"] as? String) }
        }
    }
}
