import Foundation
import NIOCore
import PostgresNIO

/// The PostgreSQL hub's statements that take a whole batch (as arrays, one round trip) or
/// are built from a query's filters.
enum PostgresStatements {
    /// Registers the batch's ids (each new one gets the next sequence number), stores the
    /// events whose ids were new and adds them to the per-agent counters, in one statement.
    /// Returns `(id, type)` of each event stored. `events` must hold each id once.
    static func insertBatch(_ events: [IncomingEvent], of batch: IngestBatch) -> PostgresQuery {
        var ids: [String] = [], types: [String] = [], sources: [String] = [], subjects: [String] = [], times: [String] = []
        var reasons: [String] = [], details: [String] = [], filenames: [String] = []
        var digests: [ByteBuffer] = [], documents: [Bytea] = []
        for event in events {
            ids.append(event.id)
            types.append(event.type)
            sources.append(event.source)
            // Arrays cannot hold NULL here; empty stands for absent (none of these may be empty).
            subjects.append(event.subject ?? "")
            times.append(event.time ?? "")
            reasons.append(event.rejectedDocument?.reason ?? "")
            details.append(event.rejectedDocument?.detail ?? "")
            filenames.append(event.rejectedDocument?.filename ?? "")
            digests.append(ByteBuffer(bytes: event.dataDigest.bytes))
            documents.append(Bytea(event.json))
        }
        var binds = PostgresBindings(capacity: 14)
        binds.append(ids)
        binds.append(types)
        binds.append(sources)
        binds.append(subjects)
        binds.append(times)
        binds.append(reasons)
        binds.append(details)
        binds.append(filenames)
        binds.append(digests)
        binds.append(documents)
        binds.append(batch.receivedAt)
        binds.append(batch.agentID)
        binds.append(batch.region)
        binds.append(Int64((batch.receivedAt.timeIntervalSince1970 / 3600).rounded(.down)))
        return PostgresQuery(
            unsafeSQL: """
                WITH input AS (
                    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                                         $7::text[], $8::text[], $9::bytea[], $10::bytea[])
                        WITH ORDINALITY AS t(id, type, source, subject, time, reason, detail, filename, digest, json, ord)
                ), registered AS (
                    INSERT INTO event_id (id, seq, received_at, agentid, data_sha256)
                    SELECT id, nextval('event_seq'), $11, $12, digest FROM input ORDER BY ord
                    ON CONFLICT (id) DO NOTHING
                    RETURNING id, seq
                ), stored AS (
                    INSERT INTO event (seq, id, type, source, region, agentid, subject, time, received_at,
                                       rejection_reason, rejection_detail, rejection_filename, data_sha256, json)
                    SELECT r.seq, i.id, i.type, i.source, $13, $12, NULLIF(i.subject, ''), NULLIF(i.time, ''), $11,
                           NULLIF(i.reason, ''), NULLIF(i.detail, ''), NULLIF(i.filename, ''), i.digest, i.json
                    FROM input i JOIN registered r ON r.id = i.id
                    RETURNING id, type
                ), per_type AS (
                    SELECT type, count(*) AS events FROM stored GROUP BY type
                ), counted AS (
                    INSERT INTO agent_type_count (agentid, type, region, events)
                    SELECT $12, type, $13, events FROM per_type
                    ON CONFLICT (agentid, type) DO UPDATE
                        SET events = agent_type_count.events + excluded.events, region = excluded.region
                ), hourly AS (
                    INSERT INTO hourly_count (hour, agentid, type, events)
                    SELECT $14, $12, type, events FROM per_type
                    ON CONFLICT (hour, agentid, type) DO UPDATE SET events = hourly_count.events + excluded.events
                )
                SELECT id, type FROM stored
                """,
            binds: binds)
    }

    /// Keeps the latest heartbeat of the event's agent (the dashboard's source).
    static func recordHeartbeat(_ event: IncomingEvent, of batch: IngestBatch) -> PostgresQuery {
        """
        INSERT INTO agent_heartbeat (agentid, region, received_at, seq, json)
        SELECT \(event.agentID), \(event.region), \(batch.receivedAt), seq, \(ByteBuffer(bytes: event.json))
        FROM event_id WHERE id = \(event.id)
        ON CONFLICT (agentid) DO UPDATE SET region = excluded.region, received_at = excluded.received_at,
            seq = excluded.seq, json = excluded.json
        WHERE excluded.seq > agent_heartbeat.seq
        """
    }

    /// Records conflicts (once per id and document).
    static func recordConflicts(_ conflicts: [IDConflict], events: [IncomingEvent], of batch: IngestBatch) -> PostgresQuery {
        var binds = PostgresBindings(capacity: 7)
        binds.append(conflicts.map(\.id))
        binds.append(conflicts.map { ByteBuffer(bytes: DataDigest(hex: $0.storedDigest)?.bytes ?? []) })
        binds.append(events.map { ByteBuffer(bytes: $0.dataDigest.bytes) })
        binds.append(conflicts.map(\.storedAgentID))
        binds.append(events.map { Bytea($0.json) })
        binds.append(batch.agentID)
        binds.append(batch.region)
        binds.append(batch.receivedAt)
        return PostgresQuery(
            unsafeSQL: """
                INSERT INTO id_conflict (id, agentid, region, received_at, stored_sha256, received_sha256, stored_agentid, json)
                SELECT id, $6, $7, $8, stored, received, stored_agent, json
                FROM unnest($1::text[], $2::bytea[], $3::bytea[], $4::text[], $5::bytea[]) AS t(id, stored, received, stored_agent, json)
                ON CONFLICT (id, received_sha256) DO NOTHING
                """,
            binds: binds)
    }

