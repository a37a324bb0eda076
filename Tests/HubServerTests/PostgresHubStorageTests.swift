import Foundation
@testable import HubServer
import Logging
import OutpostConfig
import PostgresNIO
import Testing
import TestSupport

/// What only the PostgreSQL storage has: a shared database behind several replicas, durable
/// commits checked at start, partitions and retention, every read served by an index. (The
/// semantics it shares with the other storages run in `HubApplicationTests` on all three.)
@Suite(.serialized, .enabled(if: TestPostgres.shouldRun, "PostgreSQL cannot run here: \(TestPostgres.unavailableReason ?? "")"))
struct PostgresHubStorageTests {
    typealias F = HubFixtures

    static func batch(_ ids: [String], agent: HubAgent = F.emea, data: String = "<ORDERS05/>", at date: Date = Date()) -> IngestBatch {
        IngestBatch(
            agentID: agent.id, region: agent.region, receivedAt: date,
            events: ids.map { id in
                let json = F.event(id: id, agent: agent, data: data)
                return IncomingEvent(
                    id: id, type: "sap.idoc.ORDERS", source: "outpost://\(agent.id)/sap-outbound", region: agent.region,
                    agentID: agent.id, subject: "0001", time: "2026-11-26T10:15:00Z",
                    dataDigest: DataDigest(bytes: Array(repeating: UInt8(data.utf8.count & 0xFF), count: 32)), json: Data(json.utf8))
            })
    }

