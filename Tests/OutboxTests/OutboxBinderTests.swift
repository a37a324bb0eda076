import EventModel
import Foundation
import GRDB
import Outbox
import SQLiteDirectBinding
import Testing

/// The two ways the chunk inserts reach SQLite (``SQLiteDirectBinder``, which the agent uses,
/// and ``GRDBStatementBinder``, `outbox.direct_binding: false`) must leave the same rows.
@Suite("Outbox statement binders")
struct OutboxBinderTests {
    /// Chunks of every size around a statement's 32 rows, texts empty, multi-byte and long,
    /// ids repeated in and across chunks (the same document, and another one under a taken id).
    static func commits() -> [[EncodedEvent]] {
        func make(_ id: String, key: String, subject: String, data: String) -> EncodedEvent {
            let json = "{\"specversion\":\"1.0\",\"id\":\"\(id)\",\"data\":\"\(data)\"}"
            return EncodedEvent(id: id, type: "sap.idoc.ORDERS", subject: subject, partitionKey: key, json: Array(json.utf8))
        }
        var commits: [[EncodedEvent]] = []
        var n = 0
        for size in [1, 2, 31, 32, 33, 64, 65, 100] {
            commits.append((0..<size).map { i in
                n += 1
                let subject = i % 5 == 0 ? "" : (i % 5 == 1 ? "Bestellung-Ä-\(n)-日本" : String(repeating: "s", count: i * 37))
                return make("idoc:S:100:\(n)", key: "k\(i % 7)", subject: subject, data: String(repeating: "d", count: (i * 131) % 5000))
            })
        }
        // Again, the same documents: nothing new.
        commits.append(Array(commits[2]))
        // Ids taken before with other data (kept as dead letters), beside new ones, and one id
        // twice in one chunk.
        var mixed = (0..<40).map { i in make("idoc:S:100:new-\(i)", key: "m", subject: "m\(i)", data: "new \(i)") }
        mixed[3] = make("idoc:S:100:5", key: "k0", subject: "", data: "another document")
        mixed[20] = make("idoc:S:100:new-19", key: "m", subject: "m19", data: "new 19")
        commits.append(mixed)
        return commits
    }

    /// Every event row (without its time) and payload, in sequence order.
    static func contents(after commits: [[EncodedEvent]], binder: any OutboxStatementBinder) async throws
        -> (inserted: [Int], rows: [[String]])
    {
        let fixture = try OutboxFixture(binder: binder)
        defer { fixture.removeAll() }
        var inserted: [Int] = []
        for chunk in commits { inserted.append(try await fixture.appendChunk(chunk)) }
        let rows = try fixture.query { db in
            try Row.fetchAll(db, sql: """
                SELECT e.seq, e.id, e.partition_key, e.type, e.subject, e.source, e.file_name, e.bytes, e.state,
                       hex(p.json) AS json
                FROM event e LEFT JOIN payload p ON p.seq = e.seq ORDER BY e.seq
                """).map { row in row.columnNames.map { "\(row[$0] as DatabaseValue)" } }
        }
        return (inserted, rows)
    }

    @Test("the direct binder and GRDB's arguments leave the same rows, byte for byte")
    func bothBindersLeaveTheSameRows() async throws {
        let commits = Self.commits()
        let direct = try await Self.contents(after: commits, binder: SQLiteDirectBinder())
        let library = try await Self.contents(after: commits, binder: GRDBStatementBinder())
        let unique = Set(commits.flatMap { $0.map(\.id) }).count
        // Each distinct id once, plus the one dead letter for the other document under a taken id.
        #expect(direct.rows.count == unique + 1)
        #expect(direct.inserted == [1, 2, 31, 32, 33, 64, 65, 100, 0, 38])
        #expect(direct.inserted == library.inserted)
        #expect(direct.rows == library.rows)
        // The payloads are the events' own bytes.
        let byID = Dictionary(commits.flatMap { $0 }.map { ($0.id, $0.json) }, uniquingKeysWith: { first, _ in first })
        for row in direct.rows where row[8] == "'pending'" {
            let id = String(row[1].dropFirst().dropLast())
            let json = try #require(byID[id])
            #expect(row[9] == "'" + json.map { String(format: "%02X", $0) }.joined() + "'", "payload of \(id)")
        }
    }

    @Test("a one-value lookup reads the first row's integer, nil for no row or NULL, through either binder", arguments: bothBinders)
    func firstInteger(binder: any OutboxStatementBinder) throws {
        let queue = try DatabaseQueue()
        try queue.write { db in
            try db.execute(sql: "CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER)")
            try db.execute(sql: "INSERT INTO t VALUES ('seven', 7), ('big', ?), ('none', NULL)", arguments: [Int64.max])
            let lookup = try db.cachedStatement(sql: "SELECT v FROM t WHERE k = ?")
            func value(_ key: String) throws -> Int64? {
                var key = key
                return try key.withUTF8 { try binder.firstInteger(lookup, values: [.text(UnsafeRawBufferPointer($0))], in: db) }
            }
            #expect(try value("seven") == 7)
            #expect(try value("big") == Int64.max)
            #expect(try value("none") == nil)
            #expect(try value("absent") == nil)
            // Reset after each: the same statement again, with other values.
            #expect(try value("seven") == 7)
            let max = try db.cachedStatement(sql: "SELECT max(v) + 1 FROM t WHERE v < 100")
            #expect(try binder.firstInteger(max, values: [], in: db) == 8)
            // A step that fails throws SQLite's error, and the statement is usable again.
            let failing = try db.cachedStatement(sql: "SELECT CASE WHEN ? THEN abs(-9223372036854775807 - 1) ELSE 1 END")
            #expect(throws: DatabaseError.self) { try binder.firstInteger(failing, values: [.integer(1)], in: db) }
            #expect(try binder.firstInteger(failing, values: [.integer(0)], in: db) == 1)
        }
    }

    @Test("a failing statement throws SQLite's error through either binder and commits nothing")
    func aFailingInsertThrowsAndCommitsNothing() async throws {
        for binder in bothBinders {
            let fixture = try OutboxFixture(binder: binder)
            defer { fixture.removeAll() }
            try await fixture.appendChunk([event("a")])
            // A trigger makes the next insert fail inside the statement.
            let queue = try fixture.otherConnection()
            try await queue.write { db in
                try db.execute(sql: "CREATE TRIGGER refuse BEFORE INSERT ON event WHEN NEW.id = 'c' BEGIN SELECT RAISE(ABORT, 'refused by test'); END")
            }
            try queue.close()
            await #expect(throws: DatabaseError.self) {
                try await fixture.appendChunk([event("b"), event("c"), event("d")])
            }
            #expect(try await fixture.pendingSequences().count == 1)
        }
    }
}
