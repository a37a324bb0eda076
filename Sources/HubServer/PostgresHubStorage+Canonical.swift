import Foundation
import Logging
import PostgresNIO
import SpendMapping

/// The canonical model in the shared PostgreSQL database. A page is applied in one
/// transaction under an advisory lock (replicas map in turns) with a few statements of arrays.
extension PostgresHubStorage: CanonicalStorage {
    public func mappingPosition() async throws -> EventCursor? {
        let rows = try await client.query("SELECT epoch, seq FROM mapping_state WHERE id = 1", logger: canonicalLogger)
        for try await (epoch, sequence) in rows.decode((Int64, Int64).self) { return EventCursor(epoch: epoch, sequence: sequence) }
        return nil
    }

    private var canonicalLogger: Logger { Logger(label: "outpost.hub.mapping") }

    public func eventsToMap(after: EventCursor?, limit: Int, maxBytes: Int) async throws -> [StoredEvent] {
        let logger = canonicalLogger
        var horizon: Int64 = 0
        for try await value in try await client.query(PostgresStatements.horizon, logger: logger).decode(Int64.self) {
            horizon = value
        }
        let rows = try await client.query(
            """
            SELECT txid, seq, id, type, region, agentid, received_at, json FROM (
                SELECT txid, seq, id, type, region, agentid, extract(epoch FROM received_at)::float8 AS received_at, json,
                       sum(octet_length(json)) OVER (ORDER BY txid, seq) - octet_length(json) AS before
                FROM event WHERE (txid, seq) > (\(after?.epoch ?? 0), \(after?.sequence ?? 0)) AND txid < \(horizon)
                ORDER BY txid, seq LIMIT \(Int64(limit))) page
            WHERE before < \(Int64(maxBytes)) ORDER BY txid, seq
            """, logger: logger)
        var events: [StoredEvent] = []
        for try await (txid, seq, id, type, region, agent, receivedAt, json) in rows.decode(
            (Int64, Int64, String, String, String, String, Double, ByteBuffer).self)
        {
            events.append(StoredEvent(
                position: EventCursor(epoch: txid, sequence: seq), id: id, type: type, region: region, agentID: agent,
                receivedAt: receivedAt, json: Data(json.readableBytesView)))
        }
        return events
    }