    static func allIDs(_ storage: some HubStorage, pageSize: Int = 97) async throws -> [String] {
        var ids: [String] = []
        var cursor: EventCursor?
        repeat {
            let page = try await storage.events(matching: EventQuery(after: cursor, limit: pageSize))
            for json in page.events {
                let object = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
                ids.append(try #require(object["id"] as? String))
            }
            cursor = page.next
        } while cursor != nil
        return ids
    }

    @Test func twoReplicasOnOneDatabaseStoreEachIDOnceAndPagingMissesNothing() async throws {
        let url = try await TestPostgres.shared().createDatabase()
        try await withPostgresStorage(url: url) { first in
            try await withPostgresStorage(url: url) { second in
                // Four writers (two per replica) with overlapping ids, and a reader paging all along.
                let writers = 4, batches = 25, perBatch = 40
                let expected = Set((0..<(batches * perBatch)).map { "idoc:PRD:100:\($0)" })
                async let written: [StoreOutcome] = withThrowingTaskGroup(of: [StoreOutcome].self) { group in
                    for writer in 0..<writers {
                        let storage = writer % 2 == 0 ? first : second
                        group.addTask {
                            var outcomes: [StoreOutcome] = []
                            for index in 0..<batches {
                                // Each writer sends every batch, in its own order: all ids are contended.
                                let batch = (index + writer * 7) % batches
                                let ids = (0..<perBatch).map { "idoc:PRD:100:\(batch * perBatch + $0)" }
                                outcomes.append(try await storage.store(Self.batch(ids)))
                            }
                            return outcomes
                        }
                    }
                    return try await group.reduce(into: []) { $0 += $1 }
                }
                // Paging while the writers commit: a cursor must never pass an event that commits
                // later. Ids before the cursor are final; the last page (no `next`) is read again.
                var before: [String] = []
                var tail: [String] = []
                var cursor: EventCursor?
                let deadline = Date().addingTimeInterval(120)
                while Date() < deadline, Set(before + tail) != expected {
                    let page = try await second.events(matching: EventQuery(after: cursor, limit: 50))
                    var ids: [String] = []
                    for json in page.events {
                        let object = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
                        ids.append(try #require(object["id"] as? String))
                    }
                    if let next = page.next {
                        before += ids
                        tail = []
                        cursor = next
                    } else {
                        tail = ids
                        try await Task.sleep(for: .milliseconds(20))
                    }
                }
                let seen = before + tail
                let outcomes = try await written
                #expect(outcomes.reduce(0) { $0 + $1.accepted } == expected.count)
                #expect(outcomes.reduce(0) { $0 + $1.duplicates } == (writers - 1) * expected.count)
                #expect(outcomes.allSatisfy { $0.conflicts.isEmpty })
                #expect(seen.count == expected.count, "each event seen once while paging")
                #expect(Set(seen) == expected)
                #expect(try await Self.allIDs(first).count == expected.count)
                let stats = try await first.statistics(recentRejections: 5)
                #expect(stats.events == expected.count)
                #expect(stats.duplicatesDropped == (writers - 1) * expected.count)
                #expect(stats.types == ["sap.idoc.ORDERS": expected.count])
            }
        }
    }

    @Test func aPageNeverPassesAWriterThatIsStillRunning() async throws {
        let url = try await TestPostgres.shared().createDatabase()
        try await withPostgresStorage(url: url) { storage in
            // A writer that took its transaction id first and has not committed yet, written by
            // hand the way the storage writes (writer lock first, then the registry and the event).
            let held = try await storage.client.withConnection { connection in
                try await connection.query("BEGIN", logger: F.logger)
                try await connection.query(PostgresStatements.beginWriting, logger: F.logger)
                try await connection.query(
                    """
                    WITH registered AS (
                        INSERT INTO event_id (id, seq, received_at, agentid, data_sha256)
                        VALUES ('held', nextval('event_seq'), now(), 'plant-emea-01', sha256('held'::bytea)) RETURNING seq)
                    INSERT INTO event (seq, id, type, source, region, agentid, received_at, data_sha256, json)
                    SELECT seq, 'held', 't', 's', 'emea', 'plant-emea-01', now(), sha256('held'::bytea), '{"id":"held"}'::bytea
                    FROM registered
                    """, logger: F.logger)
                // A later writer commits while the first is still running.
                #expect(try await storage.store(Self.batch(["after"])).accepted == 1)
                let whileHeld = try await Self.allIDs(storage)
                try await connection.query("COMMIT", logger: F.logger)
                return whileHeld
            }
            // Showing "after" now would move a reader's cursor past "held", which commits later.
            #expect(held.isEmpty, "a page showed \(held) while an older writer was running")
            #expect(try await Self.allIDs(storage) == ["held", "after"])
        }
    }

    @Test func aDatabaseANewerHubMigratedIsRefusedUnlessItsStepIsCompatible() async throws {
        let server = try await TestPostgres.shared()
        let url = try server.createDatabase("newer_" + UUID().uuidString.prefix(6).lowercased())
        let database = String(url.split(separator: "/").last!.split(separator: "?").first!)
        let stored = try await withPostgresStorage(url: url) { storage in try await storage.store(Self.batch(["newer:1"])) }
        #expect(stored.accepted == 1)
        _ = try server.psql(database, "INSERT INTO hub_migration (version, name) VALUES (9999, 'from-a-newer-hub')")
        let error = await #expect(throws: NewerSchemaError.self) {
            try await withPostgresStorage(url: url) { _ in }
        }
        #expect(error?.steps == ["9999 from-a-newer-hub"], "\(String(describing: error))")
        #expect(error?.description.contains("newer outpost-hub") == true, "\(String(describing: error))")
        _ = try server.psql(database, "UPDATE hub_migration SET name = 'compatible-an-index' WHERE version = 9999")
        let kept = try await withPostgresStorage(url: url) { storage in try await storage.event(id: "newer:1") }
        #expect(kept != nil, "what it held is still there")
    }

    @Test func aServerThatCanLoseCommitsIsRefusedUnlessAllowed() async throws {
        let server = try await TestPostgres.shared()
        let url = try server.createDatabase("unsafe_" + UUID().uuidString.prefix(6).lowercased())
        let database = String(url.split(separator: "/").last!.split(separator: "?").first!)
        try server.psql("postgres", "ALTER DATABASE \(database) SET synchronous_commit = off")
        let error = await #expect(throws: PostgresStorageError.self) {
            try await withPostgresStorage(url: url) { _ in }
        }
        #expect(error?.description.contains("synchronous_commit = off") == true)
        #expect(error?.description.contains("allow_unsafe_durability") == true)
        let stored = try await withPostgresStorage(url: url, configure: { $0.allowUnsafeDurability = true }) { storage in
            try await storage.store(Self.batch(["u:1"]))
        }
        #expect(stored.accepted == 1)
    }

