import EventModel
import Foundation
import GRDB
import Outbox
import Testing

@Suite("Outbox commit, receipts and reading back")
struct OutboxCommitTests {
    struct Boom: Error {}

    @Test("a second append of the same id inserts nothing; sequence numbers increase")
    func dedupeAndSequence() async throws {
        let fixture = try OutboxFixture()
        defer { fixture.removeAll() }

        #expect(try await fixture.append([event("a"), event("b")]) == 2)
        #expect(try await fixture.append([event("a")]) == 0)
        let counts = try await fixture.outbox.commit { tx in
            try tx.append(event("b"), source: "src", fileName: "f.xml")
            try tx.append(event("c"), source: "src", fileName: "f.xml")
            return (tx.appended, tx.inserted, tx.insertedBytes)
        }
        #expect(counts.0 == 2)
        #expect(counts.1 == 1)
        #expect(counts.2 == Int64(event("c").json.count))

        let window = try await fixture.outbox.pendingWindow(limit: 10)
        #expect(window.count == 3)
        #expect(zip(window, window.dropFirst()).allSatisfy { $0.sequence < $1.sequence })
        let ids = try await fixture.outbox.outboundEvents(window.map(\.sequence)).map(\.id)
        #expect(ids == ["a", "b", "c"])
    }

    @Test("once the database file is removed or replaced under it, a commit throws and commits nothing")
    func removedOrReplacedFileRefusesCommits() async throws {
        let fixture = try OutboxFixture()
        defer { fixture.removeAll() }
        #expect(try await fixture.append([event("a")]) == 1)

        // The data directory renamed away (as good as deleted): the path names nothing.
        let moved = fixture.directory + "/moved"
        try FileManager.default.moveItem(atPath: fixture.directory + "/data", toPath: moved)
        await #expect(throws: OutboxError.replaced(path: fixture.path)) { try await fixture.append([event("b")]) }
        let kept = try await DatabaseQueue(path: moved + "/outbox.sqlite").read { db in
            try String.fetchAll(db, sql: "SELECT id FROM event ORDER BY seq")
        }
        #expect(kept == ["a"], "the refused commit was rolled back in the file the outbox still has open")

        // Another file at the path (a new data directory).
        try FileManager.default.createDirectory(atPath: fixture.directory + "/data", withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: fixture.path, contents: Data())
        await #expect(throws: OutboxError.replaced(path: fixture.path)) { try await fixture.append([event("c")]) }
        #expect("\(OutboxError.replaced(path: fixture.path))".contains("Restart the agent"))
    }

    @Test("an insert SQLite refuses throws its error, commits nothing of the input, and later commits go on")
    func refusedInsertRollsBack() async throws {
        let fixture = try OutboxFixture()
        defer { fixture.removeAll() }
        // Triggers stand in for any refusal (disk full, I/O error): one on each of the two
        // inserts an event makes.
        let writer = try fixture.otherConnection()
        try await writer.write { db in
            try db.execute(sql: """
                CREATE TRIGGER refuse_event BEFORE INSERT ON event WHEN NEW.id = 'bad-event'
                BEGIN SELECT RAISE(ABORT, 'event refused for the test'); END;
                CREATE TRIGGER refuse_payload BEFORE INSERT ON payload WHEN length(NEW.json) > 1000
                BEGIN SELECT RAISE(ABORT, 'payload refused for the test'); END;
                """)
        }
        let refusals = [(event("bad-event"), "event refused"), (event("big", padding: 2000), "payload refused")]
        for (bad, message) in refusals {
            for chunk in [false, true] {
                do {
                    let events = [event("ok-\(message.prefix(5))"), bad, event("after")]
                    if chunk { try await fixture.appendChunk(events) } else { try await fixture.append(events) }
                    Issue.record("the refused insert did not throw")
                } catch let error as DatabaseError {
                    #expect(error.resultCode == .SQLITE_CONSTRAINT)
                    #expect(error.message?.contains(message) == true, "\(error)")
                }
            }
        }
        #expect(try await fixture.pendingSequences().isEmpty, "the events before the refused one were rolled back")
        #expect(try fixture.query { try Int.fetchOne($0, sql: "SELECT count(*) FROM payload") } == 0)

        #expect(try await fixture.append([event("a"), event("", padding: 10), event("b")]) == 3)
        let window = try await fixture.outbox.pendingWindow(limit: 10)
        let stored = try await fixture.outbox.outboundEvents(window.map(\.sequence))
        #expect(stored.map(\.id) == ["a", "", "b"])
        #expect(stored.map(\.json) == [event("a").json, event("", padding: 10).json, event("b").json])
    }

