import Foundation

/// `HubStorage` in memory, with the same semantics as `SQLiteHubStorage`; for tests and
/// throwaway hubs. `failWrites(with:)` simulates a storage that cannot write.
public actor InMemoryHubStorage: HubStorage {
    private struct Stored {
        var sequence: Int64
        var event: IncomingEvent
        var receivedAt: Double
    }

    private var stored: [Stored] = []
    private var sequenceByID: [String: Int64] = [:]
    private var agents: [String: HubStatistics.AgentActivity] = [:]
    private var writeFailure: HubStorageError?
    private var heartbeats: [String: RecentActivity.StoredHeartbeat] = [:]
    private var recordedConflicts: [IDConflict] = []
    /// (id, received digest) of each recorded conflict: a conflict re-sent is recorded once.
    private var conflictKeys: Set<[UInt8]> = []

    public init() {}

    /// Makes every later write (store and health check) throw `error`, or work again with `nil`.
    public func failWrites(with error: HubStorageError?) {
        writeFailure = error
    }

    public func store(_ batch: IngestBatch) throws -> StoreOutcome {
        if let writeFailure { throw writeFailure }
        var outcome = StoreOutcome(accepted: 0, duplicates: 0)
        let receivedAt = batch.receivedAt.timeIntervalSince1970
        for event in batch.events {
            if let sequence = sequenceByID[event.id] {
                let existing = stored[Int(sequence - 1)].event
                if existing.dataDigest == event.dataDigest {
                    outcome.duplicates += 1
                } else {
                    let conflict = IDConflict(
                        id: event.id, agentID: batch.agentID, region: batch.region, receivedAt: batch.receivedAt.rfc3339,
                        storedDigest: existing.dataDigest.hex, receivedDigest: event.dataDigest.hex, storedAgentID: existing.agentID)
                    if conflictKeys.insert(Array(event.id.utf8) + event.dataDigest.bytes).inserted {
                        recordedConflicts.append(conflict)
                    }
                    outcome.conflicts.append(conflict)
                }
                continue
            }
            let sequence = Int64(stored.count + 1)
            stored.append(Stored(sequence: sequence, event: event, receivedAt: receivedAt))
            if event.type == RecentActivity.heartbeatType {
                heartbeats[event.agentID] = .init(
                    agentID: event.agentID, region: event.region, receivedAt: receivedAt, json: event.json)
            }
            sequenceByID[event.id] = sequence
            outcome.accepted += 1
        }
        var activity = agents[batch.agentID] ?? .init(region: batch.region)
        activity.region = batch.region
        activity.events += outcome.accepted
        activity.duplicates += outcome.duplicates
        activity.conflicts += outcome.conflicts.count
        activity.lastSeen = batch.receivedAt.rfc3339
        agents[batch.agentID] = activity
        return outcome
    }

    public func conflicts(after: EventCursor?, limit: Int) -> ConflictPage {
        let start = Int(min(max(0, after?.sequence ?? 0), Int64(recordedConflicts.count)))
        let page = Array(recordedConflicts[start...].prefix(limit))
        let more = start + page.count < recordedConflicts.count
        return ConflictPage(conflicts: page, next: more ? EventCursor(sequence: Int64(start + page.count)) : nil)
    }

    public func events(matching query: EventQuery) -> EventPage {
        let after = query.after?.sequence ?? 0
        let start = Int(min(max(0, after), Int64(stored.count)))  // sequence n sits at index n-1
        var page: [Stored] = []
        var more = false
        for candidate in stored[start...] where Self.matches(candidate.event, query) {
            if page.count == query.limit {
                more = true
                break
            }
            page.append(candidate)
        }
        let next = more ? page.last.map { EventCursor(sequence: $0.sequence) } : nil
        return EventPage(events: page.map(\.event.json), next: next)
    }

    public func event(id: String) -> Data? {
        sequenceByID[id].map { stored[Int($0 - 1)].event.json }
    }

    public func statistics(recentRejections: Int) -> HubStatistics {
        var statistics = HubStatistics(
            events: stored.count, duplicatesDropped: agents.values.reduce(0) { $0 + $1.duplicates },
            idConflicts: agents.values.reduce(0) { $0 + $1.conflicts }, agents: agents)
        for entry in stored {
            statistics.regions[entry.event.region, default: 0] += 1
            statistics.types[entry.event.type, default: 0] += 1
        }
        let rejected = stored.reversed().lazy
            .filter { $0.event.type == IncomingEvent.documentRejectedType }
            .compactMap(\.event.rejectedDocument)
        statistics.rejectedDocuments = .init(
            count: statistics.types[IncomingEvent.documentRejectedType] ?? 0, recent: Array(rejected.prefix(recentRejections)))
        return statistics
    }

    public func recentActivity(since: Double) -> RecentActivity {
        var activity = RecentActivity(heartbeats: heartbeats.values.sorted { $0.agentID < $1.agentID })
        var counts: [String: [Int64: Int]] = [:]
        for entry in stored where entry.receivedAt >= since {
            counts[entry.event.type, default: [:]][Int64((entry.receivedAt / 3600).rounded(.down)), default: 0] += 1
            if entry.event.type != RecentActivity.heartbeatType,
               activity.latencies.count < RecentActivity.latencySampleLimit,
               let picked = entry.event.time.flatMap(Date.init(rfc3339:)) {
                activity.latencies.append(max(0, entry.receivedAt - picked.timeIntervalSince1970))
            }
        }
        activity.hourlyCounts = counts.flatMap { type, hours in
            hours.map { RecentActivity.HourlyCount(type: type, hour: $0.key, events: $0.value) }
        }
        return activity
    }

    public func checkWritable() throws {
        if let writeFailure { throw writeFailure }
    }

    private static func matches(_ event: IncomingEvent, _ query: EventQuery) -> Bool {
        (query.type.map { $0 == event.type } ?? true)
            && (query.source.map { $0 == event.source } ?? true)
            && (query.region.map { $0 == event.region } ?? true)
            && (query.subject.map { $0 == event.subject } ?? true)
    }
}