    @Test func eventsGoToMonthPartitionsAndRetentionDropsWholeMonths() async throws {
        let server = try await TestPostgres.shared()
        let url = try server.createDatabase()
        let database = String(url.split(separator: "/").last!.split(separator: "?").first!)
        let old = try #require(ISO8601DateFormatter().date(from: "2025-01-15T12:00:00Z"))
        try await withPostgresStorage(url: url, configure: { $0.retentionDays = 90 }) { storage in
            try await storage.maintain(now: old)
            #expect(try await storage.store(Self.batch(["old:1", "old:2"], at: old)).accepted == 2)
            #expect(try await storage.store(Self.batch(["new:1"])).accepted == 1)
            #expect(try server.psql(database, "SELECT count(*) FROM event_y2025m01") == "2")
            #expect(try server.psql(database, "SELECT count(*) FROM event_default") == "0")
            try await storage.maintain()
            let partitions = try server.psql(
                database, "SELECT string_agg(c.relname, ',' ORDER BY c.relname) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'event'::regclass")
            #expect(!partitions.contains("event_y2025m01"))
            #expect(partitions.contains("event_default"))
            #expect(try await Self.allIDs(storage) == ["new:1"])
            // The registry outlives retention: a dropped month's document sent again is still a duplicate.
            #expect(try await storage.store(Self.batch(["old:1"])).duplicates == 1)
            #expect(try await storage.event(id: "old:1") == nil)
        }
    }

    @Test func everyReadTheAPIAndDashboardMakeIsServedByAnIndex() async throws {
        let server = try await TestPostgres.shared()
        let url = try server.createDatabase()
        let database = String(url.split(separator: "/").last!.split(separator: "?").first!)
        try await withPostgresStorage(url: url) { storage in
            _ = try await storage.store(Self.batch(["seed:1"]))
            // Enough rows, spread over a day and several types, for the planner's choice to mean something.
            try server.psql(database, """
                INSERT INTO event_id (id, seq, received_at, agentid, data_sha256)
                SELECT 'bulk:' || g, nextval('event_seq'), now() - (g % 86400) * interval '1 second', 'plant-emea-01', sha256(g::text::bytea)
                FROM generate_series(1, 60000) g;
                INSERT INTO event (seq, id, type, source, region, agentid, subject, time, received_at, data_sha256, json)
                SELECT r.seq, r.id, CASE WHEN r.seq % 50 = 0 THEN 'outpost.document.rejected' ELSE 'sap.idoc.ORDERS' || (r.seq % 7) END,
                       'outpost://plant-emea-01/sap', 'emea', 'plant-emea-01', (r.seq % 1000)::text, '2026-11-26T10:15:00Z',
                       r.received_at, r.data_sha256, convert_to('{"id":"' || r.id || '"}', 'UTF8')
                FROM event_id r WHERE r.id LIKE 'bulk:%';
                ANALYZE;
                """)
            for (index, read) in PostgresHubStorage.readStatementsForExplain().enumerated() {
                let plan = try server.psql(database, "PREPARE read\(index) AS \(read.sql); EXPLAIN EXECUTE read\(index)(\(read.arguments))")
                let name = read.name
                // A sequential scan of an empty partition (next months', the default) reads nothing;
                // any partition holding events, and the registry, must be reached through an index.
                let scanned = plan.split(separator: "\n").compactMap { line -> String? in
                    guard let range = line.range(of: "Seq Scan on ") else { return nil }
                    return String(line[range.upperBound...].prefix { $0 != " " })
                }
                #expect(!scanned.isEmpty || plan.contains("Index"), "\(name): no plan?\n\(plan)")
                for table in scanned {
                    let rows = try server.psql(database, "SELECT count(*) FROM \(table)")
                    #expect(rows == "0", "\(name) scans \(table) (\(rows) rows) sequentially:\n\(plan)")
                }
            }
        }
    }

    @Test func aRestartedServerIsRetriedNotFatal() async throws {
        let server = try await TestPostgres.start()
        defer { server.destroy() }
        let url = try server.createDatabase()
        try await withPostgresStorage(url: url, configure: { $0.statementTimeout = 3 }) { storage in
            #expect(try await storage.store(Self.batch(["r:1"])).accepted == 1)
            try server.stop(immediate: true)
            await #expect(throws: HubStorageError.self) { try await storage.store(Self.batch(["r:2"])) }
            await #expect(throws: HubStorageError.self) { try await storage.checkWritable() }
            try await server.boot()
            var stored: StoreOutcome?
            for _ in 0..<150 where stored == nil {
                stored = try? await storage.store(Self.batch(["r:2"]))
                if stored == nil { try await Task.sleep(for: .milliseconds(200)) }
            }
            #expect(stored?.accepted == 1)
            #expect(try await Self.allIDs(storage) == ["r:1", "r:2"])
        }
    }
}
