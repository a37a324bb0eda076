import EventModel
import Foundation
import Logging
import NIOCore
import OutpostConfig
import PostgresNIO

/// `HubStorage` in a PostgreSQL database that any number of hub replicas share.
///
/// - Ids are unique across agents and replicas through `event_id` (id → sequence, digest):
///   two replicas storing the same new id race on its primary key, and the loser sees the
///   winner's row once it commits, so an id is stored once whichever replica an agent reaches.
/// - Events live in `event`, partitioned by month of arrival (`received_at`); retention drops
///   whole partitions (`maintain()`), never deletes rows. `event_id` stays as the dedupe registry.
/// - Arrival order is (writing transaction id, sequence): concurrent writers commit out of
///   sequence order, so a reader pages by that pair and sees only rows of transactions older
///   than every transaction still running (`pg_snapshot_xmin`). Paging then never skips an
///   event that commits later.
/// - Counters live in small per-agent tables (`agent_activity`, `agent_type_count`,
///   `hourly_count`), so statistics and the dashboard never count events, and concurrent agents
///   never wait on each other's counter rows.
/// - A batch is stored in one transaction; `COMMIT` returns once the server made it durable
///   (`synchronous_commit = on`; `checkDurability()` refuses a server that would not).
public final class PostgresHubStorage: HubStorage {
    let client: PostgresClient
    private let logger: Logger
    private let replica: String
    private let settings: PostgresStorage

    /// A storage on the database `settings` names; nothing is contacted until `run()` runs
    /// and `prepare()` is called.
    /// - Throws: `PostgresStorageError` when the URL, password file or CA file cannot be used.
    public init(settings: PostgresStorage, logger: Logger) throws {
        let target = try PostgresTarget(settings: settings)
        client = PostgresClient(configuration: target.clientConfiguration, backgroundLogger: logger)
        self.logger = logger
        self.settings = settings
        replica = "\(ProcessInfo.processInfo.hostName):\(getpid())"
    }

    /// Runs the connection pool until the task is cancelled (the hub's service group does).
    public func run() async {
        await client.run()
    }

    /// Checks durability settings, applies migrations and creates the partitions ahead.
    /// Call once `run()` is running.
    /// - Throws: `PostgresStorageError` when the server cannot be reached or used safely.
    public func prepare() async throws {
        try await checkDurability()
        try await PostgresSchema.migrate(client, logger: logger)
        try await maintain()
    }

    /// Refuses a server that acknowledges commits it has not made durable, unless the
    /// configuration allows it (`allow_unsafe_durability: true`).
    func checkDurability() async throws {
        var problems: [String] = []
        for (setting, unsafe) in [("fsync", ["off"]), ("synchronous_commit", ["off"])] {
            let value = try await show(setting)
            if unsafe.contains(value) { problems.append("\(setting) = \(value)") }
        }
        guard !problems.isEmpty else { return }
        if settings.allowUnsafeDurability {
            logger.warning("hub.storage.unsafe_durability", metadata: ["hub.settings": "\(problems.joined(separator: ", "))"])
            return
        }
        throw PostgresStorageError(
            "the PostgreSQL server has \(problems.joined(separator: " and ")): a commit it acknowledges can be lost in a "
                + "crash, and the hub would have told agents their batches were stored; set fsync = on and "
                + "synchronous_commit = on on the server, or (knowingly) `allow_unsafe_durability: true` under storage")
    }

    private func show(_ setting: String) async throws -> String {
        let rows = try await client.query(PostgresQuery(unsafeSQL: "SHOW \(setting)"), logger: logger)
        for try await value in rows.decode(String.self) { return value }
        throw PostgresStorageError("SHOW \(setting) returned nothing")
    }

    /// Creates this month's and the next two months' partitions, and drops those wholly older
    /// than the retention. Runs under an advisory lock, so replicas take turns.
    public func maintain(now: Date = Date()) async throws {
        try await client.withConnection { connection in
            let locked = try await connection.query("SELECT pg_try_advisory_lock(\(PostgresSchema.maintenanceLock))", logger: logger)
            var acquired = false
            for try await value in locked.decode(Bool.self) { acquired = value }
            guard acquired else { return }
            do {
                try await PostgresSchema.createPartitions(connection, around: now, logger: logger)
                if let days = settings.retentionDays {
                    try await PostgresSchema.dropPartitions(connection, olderThan: now.addingTimeInterval(-Double(days) * 86_400), logger: logger)
                }
            } catch {
                _ = try? await connection.query("SELECT pg_advisory_unlock(\(PostgresSchema.maintenanceLock))", logger: logger)
                throw error
            }
            _ = try await connection.query("SELECT pg_advisory_unlock(\(PostgresSchema.maintenanceLock))", logger: logger)
        }
    }

