import Foundation
import GRDB
import SpendMapping

/// The canonical model in the hub's SQLite file. Amounts are stored as decimal text and added
/// in Swift (`ExactDecimal`), since SQLite has no exact decimal type.
extension SQLiteHubStorage: CanonicalStorage {
    static func registerCanonicalMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v4-canonical") { db in
            try db.execute(sql: """
                CREATE TABLE mapping_state (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL);
                CREATE TABLE canonical_version (
                    event_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, doc_key TEXT NOT NULL, kind TEXT NOT NULL,
                    number TEXT NOT NULL, region TEXT NOT NULL, agentid TEXT NOT NULL, received_at REAL NOT NULL,
                    json BLOB NOT NULL);
                CREATE INDEX canonical_version_by_key ON canonical_version (doc_key, seq);
                CREATE INDEX canonical_version_by_number ON canonical_version (number, kind);
                CREATE INDEX canonical_version_by_seq ON canonical_version (seq);
                CREATE TABLE document_reference (po_number TEXT NOT NULL, event_id TEXT NOT NULL, seq INTEGER NOT NULL,
                    PRIMARY KEY (po_number, event_id));
                CREATE INDEX document_reference_by_seq ON document_reference (seq);
                CREATE TABLE spend_line (
                    event_id TEXT NOT NULL, line TEXT NOT NULL, measure TEXT NOT NULL, doc_key TEXT NOT NULL,
                    kind TEXT NOT NULL, number TEXT NOT NULL, region TEXT NOT NULL, supplier TEXT NOT NULL,
                    plant TEXT NOT NULL, company_code TEXT NOT NULL, cost_centre TEXT NOT NULL, currency TEXT NOT NULL,
                    month TEXT NOT NULL, po_number TEXT NOT NULL, po_item TEXT NOT NULL, quantity TEXT, amount TEXT,
                    seq INTEGER NOT NULL, version INTEGER NOT NULL, current INTEGER NOT NULL,
                    PRIMARY KEY (event_id, line, measure));
                CREATE INDEX spend_line_current_by_key ON spend_line (doc_key) WHERE current = 1;
                CREATE INDEX spend_line_current_by_order ON spend_line (po_number) WHERE current = 1;
                CREATE INDEX spend_line_by_seq ON spend_line (seq);
                CREATE TABLE spend_cell (
                    measure TEXT NOT NULL, region TEXT NOT NULL, supplier TEXT NOT NULL, plant TEXT NOT NULL,
                    company_code TEXT NOT NULL, cost_centre TEXT NOT NULL, currency TEXT NOT NULL, month TEXT NOT NULL,
                    amount TEXT NOT NULL,
                    PRIMARY KEY (measure, region, supplier, plant, company_code, cost_centre, currency, month));
                CREATE TABLE match_exception (
                    po_number TEXT NOT NULL, po_item TEXT NOT NULL, kind TEXT NOT NULL, region TEXT NOT NULL,
                    supplier TEXT NOT NULL, doc_key TEXT NOT NULL, number TEXT NOT NULL, detail TEXT NOT NULL);
                CREATE INDEX match_exception_by_order ON match_exception (po_number);
                CREATE TABLE mapping_failure (
                    event_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, region TEXT NOT NULL, agentid TEXT NOT NULL,
                    type TEXT NOT NULL, profile TEXT NOT NULL, received_at REAL NOT NULL, problems BLOB NOT NULL);
                CREATE INDEX mapping_failure_by_seq ON mapping_failure (seq);
                CREATE TABLE canonical_count (kind TEXT PRIMARY KEY, versions INTEGER NOT NULL);
                """)
        }
    }

    public func mappingPosition() async throws -> EventCursor? {
        try await database.read { db in try Self.position(db) }
    }

    private static func position(_ db: Database) throws -> EventCursor? {
        try Int64.fetchOne(db, sql: "SELECT seq FROM mapping_state WHERE id = 1").map { EventCursor(sequence: $0) }
    }

    public func eventsToMap(after: EventCursor?, limit: Int, maxBytes: Int) async throws -> [StoredEvent] {
        try await database.read { db in
            try Row.fetchAll(
                db, sql: """
                    SELECT seq, id, type, region, agentid, received_at, json FROM (
                        SELECT seq, id, type, region, agentid, received_at, json,
                               sum(length(json)) OVER (ORDER BY seq) - length(json) AS before
                        FROM event WHERE seq > ? ORDER BY seq LIMIT ?)
                    WHERE before < ? ORDER BY seq
                    """,
                arguments: [after?.sequence ?? 0, limit, maxBytes]
            ).map { row in
                StoredEvent(
                    position: EventCursor(sequence: row["seq"]), id: row["id"], type: row["type"], region: row["region"],
                    agentID: row["agentid"], receivedAt: row["received_at"], json: row["json"])
            }
        }
    }

    public func applyMapping(_ page: MappedPage, tolerancePercent: ExactDecimal) async throws -> Bool {
        try await database.write { db in
            guard try Self.position(db) == page.from else { return false }
            let documents = page.documents
            let (keys, orders) = SpendPlanner.keysToLoad(for: documents.map(\.document))
            var planner = SpendPlanner(currentLines: try Self.currentLines(db, keys: keys, orders: orders), tolerancePercent: tolerancePercent)
            let version = try db.cachedStatement(sql: """
                INSERT INTO canonical_version (event_id, seq, doc_key, kind, number, region, agentid, received_at, json)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            let reference = try db.cachedStatement(sql: "INSERT OR IGNORE INTO document_reference (po_number, event_id, seq) VALUES (?, ?, ?)")
            for (document, event) in documents {
                try version.execute(arguments: [
                    event.id, event.position.sequence, document.documentKey, document.kind.rawValue, document.number,
                    event.region, event.agentID, event.receivedAt, try CanonicalJSON.encode(document),
                ])
                for order in document.referencedPurchaseOrders {
                    try reference.execute(arguments: [order, event.id, event.position.sequence])
                }
                planner.apply(document, position: MappingPosition(epoch: 0, sequence: event.position.sequence), receivedAt: event.receivedAt)
            }
            let failure = try db.cachedStatement(sql: """
                INSERT OR REPLACE INTO mapping_failure (event_id, seq, region, agentid, type, profile, received_at, problems)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for entry in page.entries {
                guard case .failed(let profile, let problems) = entry.outcome else { continue }
                let event = entry.event
                try failure.execute(arguments: [
                    event.id, event.position.sequence, event.region, event.agentID, event.type, profile, event.receivedAt,
                    CanonicalJSON.problems(problems),
                ])
            }
            let retire = try db.cachedStatement(sql: "UPDATE spend_line SET current = 0 WHERE doc_key = ? AND current = 1")
            for key in planner.retiredKeys.sorted() { try retire.execute(arguments: [key]) }
            let insert = try db.cachedStatement(sql: """
                INSERT INTO spend_line (event_id, line, measure, doc_key, kind, number, region, supplier, plant, company_code,
                    cost_centre, currency, month, po_number, po_item, quantity, amount, seq, version, current)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for (line, current) in planner.inserted {
                try insert.execute(arguments: Self.arguments(line) + [current ? 1 : 0])
            }
            let revalue = try db.cachedStatement(sql: "UPDATE spend_line SET amount = ?, currency = ?, supplier = ? WHERE event_id = ? AND line = ? AND measure = ?")
            for line in planner.revalued {
                try revalue.execute(arguments: [line.amount?.description, line.currency, line.supplier, line.eventID, line.line, line.measure.rawValue])
            }
            try Self.add(planner.cellDeltas, db: db)
            let count = try db.cachedStatement(sql: """
                INSERT INTO canonical_count (kind, versions) VALUES (?, ?)
                ON CONFLICT (kind) DO UPDATE SET versions = versions + excluded.versions
                """)
            for (kind, versions) in Dictionary(grouping: documents, by: \.document.kind.rawValue).mapValues(\.count) {
                try count.execute(arguments: [kind, versions])
            }
            let exceptions = planner.exceptions()
            try Self.replaceExceptions(exceptions, db: db)
            try db.execute(
                sql: "INSERT INTO mapping_state (id, seq) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq",
                arguments: [page.to.sequence])
            return true
        }
    }

    private static func arguments(_ line: SpendLine) -> StatementArguments {
        [
            line.eventID, line.line, line.measure.rawValue, line.documentKey, line.kind.rawValue, line.number, line.region,
            line.supplier, line.plant, line.companyCode, line.costCentre, line.currency, line.month, line.poNumber,
            line.poItem, line.quantity?.description, line.amount?.description, line.position.sequence, line.version,
        ]
    }

    private static let lineColumns = """
        event_id, line, measure, doc_key, kind, number, region, supplier, plant, company_code, cost_centre, currency,
        month, po_number, po_item, quantity, amount, seq, version
        """

    private static func line(_ row: Row) -> SpendLine? {
        guard let measure = SpendLine.Measure(rawValue: row["measure"]),
              let kind = CanonicalDocument.Kind(rawValue: row["kind"])
        else { return nil }
        var line = SpendLine(
            eventID: row["event_id"], documentKey: row["doc_key"], kind: kind, number: row["number"], line: row["line"],
            measure: measure, position: MappingPosition(epoch: 0, sequence: row["seq"]), version: row["version"])
        line.region = row["region"]
        line.supplier = row["supplier"]
        line.plant = row["plant"]
        line.companyCode = row["company_code"]
        line.costCentre = row["cost_centre"]
        line.currency = row["currency"]
        line.month = row["month"]
        line.poNumber = row["po_number"]
        line.poItem = row["po_item"]
        line.quantity = (row["quantity"] as String?).flatMap { ExactDecimal($0) }
        line.amount = (row["amount"] as String?).flatMap { ExactDecimal($0) }
        return line
    }

    private static func currentLines(_ db: Database, keys: Set<String>, orders: Set<String>) throws -> [SpendLine] {
        var seen = Set<String>()
        var lines: [SpendLine] = []
        let byKey = try db.cachedStatement(sql: "SELECT \(lineColumns) FROM spend_line WHERE doc_key = ? AND current = 1")
        let byOrder = try db.cachedStatement(sql: "SELECT \(lineColumns) FROM spend_line WHERE po_number = ? AND current = 1")
        for (statement, values) in [(byKey, keys), (byOrder, orders)] {
            for value in values.sorted() {
                for row in try Row.fetchAll(statement, arguments: [value]) {
                    guard let line = line(row), seen.insert("\(line.eventID)|\(line.line)|\(line.measure.rawValue)").inserted
                    else { continue }
                    lines.append(line)
                }
            }
        }
        return lines
    }

    private static func add(_ deltas: [SpendCell: ExactDecimal], db: Database) throws {
        let read = try db.cachedStatement(sql: """
            SELECT amount FROM spend_cell WHERE measure = ? AND region = ? AND supplier = ? AND plant = ? AND company_code = ?
                AND cost_centre = ? AND currency = ? AND month = ?
            """)
        let write = try db.cachedStatement(sql: """
            INSERT OR REPLACE INTO spend_cell (measure, region, supplier, plant, company_code, cost_centre, currency, month, amount)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        for (cell, delta) in deltas where !delta.isZero {
            let key: StatementArguments = [
                cell.measure.rawValue, cell.region, cell.supplier, cell.plant, cell.companyCode, cell.costCentre, cell.currency,
                cell.month,
            ]
            let stored = try String.fetchOne(read, arguments: key).flatMap { ExactDecimal($0) } ?? .zero
            try write.execute(arguments: key + [(stored + delta).description])
        }
    }

    private static func replaceExceptions(_ exceptions: [String: [MatchException]], db: Database) throws {
        let delete = try db.cachedStatement(sql: "DELETE FROM match_exception WHERE po_number = ?")
        let insert = try db.cachedStatement(sql: """
            INSERT INTO match_exception (po_number, po_item, kind, region, supplier, doc_key, number, detail)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """)
        for (order, list) in exceptions.sorted(by: { $0.key < $1.key }) {
            try delete.execute(arguments: [order])
            for exception in list {
                try insert.execute(arguments: [
                    exception.poNumber, exception.poItem, exception.kind.rawValue, exception.region, exception.supplier,
                    exception.documentKey, exception.number, exception.detail,
                ])
            }
        }
    }

    public func resetMapping(since: Date?, tolerancePercent: ExactDecimal) async throws -> Int {
        try await database.write { db in
            var before: Int64 = 0
            if let since {
                guard let first = try Int64.fetchOne(
                    db, sql: "SELECT min(seq) FROM event WHERE received_at >= ?", arguments: [since.timeIntervalSince1970])
                else { return 0 }
                before = first - 1
            }
            try db.execute(sql: "DELETE FROM canonical_version WHERE seq > ?", arguments: [before])
            let dropped = db.changesCount
            for table in ["document_reference", "spend_line", "mapping_failure"] {
                try db.execute(sql: "DELETE FROM \(table) WHERE seq > ?", arguments: [before])
            }
            try db.execute(sql: """
                UPDATE spend_line SET current = (seq = (SELECT max(seq) FROM spend_line latest WHERE latest.doc_key = spend_line.doc_key))
                """)
            let lines = CanonicalRebuild.revalued(
                try Row.fetchAll(db, sql: "SELECT \(Self.lineColumns) FROM spend_line WHERE current = 1").compactMap(Self.line))
            let revalue = try db.cachedStatement(sql: "UPDATE spend_line SET amount = ? WHERE event_id = ? AND line = ? AND measure = ?")
            for line in lines where line.measure == .received {
                try revalue.execute(arguments: [line.amount?.description, line.eventID, line.line, line.measure.rawValue])
            }
            try db.execute(sql: "DELETE FROM canonical_count")
            try db.execute(sql: "INSERT INTO canonical_count (kind, versions) SELECT kind, count(*) FROM canonical_version GROUP BY kind")
            try db.execute(sql: "DELETE FROM spend_cell")
            try Self.add(CanonicalRebuild.cells(lines), db: db)
            try db.execute(sql: "DELETE FROM match_exception")
            try Self.replaceExceptions(
                Dictionary(grouping: CanonicalRebuild.exceptions(lines, tolerancePercent: tolerancePercent), by: \.poNumber), db: db)
            if before == 0 {
                try db.execute(sql: "DELETE FROM mapping_state")
            } else {
                try db.execute(
                    sql: "INSERT INTO mapping_state (id, seq) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq",
                    arguments: [before])
            }
            return dropped
        }
    }

    // MARK: reading

    public func spend(_ query: SpendQuery) async throws -> [SpendTotal] {
        try await database.read { db in
            var conditions: [String] = []
            var arguments: StatementArguments = []
            for (dimension, value) in query.filters.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                conditions.append("\(dimension.column) = ?")
                _ = arguments.append(contentsOf: [value])
            }
            if let currency = query.currency {
                conditions.append("currency = ?")
                _ = arguments.append(contentsOf: [currency])
            }
            if let from = query.fromMonth {
                conditions.append("month >= ?")
                _ = arguments.append(contentsOf: [from])
            }
            if let to = query.toMonth {
                conditions.append("month <= ?")
                _ = arguments.append(contentsOf: [to])
            }
            let columns = query.groupBy.map(\.column)
            let sql = "SELECT \((columns + ["currency", "measure", "amount"]).joined(separator: ", ")) FROM spend_cell"
                + (conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND "))
            let rows = try Row.fetchAll(db, sql: sql, arguments: arguments).compactMap { row -> ([String], String, SpendLine.Measure, ExactDecimal)? in
                guard let measure = SpendLine.Measure(rawValue: row["measure"]), let amount = ExactDecimal(row["amount"] as String)
                else { return nil }
                return (columns.map { row[$0] as String }, row["currency"], measure, amount)
            }
            return SpendTotal.totals(rows.map { (group: $0.0, currency: $0.1, measure: $0.2, amount: $0.3) }, dimensions: query.groupBy)
        }
    }

    public func lines(forPurchaseOrder number: String) async throws -> [SpendLine] {
        try await database.read { db in
            try Row.fetchAll(
                db, sql: "SELECT \(Self.lineColumns) FROM spend_line WHERE po_number = ? AND current = 1 ORDER BY seq, line",
                arguments: [number]
            ).compactMap(Self.line)
        }
    }

    public func exceptions(_ query: ExceptionQuery) async throws -> [MatchException] {
        try await database.read { db in
            var conditions: [String] = []
            var arguments: StatementArguments = []
            if let region = query.region {
                conditions.append("region = ?")
                _ = arguments.append(contentsOf: [region])
            }
            if let kind = query.kind {
                conditions.append("kind = ?")
                _ = arguments.append(contentsOf: [kind.rawValue])
            }
            _ = arguments.append(contentsOf: [query.limit])
            let sql = "SELECT * FROM match_exception" + (conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND "))
                + " ORDER BY po_number, po_item, kind LIMIT ?"
            return try Row.fetchAll(db, sql: sql, arguments: arguments).compactMap { row in
                guard let kind = MatchException.Kind(rawValue: row["kind"]) else { return nil }
                return MatchException(
                    poNumber: row["po_number"], poItem: row["po_item"], kind: kind, region: row["region"], supplier: row["supplier"],
                    documentKey: row["doc_key"], number: row["number"], detail: row["detail"])
            }
        }
    }

    public func trail(kind: CanonicalDocument.Kind, number: String) async throws -> [DocumentVersion] {
        try await database.read { db in
            let rows = try Row.fetchAll(
                db, sql: """
                    SELECT v.event_id, v.doc_key, v.kind, v.number, v.region, v.agentid, v.received_at, v.json, v.seq,
                           v.seq = (SELECT max(seq) FROM canonical_version latest WHERE latest.doc_key = v.doc_key) AS current
                    FROM canonical_version v
                    WHERE (v.number = ? AND v.kind IN (\(kind.family == .purchaseOrder ? "'purchase_order', 'po_change'" : "?")))
                       OR (? AND v.event_id IN (SELECT event_id FROM document_reference WHERE po_number = ?))
                    ORDER BY v.seq
                    """,
                arguments: kind.family == .purchaseOrder
                    ? [number, true, number] : [number, kind.rawValue, false, number])
            return try rows.map { row in
                DocumentVersion(
                    eventID: row["event_id"], documentKey: row["doc_key"], kind: row["kind"], number: row["number"],
                    region: row["region"], agent: row["agentid"],
                    receivedAt: Date(timeIntervalSince1970: row["received_at"]).rfc3339, current: row["current"],
                    document: try CanonicalJSON.decode(row["json"]))
            }
        }
    }

    public func mappingFailures(after: EventCursor?, limit: Int) async throws -> [MappingFailure] {
        try await database.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM mapping_failure WHERE seq > ? ORDER BY seq LIMIT ?",
                arguments: [after?.sequence ?? 0, min(max(1, limit), 1000)]
            ).map { row in
                MappingFailure(
                    eventID: row["event_id"], position: EventCursor(sequence: row["seq"]).rawValue, region: row["region"],
                    agent: row["agentid"], type: row["type"], profile: row["profile"],
                    receivedAt: Date(timeIntervalSince1970: row["received_at"]).rfc3339,
                    problems: (try? JSONDecoder().decode([MappingProblem].self, from: row["problems"] as Data)) ?? [])
            }
        }
    }

    public func mappingStatistics() async throws -> MappingStatistics {
        try await database.read { db in
            var statistics = MappingStatistics()
            for row in try Row.fetchAll(db, sql: "SELECT kind, versions AS n FROM canonical_count") {
                statistics.documents[row["kind"]] = row["n"]
            }
            statistics.failures = try Row.fetchAll(
                db, sql: "SELECT region, type, count(*) AS n FROM mapping_failure GROUP BY region, type ORDER BY region, type"
            ).map { MappingStatistics.Count(region: $0["region"], type: $0["type"], count: $0["n"]) }
            statistics.exceptions = try Row.fetchAll(
                db, sql: "SELECT region, kind, count(*) AS n FROM match_exception GROUP BY region, kind ORDER BY region, kind"
            ).map { MappingStatistics.Count(region: $0["region"], type: $0["kind"], count: $0["n"]) }
            statistics.position = try Self.position(db)?.rawValue
            return statistics
        }
    }
}