    @Test("a chunk longer than one insert statement is stored in order; ids stored before or earlier in it are skipped")
    func chunkAcrossStatements() async throws {
        let fixture = try OutboxFixture()
        defer { fixture.removeAll() }
        let stored = ["e0", "e31", "e32", "e50", "e74"]
        #expect(try await fixture.append(stored.map { event($0, padding: 1) }) == 5)

        // 75 offered (three insert statements: 32, 32, 11), with two repeats that carry other
        // bytes: one in the same statement as its first, one in the next statement.
        var chunk = (0..<75).map { event("e\($0)", padding: $0 * 7) }
        chunk.insert(event("e3", padding: 999), at: 20)
        chunk.insert(event("e10", padding: 998), at: 45)
        let offered = chunk
        let counts = try await fixture.outbox.commit { tx in
            try tx.append(contentsOf: offered, source: "src", fileName: "chunk.xml")
            return (tx.appended, tx.inserted, tx.insertedBytes, tx.conflictingIDs)
        }
        // Every repeat carries other data than the event stored under its id: each is kept
        // as a dead letter (IDConflict), none among the pending events.
        #expect(counts.3.sorted() == (stored + ["e3", "e10"]).sorted())

        var expected: [EncodedEvent] = []
        for candidate in offered where !stored.contains(candidate.id) && !expected.contains(where: { $0.id == candidate.id }) {
            expected.append(candidate)
        }
        #expect(expected.count == 70)
        #expect(counts.0 == 77)
        #expect(counts.1 == 70)
        #expect(counts.2 == Int64(expected.map(\.json.count).reduce(0, +)))

        let window = try await fixture.outbox.pendingWindow(limit: 100)
        let back = try await fixture.outbox.outboundEvents(window.map(\.sequence))
        #expect(back.map(\.id) == stored + expected.map(\.id), "outbox order is the order offered")
        #expect(back.dropFirst(5).map(\.json) == expected.map(\.json), "each payload is its own event's, the first of a repeat")
        let rows = try fixture.query { db in
            try Row.fetchAll(db, sql: """
                SELECT e.id, e.bytes, e.partition_key, length(p.json) AS stored
                FROM event e JOIN payload p USING (seq) WHERE e.file_name = 'chunk.xml' AND e.state = 'pending'
                ORDER BY e.seq
                """).map { row -> [String] in [row["id"], "\(row["bytes"] as Int)", row["partition_key"], "\(row["stored"] as Int)"] }
        }
        #expect(rows == expected.map { [$0.id, "\($0.json.count)", $0.partitionKey, "\($0.json.count)"] })
    }

    @Test("the same id within one transaction is stored once")
    func dedupeWithinTransaction() async throws {
        let fixture = try OutboxFixture()
        defer { fixture.removeAll() }
        #expect(try await fixture.append([event("a"), event("a"), event("b")]) == 2)
        #expect(fixture.outbox.undeliveredBytes == Int64(event("a").json.count + event("b").json.count))
    }

    @Test("a chunk mixing known and new ids: each new event keeps its own payload and columns, in order")
    func chunkWithKnownIDs() async throws {
        let fixture = try OutboxFixture()
        defer { fixture.removeAll() }
        #expect(try await fixture.appendChunk([event("a"), event("b"), event("c")]) == 3)
        // Known ids first, between and last, and a new one twice: x, y and z go in.
        let chunk = [
            event("b"), event("x", key: "kx", padding: 10), event("a"), event("y", key: "ky", padding: 20),
            event("x", key: "other", padding: 99), event("z", key: "kz", padding: 30), event("c"),
        ]
        #expect(try await fixture.appendChunk(chunk) == 3)
        let dead = try await fixture.outbox.deadLetters()
        #expect(dead.map { $0.id.hasPrefix("x~conflict-") } == [true],
                "the repeat of x with other data is kept as a dead letter; a, b and c again are dropped")