    // MARK: writing

    public func store(_ batch: IngestBatch) async throws -> StoreOutcome {
        let logger = logger
        return try await bounded {
            try await self.client.withTransaction(logger: logger) { connection in
                try await connection.query(PostgresStatements.beginWriting, logger: logger)
                return try await Self.store(batch, on: connection, logger: logger)
            }
        }
    }

    /// Runs `operation`, answering `HubStorageError` instead of waiting for ever for a server
    /// that is gone: after the statement timeout and two seconds more, it is abandoned
    /// (cancelled; a transaction it began is rolled back by the server).
    private func bounded<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        let limit = Duration.milliseconds(Int64(settings.statementTimeout * 1000) + 2000)
        do {
            return try await withThrowingTaskGroup(of: T.self) { group in
                group.addTask { try await operation() }
                group.addTask {
                    try await Task.sleep(for: limit)
                    throw HubStorageError.unavailable("PostgreSQL did not answer within \(limit); retry later")
                }
                defer { group.cancelAll() }
                guard let first = try await group.next() else { throw HubStorageError.unavailable("no answer") }
                return first
            }
        } catch {
            throw Self.storageError(error)
        }
    }

    private static func store(_ batch: IngestBatch, on connection: PostgresConnection, logger: Logger) async throws -> StoreOutcome {
        // An id twice in the batch: the first is the one to store, the others compare with it.
        var unique: [IncomingEvent] = []
        var firstByID: [String: Int] = [:]
        var repeats: [(event: IncomingEvent, first: Int)] = []
        unique.reserveCapacity(batch.events.count)
        for event in batch.events {
            if let first = firstByID[event.id] {
                repeats.append((event, first))
            } else {
                firstByID[event.id] = unique.count
                unique.append(event)
            }
        }
        var outcome = StoreOutcome(accepted: 0, duplicates: 0)
        var stored: Set<String> = []
        if !unique.isEmpty {
            let rows = try await connection.query(PostgresStatements.insertBatch(unique, of: batch), logger: logger)
            var heartbeats: [IncomingEvent] = []
            for try await (id, type) in rows.decode((String, String).self) {
                stored.insert(id)
                if type == RecentActivity.heartbeatType, let index = firstByID[id] { heartbeats.append(unique[index]) }
            }
            // After the rows are read: the connection takes one statement at a time.
            for heartbeat in heartbeats {
                try await connection.query(PostgresStatements.recordHeartbeat(heartbeat, of: batch), logger: logger)
            }
        }
        outcome.accepted = stored.count
        // Ids stored before (or by a replica meanwhile): same document or a conflict.
        let known = unique.filter { !stored.contains($0.id) }
        var existing: [String: (agentID: String, digest: DataDigest)] = [:]
        if !known.isEmpty {
            var binds = PostgresBindings(capacity: 1)
            binds.append(known.map(\.id))
            let rows = try await connection.query(PostgresQuery(unsafeSQL: PostgresStatements.knownIDs, binds: binds), logger: logger)
            for try await (id, agentID, digest) in rows.decode((String, String, ByteBuffer).self) {
                existing[id] = (agentID, DataDigest(bytes: Array(digest.readableBytesView)))
            }
        }
        var conflicting: [IncomingEvent] = []
        func compare(_ event: IncomingEvent, with stored: (agentID: String, digest: DataDigest)) {
            if stored.digest == event.dataDigest {
                outcome.duplicates += 1
            } else {
                outcome.conflicts.append(IDConflict(
                    id: event.id, agentID: batch.agentID, region: batch.region, receivedAt: batch.receivedAt.rfc3339,
                    storedDigest: stored.digest.hex, receivedDigest: event.dataDigest.hex, storedAgentID: stored.agentID))
                conflicting.append(event)
            }
        }
        for event in known {
            guard let stored = existing[event.id] else {
                throw HubStorageError.unavailable("event \(event.id) was refused as stored but is not registered")
            }
            compare(event, with: stored)
        }
        for (event, first) in repeats {
            let original = unique[first]
            compare(event, with: existing[original.id] ?? (batch.agentID, original.dataDigest))
        }
        if !conflicting.isEmpty {
            try await connection.query(PostgresStatements.recordConflicts(outcome.conflicts, events: conflicting, of: batch), logger: logger)
        }
        try await connection.query(
            """
            INSERT INTO agent_activity (agentid, region, events, duplicates, conflicts, last_seen)
            VALUES (\(batch.agentID), \(batch.region), \(Int64(outcome.accepted)), \(Int64(outcome.duplicates)),
                    \(Int64(outcome.conflicts.count)), \(batch.receivedAt))
            ON CONFLICT (agentid) DO UPDATE SET region = excluded.region,
                events = agent_activity.events + excluded.events,
                duplicates = agent_activity.duplicates + excluded.duplicates,
                conflicts = agent_activity.conflicts + excluded.conflicts,
                last_seen = GREATEST(agent_activity.last_seen, excluded.last_seen)
            """, logger: logger)
        return outcome
    }

    public func checkWritable() async throws {
        let (client, replica, logger) = (client, replica, logger)
        _ = try await bounded {
            try await client.query(
                """
                INSERT INTO health_probe (replica, checked_at) VALUES (\(replica), now())
                ON CONFLICT (replica) DO UPDATE SET checked_at = excluded.checked_at
                """, logger: logger)
            return true
        }
    }

    /// PostgreSQL's failures as `HubStorageError` (the hub answers 503 and the agent retries).
    public static func storageError(_ error: any Error) -> any Error {
        if error is HubStorageError { return error }
        if let transaction = error as? PostgresTransactionError {
            return storageError(transaction.closureError ?? transaction.commitError ?? transaction.beginError ?? error)
        }
        if let error = error as? PSQLError {
            if let state = error.serverInfo?[.sqlState] {
                // 40001 serialization failure, 40P01 deadlock, 55P03 lock not available, 57014 timeout
                if ["40001", "40P01", "55P03", "57014"].contains(state) { return HubStorageError.busy }
                return HubStorageError.unavailable("PostgreSQL error \(state): \(error.serverInfo?[.message] ?? "")")
            }
            return HubStorageError.unavailable("PostgreSQL: \(error.code)")
        }
        return HubStorageError.unavailable("\(error)")
    }

    // MARK: reading

    public func events(matching query: EventQuery) async throws -> EventPage {
        var horizon: Int64 = 0
        for try await value in try await client.query(PostgresStatements.horizon, logger: logger).decode(Int64.self) {
            horizon = value
        }
        let rows = try await client.query(PostgresStatements.page(query, horizon: horizon), logger: logger)
        var page: [(cursor: EventCursor, json: Data)] = []
        for try await (txid, seq, json) in rows.decode((Int64, Int64, ByteBuffer).self) {
            page.append((EventCursor(epoch: txid, sequence: seq), Data(json.readableBytesView)))
        }
        let kept = page.prefix(query.limit)
        return EventPage(events: kept.map(\.json), next: page.count > query.limit ? kept.last?.cursor : nil)
    }

    public func event(id: String) async throws -> Data? {
        var binds = PostgresBindings(capacity: 1)
        binds.append(id)
        let rows = try await client.query(PostgresQuery(unsafeSQL: PostgresStatements.eventByID, binds: binds), logger: logger)
        for try await json in rows.decode(ByteBuffer.self) { return Data(json.readableBytesView) }
        return nil
    }

    public func conflicts(after: EventCursor?, limit: Int) async throws -> ConflictPage {
        let rows = try await client.query(
            """
            SELECT seq, id, agentid, region, received_at, stored_sha256, received_sha256, stored_agentid
            FROM id_conflict WHERE seq > \(after?.sequence ?? 0) ORDER BY seq LIMIT \(limit + 1)
            """, logger: logger)
        var page: [(Int64, IDConflict)] = []
        for try await (seq, id, agentID, region, receivedAt, stored, received, storedAgent) in rows.decode(
            (Int64, String, String, String, Date, ByteBuffer, ByteBuffer, String).self)
        {
            page.append((seq, IDConflict(
                id: id, agentID: agentID, region: region, receivedAt: receivedAt.rfc3339,
                storedDigest: Hex.encode(Array(stored.readableBytesView)),
                receivedDigest: Hex.encode(Array(received.readableBytesView)), storedAgentID: storedAgent)))
        }
        let kept = page.prefix(limit)
        return ConflictPage(conflicts: kept.map(\.1), next: page.count > limit ? kept.last.map { EventCursor(sequence: $0.0) } : nil)
    }

    public func statistics(recentRejections: Int) async throws -> HubStatistics {
        var statistics = HubStatistics()
        let counts = try await client.query("SELECT type, region, events FROM agent_type_count", logger: logger)
        for try await (type, region, events) in counts.decode((String, String, Int64).self) {
            statistics.types[type, default: 0] += Int(events)
            statistics.regions[region, default: 0] += Int(events)
        }
        let agents = try await client.query(
            "SELECT agentid, region, events, duplicates, conflicts, last_seen FROM agent_activity", logger: logger)
        for try await (agentID, region, events, duplicates, conflicts, lastSeen) in agents.decode(
            (String, String, Int64, Int64, Int64, Date).self)
        {
            statistics.agents[agentID] = .init(
                region: region, events: Int(events), duplicates: Int(duplicates), conflicts: Int(conflicts), lastSeen: lastSeen.rfc3339)
        }
        statistics.events = statistics.types.values.reduce(0, +)
        statistics.duplicatesDropped = statistics.agents.values.reduce(0) { $0 + $1.duplicates }
        statistics.idConflicts = statistics.agents.values.reduce(0) { $0 + $1.conflicts }
        var binds = PostgresBindings(capacity: 2)
        binds.append(IncomingEvent.documentRejectedType)
        binds.append(Int64(recentRejections))
        let rejected = try await client.query(PostgresQuery(unsafeSQL: PostgresStatements.newestOfType, binds: binds), logger: logger)
        var recent: [RejectedDocument] = []
        for try await (id, agentID, time, reason, detail, filename) in rejected.decode(
            (String, String, String?, String?, String?, String?).self)
        {
            recent.append(RejectedDocument(eventID: id, agentID: agentID, filename: filename, reason: reason, detail: detail, time: time))
        }
        statistics.rejectedDocuments = .init(count: statistics.types[IncomingEvent.documentRejectedType] ?? 0, recent: recent)
        return statistics
    }

    public func recentActivity(since: Double) async throws -> RecentActivity {
        var activity = RecentActivity()
        let beats = try await client.query(
            "SELECT agentid, region, received_at, json FROM agent_heartbeat ORDER BY agentid", logger: logger)
        for try await (agentID, region, receivedAt, json) in beats.decode((String, String, Date, ByteBuffer).self) {
            activity.heartbeats.append(.init(
                agentID: agentID, region: region, receivedAt: receivedAt.timeIntervalSince1970, json: Data(json.readableBytesView)))
        }
        let hours = try await client.query(
            "SELECT type, hour, sum(events)::bigint FROM hourly_count WHERE hour >= \(Int64((since / 3600).rounded(.down))) GROUP BY type, hour",
            logger: logger)
        for try await (type, hour, events) in hours.decode((String, Int64, Int64).self) {
            activity.hourlyCounts.append(.init(type: type, hour: hour, events: Int(events)))
        }
        var binds = PostgresBindings(capacity: 3)
        binds.append(Date(timeIntervalSince1970: since))
        binds.append(RecentActivity.heartbeatType)
        binds.append(Int64(RecentActivity.latencySampleLimit))
        let samples = try await client.query(PostgresQuery(unsafeSQL: PostgresStatements.latencySamples, binds: binds), logger: logger)
        for try await (receivedAt, time) in samples.decode((Date, String).self) {
            if let picked = Date(rfc3339: time) {
                activity.latencies.append(max(0, receivedAt.timeIntervalSince1970 - picked.timeIntervalSince1970))
            }
        }
        return activity
    }
}

/// Why the PostgreSQL storage cannot be opened or used as configured.
public struct PostgresStorageError: Error, CustomStringConvertible, Sendable {
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}

extension PostgresHubStorage {
    /// Each statement that reads events on a request, with example arguments (SQL literals),
    /// to prepare and EXPLAIN (docs/OPERATIONS.md shows the plans).
    public static func readStatementsForExplain() -> [(name: String, sql: String, arguments: String)] {
        PostgresStatements.readsForExplain
    }

    /// `url` with its password, if any, replaced (for logs and messages).
    public static func redactedURL(_ url: String) -> String {
        PostgresTarget.redacted(url)
    }
}