    /// The first transaction id whose events a page may not show yet: the oldest hub writer
    /// still running (writers hold `PostgresSchema.writerLock` from before they have an id),
    /// else the next id to be assigned. Read in a statement of its own, *before* the page's:
    /// a writer running now that commits before the page is read is visible to it; one that
    /// is still running then is at or above the horizon, and so is any writer that starts later.
    /// Other applications' transactions on the server never hold the horizon back.
    static var horizon: PostgresQuery {
        let key = UInt64(bitPattern: PostgresSchema.writerLock)
        return PostgresQuery(unsafeSQL: """
            SELECT coalesce(
                (SELECT min(x::text::bigint) FROM pg_snapshot_xip(pg_current_snapshot()) AS x
                 WHERE (x::text::bigint & 4294967295) IN (
                     SELECT l.transactionid::text::bigint FROM pg_locks a JOIN pg_locks l ON l.pid = a.pid
                     WHERE a.locktype = 'advisory'
                       AND a.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                       AND a.classid = \(key >> 32) AND a.objid = \(key & 0xFFFF_FFFF)
                       AND a.objsubid = 1 AND a.granted
                       AND l.locktype = 'transactionid' AND l.mode = 'ExclusiveLock' AND l.granted)),
                pg_snapshot_xmax(pg_current_snapshot())::text::bigint)
            """)
    }

    /// Marks the transaction as a hub writer (see `horizon`); its first statement.
    static var beginWriting: PostgresQuery {
        PostgresQuery(unsafeSQL: "SELECT pg_advisory_xact_lock_shared(\(PostgresSchema.writerLock))")
    }

    /// One page of `GET /v1/events`: after the cursor, only events of transactions below the
    /// `horizon`, by (transaction, sequence), one more than the limit.
    static func page(_ query: EventQuery, horizon: Int64) -> PostgresQuery {
        var binds = PostgresBindings(capacity: 8)
        binds.append(query.after?.epoch ?? 0)
        binds.append(query.after?.sequence ?? 0)
        binds.append(horizon)
        var filters: [String] = []
        for (column, value) in [("type", query.type), ("source", query.source), ("region", query.region), ("subject", query.subject)] {
            if let value {
                binds.append(value)
                filters.append(column)
            }
        }
        binds.append(Int64(query.limit + 1))
        return PostgresQuery(unsafeSQL: pageSQL(filters: filters), binds: binds)
    }

    /// The page statement: $1, $2 the cursor, $3 the horizon, then one parameter per filtered
    /// column, then the limit.
    static func pageSQL(filters: [String]) -> String {
        var conditions = ["(txid, seq) > ($1, $2)", "txid < $3"]
        for (index, column) in filters.enumerated() { conditions.append("\(column) = $\(index + 4)") }
        return "SELECT txid, seq, json FROM event WHERE \(conditions.joined(separator: " AND ")) ORDER BY txid, seq LIMIT $\(filters.count + 4)"
    }

    /// The stored JSON of one event ($1 the id), through the registry to its month.
    static let eventByID = """
        SELECT e.json FROM event_id r JOIN event e ON e.received_at = r.received_at AND e.id = r.id WHERE r.id = $1
        """

    /// The registered ids among $1 (text[]), with their agent and digest.
    static let knownIDs = "SELECT id, agentid, data_sha256 FROM event_id WHERE id = ANY($1)"

    /// The newest $2 events of type $1 (rejected documents for `/v1/stats`).
    static let newestOfType = """
        SELECT id, agentid, time, rejection_reason, rejection_detail, rejection_filename FROM event
        WHERE type = $1 ORDER BY txid DESC, seq DESC LIMIT $2
        """

    /// Pickup times of the newest $3 events stored since $1, other than type $2 (heartbeats).
    static let latencySamples = """
        SELECT received_at, time FROM event WHERE received_at >= $1 AND type <> $2 AND time IS NOT NULL
        ORDER BY received_at DESC LIMIT $3
        """

    /// Every statement that reads `event` or `event_id` on a request, with example arguments as
    /// SQL literals: what a test prepares and EXPLAINs to show that each is served by an index.
    static var readsForExplain: [(name: String, sql: String, arguments: String)] {
        let horizon = "pg_snapshot_xmax(pg_current_snapshot())::text::bigint"
        var reads: [(String, String, String)] = [("page", pageSQL(filters: []), "0, 0, \(horizon), 101")]
        for (column, value) in [("type", "'sap.idoc.ORDERS3'"), ("source", "'outpost://x'"), ("region", "'emea'"), ("subject", "'42'")] {
            reads.append(("page by \(column)", pageSQL(filters: [column]), "0, 0, \(horizon), \(value), 101"))
        }
        reads += [
            ("event by id", eventByID, "'bulk:777'"),
            ("known ids", knownIDs, "ARRAY['bulk:1', 'bulk:2']"),
            ("rejected documents", newestOfType, "'outpost.document.rejected', 50"),
            ("latency samples", latencySamples, "now() - interval '1 hour', 'outpost.agent.heartbeat', 10000"),
        ]
        return reads
    }
}

/// A `bytea` (and `bytea[]` element) written straight from `Data`, without first copying it
/// into a `ByteBuffer` of its own.
struct Bytea: PostgresArrayEncodable, PostgresNonThrowingEncodable {
    let data: Data

    init(_ data: Data) {
        self.data = data
    }

    static var psqlType: PostgresDataType { .bytea }
    static var psqlFormat: PostgresFormat { .binary }
    static var psqlArrayType: PostgresDataType { .byteaArray }

    func encode<JSONEncoder: PostgresJSONEncoder>(into byteBuffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        byteBuffer.writeBytes(data)
    }
}