        let window = try await fixture.outbox.pendingWindow(limit: 10)
        #expect(zip(window, window.dropFirst()).allSatisfy { $0.sequence < $1.sequence })
        let stored = try await fixture.outbox.outboundEvents(window.map(\.sequence))
        let expected = [event("a"), event("b"), event("c"), chunk[1], chunk[3], chunk[5]]
        #expect(stored.map(\.id) == expected.map(\.id))
        #expect(stored.map(\.json) == expected.map(\.json))
        #expect(stored.map(\.partitionKey) == expected.map(\.partitionKey))
        let columns = try fixture.query { db in
            try Row.fetchAll(db, sql: "SELECT subject, bytes FROM event WHERE state = 'pending' ORDER BY seq").map { row -> String in
                "\(row["subject"] as String) \(row["bytes"] as Int)"
            }
        }
        #expect(columns == expected.map { "\($0.subject) \($0.json.count)" })
    }

    @Test("sequence numbers only grow: after the newest events are delivered and pruned, the next is above them")
    func sequenceNumbersNeverReused() async throws {
        let fixture = try OutboxFixture()
        defer { fixture.removeAll() }
        #expect(try await fixture.appendChunk([event("a"), event("b"), event("c")]) == 3)
        let first = try await fixture.pendingSequences()
        try await fixture.outbox.acknowledge(delivered: first)
        #expect(try await fixture.outbox.prune(deliveredBefore: Date().timeIntervalSince1970 + 60, receiptsBefore: 0) == 3)
        #expect(try fixture.query { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM event") } == 0)

        #expect(try await fixture.appendChunk([event("d"), event("e")]) == 2)
        #expect(try await fixture.pendingSequences() == [first[2] + 1, first[2] + 2])
        #expect(try await fixture.append([event("f")]) == 1)
        #expect(try await fixture.pendingSequences() == [first[2] + 1, first[2] + 2, first[2] + 3])
    }

    @Test("a receipt is found by source and content hash, and only there")
    func receiptLookup() async throws {
        let fixture = try OutboxFixture()
        defer { fixture.removeAll() }
        let before = Date().timeIntervalSince1970
        try await fixture.outbox.commit { tx in
            try tx.append(event("a"), source: "src", fileName: "orders.xml")
            try tx.recordReceipt(
                source: "src", sha256: "abc123", fileName: "orders.xml", size: 42, events: 1, outcome: .committed)
        }
        let receipt = try #require(try await fixture.outbox.receipt(source: "src", sha256: "abc123"))
        #expect(receipt.source == "src")
        #expect(receipt.fileName == "orders.xml")
        #expect(receipt.size == 42)
        #expect(receipt.events == 1)
        #expect(receipt.outcome == .committed)
        #expect(receipt.committedAt >= before && receipt.committedAt <= Date().timeIntervalSince1970)

        #expect(try await fixture.outbox.receipt(source: "other", sha256: "abc123") == nil)
        #expect(try await fixture.outbox.receipt(source: "src", sha256: "abc124") == nil)
    }

    @Test("a committed receipt is found by source and content hash; a rejected or missing one is not", arguments: bothBinders)
    func committedReceiptCheck(binder: any OutboxStatementBinder) async throws {
        let fixture = try OutboxFixture(binder: binder)
        defer { fixture.removeAll() }
        try await fixture.outbox.commit { tx in
            try tx.recordReceipt(source: "src", sha256: "good", fileName: "a", size: 1, events: 1, outcome: .committed)
            try tx.recordReceipt(source: "src", sha256: "bad", fileName: "b", size: 1, events: 1, outcome: .rejected)
        }
        let found = try await fixture.outbox.commit { tx in
            // Twice in one transaction: the statement and the values are reused.
            [
                try tx.hasCommittedReceipt(source: "src", sha256: "good"),
                try tx.hasCommittedReceipt(source: "src", sha256: "good"),
                try tx.hasCommittedReceipt(source: "src", sha256: "bad"),
                try tx.hasCommittedReceipt(source: "other", sha256: "good"),
                try tx.hasCommittedReceipt(source: "src", sha256: "goo"),
            ]
        }
        #expect(found == [true, true, false, false, false])
    }

    @Test("a rejected receipt is recorded with its outcome")
    func rejectedReceipt() async throws {
        let fixture = try OutboxFixture()
        defer { fixture.removeAll() }
        try await fixture.outbox.commit { tx in
            try tx.recordReceipt(source: "src", sha256: "bad", fileName: "x", size: 1, events: 1, outcome: .rejected)
        }
        #expect(try await fixture.outbox.receipt(source: "src", sha256: "bad")?.outcome == .rejected)
    }

    @Test("when the commit closure throws, neither events nor receipt are kept")
    func rollback() async throws {
        let fixture = try OutboxFixture()
        defer { fixture.removeAll() }
        try await fixture.append([event("before")])
        let bytesBefore = fixture.outbox.undeliveredBytes

        await #expect(throws: Boom.self) {
            try await fixture.outbox.commit { tx in
                try tx.append(event("a"), source: "src", fileName: "f")
                try tx.append(event("b"), source: "src", fileName: "f")
                try tx.recordReceipt(source: "src", sha256: "s", fileName: "f", size: 2, events: 2, outcome: .committed)
                throw Boom()
            }
        }

        #expect(try await fixture.outbox.receipt(source: "src", sha256: "s") == nil)
        let ids = try await fixture.outbox.outboundEvents(try await fixture.pendingSequences()).map(\.id)
        #expect(ids == ["before"])
        #expect(fixture.outbox.undeliveredBytes == bytesBefore)
        let payloads = try fixture.query { try Int.fetchOne($0, sql: "SELECT count(*) FROM payload") }
        #expect(payloads == 1)

        // The ids of the rolled-back events are free again.
        #expect(try await fixture.append([event("a"), event("b")]) == 2)
    }

    @Test("pendingWindow lists pending events oldest first, up to the limit, without delivered or dead ones")
    func pendingWindowOrder() async throws {
        let fixture = try OutboxFixture()
        defer { fixture.removeAll() }
        try await fixture.append([event("a", key: "k1"), event("b", key: "k2", padding: 10), event("c", key: "k1")])
        try await fixture.append([event("d", key: "k3"), event("e", key: "k2")])

        let all = try await fixture.outbox.pendingWindow(limit: 100)
        #expect(all.map(\.partitionKey) == ["k1", "k2", "k1", "k3", "k2"])
        #expect(all[1].bytes == event("b", padding: 10).json.count)
        #expect(try await fixture.outbox.pendingWindow(limit: 2) == Array(all.prefix(2)))

        try await fixture.outbox.acknowledge(delivered: [all[0].sequence], deadLetters: [(all[2].sequence, "no")])
        let rest = try await fixture.outbox.pendingWindow(limit: 100)
        #expect(rest == [all[1], all[3], all[4]])
    }

    @Test("outboundEvents returns the stored JSON unchanged, in outbox order, for the asked sequences only")
    func payloadRoundTrip() async throws {
        let fixture = try OutboxFixture()
        defer { fixture.removeAll() }
        let unicode = EncodedEvent(
            id: "u", type: "t", subject: "s", partitionKey: "p",
            json: Array("{\"id\":\"u\",\"data\":\"Grüße \\\"quoted\\\" \\n ✓\"}".utf8) + [0xF0, 0x9F, 0x93, 0xA6])
        try await fixture.append([event("a", key: "ka"), unicode, event("c", padding: 5000)])
        let sequences = try await fixture.pendingSequences()

        let back = try await fixture.outbox.outboundEvents(sequences.reversed())
        #expect(back.map(\.sequence) == sequences)
        #expect(back.map(\.id) == ["a", "u", "c"])
        #expect(back.map(\.partitionKey) == ["ka", "p", "k"])
        #expect(back[0].json == event("a").json)
        #expect(back[1].json == unicode.json)
        #expect(back[2].json == event("c", padding: 5000).json)

        #expect(try await fixture.outbox.outboundEvents([sequences[1]]).map(\.id) == ["u"])
        #expect(try await fixture.outbox.outboundEvents([]).isEmpty)
        #expect(try await fixture.outbox.outboundEvents([9_999]).isEmpty)

        // Nearly consecutive (read as one range, the rows between skipped) and scattered (read
        // by number): either way exactly the events asked for, with their own keys.
        try await fixture.append((0..<10).map { event("n\($0)", key: $0 % 3 == 0 ? "ka" : "kb") })
        let more = Array(try await fixture.pendingSequences().suffix(10))
        let gappy = [more[0], more[1], more[3], more[4], more[5]]
        let read = try await fixture.outbox.outboundEvents(gappy)
        #expect(read.map(\.sequence) == gappy)
        #expect(read.map(\.id) == ["n0", "n1", "n3", "n4", "n5"])
        #expect(read.map(\.partitionKey) == ["ka", "kb", "ka", "kb", "kb"])
        #expect(read[2].json == event("n3", key: "ka").json)
        let scattered = try await fixture.outbox.outboundEvents([more[9], more[0]])
        #expect(scattered.map(\.id) == ["n0", "n9"] && scattered.map(\.partitionKey) == ["ka", "ka"])
    }

    @Test("undeliveredBytes counts what this process appended and survives a reopen")
    func countersAcrossReopen() async throws {
        let fixture = try OutboxFixture()
        defer { fixture.removeAll() }
        try await fixture.append([event("a", padding: 100), event("b", padding: 200)])
        let expected = Int64(event("a", padding: 100).json.count + event("b", padding: 200).json.count)
        #expect(fixture.outbox.undeliveredBytes == expected)

        let reopened = try Outbox(path: fixture.path)
        #expect(reopened.undeliveredBytes == expected)
    }
}