    public func applyMapping(_ page: MappedPage, tolerancePercent: ExactDecimal) async throws -> Bool {
        let logger = canonicalLogger
        return try await client.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(PostgresCanonicalSchema.mappingLock))", logger: logger)
            var position: EventCursor?
            for try await (epoch, sequence) in try await connection.query(
                "SELECT epoch, seq FROM mapping_state WHERE id = 1", logger: logger
            ).decode((Int64, Int64).self) {
                position = EventCursor(epoch: epoch, sequence: sequence)
            }
            guard position == page.from else { return false }
            let documents = page.documents
            let (keys, orders) = SpendPlanner.keysToLoad(for: documents.map(\.document))
            var planner = SpendPlanner(
                currentLines: try await Self.currentLines(connection, keys: keys, orders: orders, logger: logger),
                tolerancePercent: tolerancePercent)
            for (document, event) in documents {
                planner.apply(
                    document, position: MappingPosition(epoch: event.position.epoch, sequence: event.position.sequence),
                    receivedAt: event.receivedAt)
            }
            if !documents.isEmpty {
                try await connection.query(try Self.insertVersions(documents), logger: logger)
            }
            let failures = page.entries.compactMap { entry -> (StoredEvent, String, [MappingProblem])? in
                if case .failed(let profile, let problems) = entry.outcome { return (entry.event, profile, problems) }
                return nil
            }
            if !failures.isEmpty { try await connection.query(Self.insertFailures(failures), logger: logger) }
            if !planner.retiredKeys.isEmpty {
                try await connection.query(
                    "UPDATE spend_line SET current = false WHERE current AND doc_key = ANY(\(planner.retiredKeys.sorted()))",
                    logger: logger)
            }
            if !planner.inserted.isEmpty { try await connection.query(Self.insertLines(planner.inserted), logger: logger) }
            let revalued = planner.revalued
            if !revalued.isEmpty {
                try await connection.query(
                    """
                    UPDATE spend_line s SET amount = NULLIF(v.amount, '')::numeric, currency = v.currency, supplier = v.supplier
                    FROM unnest(\(revalued.map(\.eventID)), \(revalued.map(\.line)), \(revalued.map { $0.amount?.description ?? "" }),
                                \(revalued.map(\.currency)), \(revalued.map(\.supplier))) AS v(event_id, line, amount, currency, supplier)
                    WHERE s.event_id = v.event_id AND s.line = v.line AND s.measure = 'received'
                    """, logger: logger)
            }
            let deltas = planner.cellDeltas.filter { !$0.value.isZero }
            if !deltas.isEmpty { try await connection.query(Self.addCells(deltas), logger: logger) }
            let exceptions = planner.exceptions()
            if !exceptions.isEmpty {
                try await Self.replaceExceptions(exceptions, connection: connection, logger: logger)
            }
            let kinds = Dictionary(grouping: documents, by: \.document.kind.rawValue).mapValues { Int64($0.count) }
            if !kinds.isEmpty {
                try await connection.query(
                    """
                    INSERT INTO canonical_count (kind, versions) SELECT * FROM unnest(\(Array(kinds.keys)), \(Array(kinds.values)))
                    ON CONFLICT (kind) DO UPDATE SET versions = canonical_count.versions + excluded.versions
                    """, logger: logger)
            }
            try await connection.query(
                """
                INSERT INTO mapping_state (id, epoch, seq) VALUES (1, \(page.to.epoch), \(page.to.sequence))
                ON CONFLICT (id) DO UPDATE SET epoch = excluded.epoch, seq = excluded.seq
                """, logger: logger)
            return true
        }
    }

    private static func insertVersions(_ documents: [(document: CanonicalDocument, event: StoredEvent)]) throws -> PostgresQuery {
        var ids: [String] = [], epochs: [Int64] = [], sequences: [Int64] = [], keys: [String] = [], kinds: [String] = []
        var numbers: [String] = [], regions: [String] = [], agents: [String] = [], times: [Double] = [], json: [Bytea] = []
        var referenceOrders: [String] = [], referenceIDs: [String] = [], referenceEpochs: [Int64] = [], referenceSequences: [Int64] = []
        for (document, event) in documents {
            ids.append(event.id)
            epochs.append(event.position.epoch)
            sequences.append(event.position.sequence)
            keys.append(document.documentKey)
            kinds.append(document.kind.rawValue)
            numbers.append(document.number)
            regions.append(event.region)
            agents.append(event.agentID)
            times.append(event.receivedAt)
            json.append(Bytea(try CanonicalJSON.encode(document)))
            for order in document.referencedPurchaseOrders {
                referenceOrders.append(order)
                referenceIDs.append(event.id)
                referenceEpochs.append(event.position.epoch)
                referenceSequences.append(event.position.sequence)
            }
        }
        return """
            WITH versions AS (
                INSERT INTO canonical_version (event_id, epoch, seq, doc_key, kind, number, region, agentid, received_at, json)
                SELECT event_id, epoch, seq, doc_key, kind, number, region, agentid, to_timestamp(received_at), json
                FROM unnest(\(ids), \(epochs), \(sequences), \(keys), \(kinds), \(numbers), \(regions), \(agents), \(times), \(json))
                    AS t(event_id, epoch, seq, doc_key, kind, number, region, agentid, received_at, json)
            )
            INSERT INTO document_reference (po_number, event_id, epoch, seq)
            SELECT * FROM unnest(\(referenceOrders), \(referenceIDs), \(referenceEpochs), \(referenceSequences))
            ON CONFLICT DO NOTHING
            """
    }

    private static func insertFailures(_ failures: [(StoredEvent, String, [MappingProblem])]) -> PostgresQuery {
        """
        INSERT INTO mapping_failure (event_id, epoch, seq, region, agentid, type, profile, received_at, problems)
        SELECT event_id, epoch, seq, region, agentid, type, profile, to_timestamp(received_at), problems
        FROM unnest(\(failures.map(\.0.id)), \(failures.map(\.0.position.epoch)), \(failures.map(\.0.position.sequence)),
                    \(failures.map(\.0.region)), \(failures.map(\.0.agentID)), \(failures.map(\.0.type)), \(failures.map(\.1)),
                    \(failures.map(\.0.receivedAt)), \(failures.map { Bytea(CanonicalJSON.problems($0.2)) }))
            AS t(event_id, epoch, seq, region, agentid, type, profile, received_at, problems)
        ON CONFLICT (event_id) DO UPDATE SET problems = excluded.problems, profile = excluded.profile
        """
    }

    private static func insertLines(_ lines: [(line: SpendLine, current: Bool)]) -> PostgresQuery {
        func column(_ value: (SpendLine) -> String) -> [String] { lines.map { value($0.line) } }
        return """
            INSERT INTO spend_line (event_id, line, measure, doc_key, kind, number, region, supplier, plant, company_code,
                cost_centre, currency, month, po_number, po_item, quantity, amount, epoch, seq, version, current)
            SELECT event_id, line, measure, doc_key, kind, number, region, supplier, plant, company_code, cost_centre,
                   currency, month, po_number, po_item, NULLIF(quantity, ''), NULLIF(amount, '')::numeric, epoch, seq,
                   version, current
            FROM unnest(\(column(\.eventID)), \(column(\.line)), \(column(\.measure.rawValue)), \(column(\.documentKey)),
                        \(column(\.kind.rawValue)), \(column(\.number)), \(column(\.region)), \(column(\.supplier)),
                        \(column(\.plant)), \(column(\.companyCode)), \(column(\.costCentre)), \(column(\.currency)),
                        \(column(\.month)), \(column(\.poNumber)), \(column(\.poItem)),
                        \(column { $0.quantity?.description ?? "" }), \(column { $0.amount?.description ?? "" }),
                        \(lines.map(\.line.position.epoch)), \(lines.map(\.line.position.sequence)),
                        \(lines.map { Int64($0.line.version) }), \(lines.map(\.current)))
                AS t(event_id, line, measure, doc_key, kind, number, region, supplier, plant, company_code, cost_centre,
                     currency, month, po_number, po_item, quantity, amount, epoch, seq, version, current)
            """
    }

    private static func addCells(_ deltas: [SpendCell: ExactDecimal]) -> PostgresQuery {
        let cells = Array(deltas)
        return """
            INSERT INTO spend_cell (measure, region, supplier, plant, company_code, cost_centre, currency, month, amount)
            SELECT measure, region, supplier, plant, company_code, cost_centre, currency, month, amount::numeric
            FROM unnest(\(cells.map(\.key.measure.rawValue)), \(cells.map(\.key.region)), \(cells.map(\.key.supplier)),
                        \(cells.map(\.key.plant)), \(cells.map(\.key.companyCode)), \(cells.map(\.key.costCentre)),
                        \(cells.map(\.key.currency)), \(cells.map(\.key.month)), \(cells.map(\.value.description)))
                AS t(measure, region, supplier, plant, company_code, cost_centre, currency, month, amount)
            ON CONFLICT (measure, region, supplier, plant, company_code, cost_centre, currency, month)
            DO UPDATE SET amount = spend_cell.amount + excluded.amount
            """
    }

    private static func replaceExceptions(
        _ exceptions: [String: [MatchException]], connection: PostgresConnection, logger: Logger
    ) async throws {
        try await connection.query("DELETE FROM match_exception WHERE po_number = ANY(\(Array(exceptions.keys)))", logger: logger)
        let list = exceptions.values.flatMap { $0 }
        guard !list.isEmpty else { return }
        try await connection.query(
            """
            INSERT INTO match_exception (po_number, po_item, kind, region, supplier, doc_key, number, detail)
            SELECT * FROM unnest(\(list.map(\.poNumber)), \(list.map(\.poItem)), \(list.map(\.kind.rawValue)),
                                 \(list.map(\.region)), \(list.map(\.supplier)), \(list.map(\.documentKey)),
                                 \(list.map(\.number)), \(list.map(\.detail)))
            """, logger: logger)
    }

    static let lineColumns = """
        event_id, line, measure, doc_key, kind, number, region, supplier, plant, company_code, cost_centre, currency,
        month, po_number, po_item, quantity, amount::text, epoch, seq, version
        """

    static func lines(_ rows: PostgresRowSequence) async throws -> [SpendLine] {
        var lines: [SpendLine] = []
        for try await row in rows {
            let r = row.makeRandomAccess()
            func text(_ index: Int) throws -> String { try r[index].decode(String.self, context: .default) }
            func optional(_ index: Int) throws -> String? { try r[index].decode(String?.self, context: .default) }
            guard let measure = SpendLine.Measure(rawValue: try text(2)), let kind = CanonicalDocument.Kind(rawValue: try text(4))
            else { continue }
            var line = SpendLine(
                eventID: try text(0), documentKey: try text(3), kind: kind, number: try text(5), line: try text(1),
                measure: measure,
                position: MappingPosition(
                    epoch: try r[17].decode(Int64.self, context: .default), sequence: try r[18].decode(Int64.self, context: .default)),
                version: Int(try r[19].decode(Int32.self, context: .default)))
            line.region = try text(6)
            line.supplier = try text(7)
            line.plant = try text(8)
            line.companyCode = try text(9)
            line.costCentre = try text(10)
            line.currency = try text(11)
            line.month = try text(12)
            line.poNumber = try text(13)
            line.poItem = try text(14)
            line.quantity = try optional(15).flatMap { ExactDecimal($0) }
            line.amount = try optional(16).flatMap { ExactDecimal($0) }
            lines.append(line)
        }
        return lines
    }

    private static func currentLines(
        _ connection: PostgresConnection, keys: Set<String>, orders: Set<String>, logger: Logger
    ) async throws -> [SpendLine] {
        guard !keys.isEmpty || !orders.isEmpty else { return [] }
        let rows = try await connection.query(
            PostgresQuery(
                unsafeSQL: "SELECT \(lineColumns) FROM spend_line WHERE current AND (doc_key = ANY($1) OR po_number = ANY($2))",
                binds: { var binds = PostgresBindings(); binds.append(keys.sorted()); binds.append(orders.sorted()); return binds }()),
            logger: logger)
        return try await lines(rows)
    }

    public func resetMapping(since: Date?, tolerancePercent: ExactDecimal) async throws -> Int {
        let logger = canonicalLogger
        return try await client.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(PostgresCanonicalSchema.mappingLock))", logger: logger)
            var before = EventCursor(epoch: 0, sequence: 0)
            if let since {
                var first: EventCursor?
                for try await (txid, seq) in try await connection.query(
                    "SELECT txid, seq FROM event WHERE received_at >= \(since) ORDER BY txid, seq LIMIT 1", logger: logger
                ).decode((Int64, Int64).self) {
                    first = EventCursor(epoch: txid, sequence: seq - 1)
                }
                guard let first else { return 0 }
                before = first
            }
            var dropped = 0
            for try await count in try await connection.query(
                """
                WITH gone AS (DELETE FROM canonical_version WHERE (epoch, seq) > (\(before.epoch), \(before.sequence)) RETURNING 1)
                SELECT count(*) FROM gone
                """, logger: logger
            ).decode(Int64.self) {
                dropped = Int(count)
            }
            for table in ["document_reference", "spend_line", "mapping_failure"] {
                try await connection.query(
                    PostgresQuery(unsafeSQL: "DELETE FROM \(table) WHERE (epoch, seq) > ($1, $2)",
                                  binds: { var b = PostgresBindings(); b.append(before.epoch); b.append(before.sequence); return b }()),
                    logger: logger)
            }
            try await connection.query(
                """
                UPDATE spend_line s SET current = ((s.epoch, s.seq) = (
                    SELECT latest.epoch, latest.seq FROM spend_line latest WHERE latest.doc_key = s.doc_key
                    ORDER BY latest.epoch DESC, latest.seq DESC LIMIT 1))
                """, logger: logger)
            let lines = CanonicalRebuild.revalued(try await Self.lines(try await connection.query(
                PostgresQuery(unsafeSQL: "SELECT \(Self.lineColumns) FROM spend_line WHERE current"), logger: logger)))
            let received = lines.filter { $0.measure == .received }
            if !received.isEmpty {
                try await connection.query(
                    """
                    UPDATE spend_line s SET amount = NULLIF(v.amount, '')::numeric
                    FROM unnest(\(received.map(\.eventID)), \(received.map(\.line)), \(received.map { $0.amount?.description ?? "" }))
                        AS v(event_id, line, amount)
                    WHERE s.event_id = v.event_id AND s.line = v.line AND s.measure = 'received'
                    """, logger: logger)
            }
            try await connection.query("DELETE FROM spend_cell", logger: logger)
            try await connection.query(
                """
                INSERT INTO spend_cell (measure, region, supplier, plant, company_code, cost_centre, currency, month, amount)
                SELECT measure, region, supplier, plant, company_code, cost_centre, currency, month, sum(amount)
                FROM spend_line WHERE current AND amount IS NOT NULL
                GROUP BY measure, region, supplier, plant, company_code, cost_centre, currency, month
                """, logger: logger)
            try await connection.query("DELETE FROM canonical_count", logger: logger)
            try await connection.query(
                "INSERT INTO canonical_count (kind, versions) SELECT kind, count(*) FROM canonical_version GROUP BY kind",
                logger: logger)
            try await connection.query("DELETE FROM match_exception", logger: logger)
            let exceptions = CanonicalRebuild.exceptions(lines, tolerancePercent: tolerancePercent)
            if !exceptions.isEmpty {
                try await Self.replaceExceptions(Dictionary(grouping: exceptions, by: \.poNumber), connection: connection, logger: logger)
            }
            if before.sequence == 0, before.epoch == 0 {
                try await connection.query("DELETE FROM mapping_state", logger: logger)
            } else {
                try await connection.query(
                    """
                    INSERT INTO mapping_state (id, epoch, seq) VALUES (1, \(before.epoch), \(before.sequence))
                    ON CONFLICT (id) DO UPDATE SET epoch = excluded.epoch, seq = excluded.seq
                    """, logger: logger)
            }
            return dropped
        }
    }

    // MARK: reading

    public func spend(_ query: SpendQuery) async throws -> [SpendTotal] {
        var binds = PostgresBindings()
        var conditions: [String] = []
        func bind(_ condition: String, _ value: String) {
            binds.append(value)
            conditions.append("\(condition) $\(binds.count)")
        }
        for (dimension, value) in query.filters.sorted(by: { $0.key.rawValue < $1.key.rawValue }) { bind("\(dimension.column) =", value) }
        if let currency = query.currency { bind("currency =", currency) }
        if let from = query.fromMonth { bind("month >=", from) }
        if let to = query.toMonth { bind("month <=", to) }
        let columns = query.groupBy.map(\.column)
        let grouped = (columns + ["currency", "measure"]).joined(separator: ", ")
        let sql = "SELECT \(grouped), sum(amount)::text FROM spend_cell"
            + (conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")) + " GROUP BY \(grouped)"
        var rows: [(group: [String], currency: String, measure: SpendLine.Measure, amount: ExactDecimal)] = []
        for try await row in try await client.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: canonicalLogger) {
            let r = row.makeRandomAccess()
            let group = try (0..<columns.count).map { try r[$0].decode(String.self, context: .default) }
            let currency = try r[columns.count].decode(String.self, context: .default)
            guard let measure = SpendLine.Measure(rawValue: try r[columns.count + 1].decode(String.self, context: .default)),
                  let amount = ExactDecimal(try r[columns.count + 2].decode(String.self, context: .default))
            else { continue }
            rows.append((group, currency, measure, amount))
        }
        return SpendTotal.totals(rows, dimensions: query.groupBy)
    }

    public func lines(forPurchaseOrder number: String) async throws -> [SpendLine] {
        var binds = PostgresBindings()
        binds.append(number)
        return try await Self.lines(try await client.query(
            PostgresQuery(
                unsafeSQL: "SELECT \(Self.lineColumns) FROM spend_line WHERE po_number = $1 AND current ORDER BY epoch, seq, line",
                binds: binds),
            logger: canonicalLogger))
    }

    public func exceptions(_ query: ExceptionQuery) async throws -> [MatchException] {
        let rows = try await client.query(
            """
            SELECT po_number, po_item, kind, region, supplier, doc_key, number, detail FROM match_exception
            WHERE (\(query.region ?? "") = '' OR region = \(query.region ?? ""))
              AND (\(query.kind?.rawValue ?? "") = '' OR kind = \(query.kind?.rawValue ?? ""))
            ORDER BY po_number, po_item, kind LIMIT \(Int64(query.limit))
            """, logger: canonicalLogger)
        var result: [MatchException] = []
        for try await (order, item, kind, region, supplier, key, number, detail) in rows.decode(
            (String, String, String, String, String, String, String, String).self)
        {
            guard let kind = MatchException.Kind(rawValue: kind) else { continue }
            result.append(MatchException(
                poNumber: order, poItem: item, kind: kind, region: region, supplier: supplier, documentKey: key, number: number,
                detail: detail))
        }
        return result
    }

    public func trail(kind: CanonicalDocument.Kind, number: String) async throws -> [DocumentVersion] {
        let kinds = kind.family == .purchaseOrder ? ["purchase_order", "po_change"] : [kind.rawValue]
        let related = kind.family == .purchaseOrder
        let rows = try await client.query(
            """
            SELECT v.event_id, v.doc_key, v.kind, v.number, v.region, v.agentid, extract(epoch FROM v.received_at)::float8, v.json,
                   (v.epoch, v.seq) = (SELECT latest.epoch, latest.seq FROM canonical_version latest WHERE latest.doc_key = v.doc_key
                                       ORDER BY latest.epoch DESC, latest.seq DESC LIMIT 1)
            FROM canonical_version v
            WHERE (v.number = \(number) AND v.kind = ANY(\(kinds)))
               OR (\(related) AND v.event_id IN (SELECT event_id FROM document_reference WHERE po_number = \(number)))
            ORDER BY v.epoch, v.seq
            """, logger: canonicalLogger)
        var versions: [DocumentVersion] = []
        for try await (id, key, kind, number, region, agent, receivedAt, json, current) in rows.decode(
            (String, String, String, String, String, String, Double, ByteBuffer, Bool).self)
        {
            versions.append(DocumentVersion(
                eventID: id, documentKey: key, kind: kind, number: number, region: region, agent: agent,
                receivedAt: Date(timeIntervalSince1970: receivedAt).rfc3339, current: current,
                document: try CanonicalJSON.decode(Data(json.readableBytesView))))
        }
        return versions
    }

    public func mappingFailures(after: EventCursor?, limit: Int) async throws -> [MappingFailure] {
        let rows = try await client.query(
            """
            SELECT event_id, epoch, seq, region, agentid, type, profile, extract(epoch FROM received_at)::float8, problems
            FROM mapping_failure WHERE (epoch, seq) > (\(after?.epoch ?? 0), \(after?.sequence ?? 0))
            ORDER BY epoch, seq LIMIT \(Int64(min(max(1, limit), 1000)))
            """, logger: canonicalLogger)
        var failures: [MappingFailure] = []
        for try await (id, epoch, seq, region, agent, type, profile, receivedAt, problems) in rows.decode(
            (String, Int64, Int64, String, String, String, String, Double, ByteBuffer).self)
        {
            failures.append(MappingFailure(
                eventID: id, position: EventCursor(epoch: epoch, sequence: seq).rawValue, region: region, agent: agent, type: type,
                profile: profile, receivedAt: Date(timeIntervalSince1970: receivedAt).rfc3339,
                problems: (try? JSONDecoder().decode([MappingProblem].self, from: Data(problems.readableBytesView))) ?? []))
        }
        return failures
    }

    public func mappingStatistics() async throws -> MappingStatistics {
        let logger = canonicalLogger
        var statistics = MappingStatistics()
        for try await (kind, count) in try await client.query("SELECT kind, versions FROM canonical_count", logger: logger)
            .decode((String, Int64).self)
        {
            statistics.documents[kind] = Int(count)
        }
        for try await (region, type, count) in try await client.query(
            "SELECT region, type, count(*) FROM mapping_failure GROUP BY region, type ORDER BY region, type", logger: logger
        ).decode((String, String, Int64).self) {
            statistics.failures.append(.init(region: region, type: type, count: Int(count)))
        }
        for try await (region, kind, count) in try await client.query(
            "SELECT region, kind, count(*) FROM match_exception GROUP BY region, kind ORDER BY region, kind", logger: logger
        ).decode((String, String, Int64).self) {
            statistics.exceptions.append(.init(region: region, type: kind, count: Int(count)))
        }
        statistics.position = try await mappingPosition()?.rawValue
        return statistics
    }
}
