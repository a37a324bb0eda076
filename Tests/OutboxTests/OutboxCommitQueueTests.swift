import EventModel
import Foundation
import GRDB
@testable import Outbox
import Testing

@Suite("Outbox commit queue")
struct OutboxCommitQueueTests {
    struct Refused: Error, Equatable {
        let n: Int
    }

    @Test("bodies queued one after another commit in that order, several to a transaction; one that throws rolls back alone")
    func queuedBodiesCommitInOrderTogether() async throws {
        let fixture = try OutboxFixture()
        defer { fixture.removeAll() }
        let logSync = try #require(fixture.outbox.logSync)
        let commitsBefore = logSync.lastCounted
        let queued = (0..<60).map { n in
            fixture.outbox.queueCommit { tx -> Int in
                try tx.append(contentsOf: [event("e-\(n)"), event("f-\(n)")], source: "src", fileName: "f\(n).xml")
                if n == 17 || n == 41 { throw Refused(n: n) }
                return tx.inserted
            }
        }
        var refused: [Int] = []
        var last = OutboxCommit(number: 0)
        for (n, commit) in queued.enumerated() {
            do {
                let (inserted, number) = try await commit.result()
                #expect(inserted == 2)
                #expect(number.number >= last.number, "commit numbers never go back")
                last = number
            } catch let error as Refused {
                #expect(error.n == n)
                refused.append(n)
            }
        }
        #expect(refused == [17, 41])
        try await fixture.outbox.waitUntilDurable(last)
        let expected = (0..<60).filter { ![17, 41].contains($0) }.flatMap { ["e-\($0)", "f-\($0)"] }
        let ids = try fixture.query { db in try String.fetchAll(db, sql: "SELECT id FROM event ORDER BY seq") }
        #expect(ids == expected)
        let commits = logSync.lastCounted - commitsBefore
        #expect(commits >= 1 && commits < 60, "\(commits) transactions for 60 bodies queued at once")
        // Nothing of the refused bodies is left: no payload without its event.
        let payloads = try fixture.query { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM payload") }
        #expect(payloads == expected.count)
    }

    @Test("an insert refused half-way through its rows leaves none of them: its body rolls back alone, the next takes its numbers")
    func insertRefusedHalfWayLeavesNothing() async throws {
        let fixture = try OutboxFixture()
        defer { fixture.removeAll() }
        // A payload row without its event at number 4: the second body's events take 3, 4 and 5,
        // so its payload insert is refused at its second row, after the first went in.
        let writer = try fixture.otherConnection()
        try await writer.write { db in try db.execute(sql: "INSERT INTO payload (seq, json) VALUES (4, x'7b7d')") }
        let bodies: [[EncodedEvent]] = [
            [event("a1"), event("a2")], [event("b1", padding: 5), event("b2"), event("b3")], [event("c1", padding: 9)],
        ]
        let queued = bodies.enumerated().map { n, events in
            fixture.outbox.queueCommit { tx -> Int in
                try tx.append(contentsOf: events, source: "src", fileName: "f\(n).xml")
                return tx.inserted
            }
        }
        #expect(try await queued[0].result().0 == 2)
        do {
            _ = try await queued[1].result()
            Issue.record("the refused payload insert did not throw")
        } catch let error as DatabaseError {
            #expect(error.resultCode == .SQLITE_CONSTRAINT, "\(error)")
        }
        let (inserted, last) = try await queued[2].result()
        #expect(inserted == 1)
        try await fixture.outbox.waitUntilDurable(last)
        let rows = try fixture.query { db in
            try Row.fetchAll(db, sql: "SELECT e.seq, e.id, p.json FROM event e JOIN payload p ON p.seq = e.seq ORDER BY e.seq")
                .map { ($0[0] as Int64, $0[1] as String, [UInt8]($0[2] as Data)) }
        }
        #expect(rows.map(\.0) == [1, 2, 3])
        #expect(rows.map(\.1) == ["a1", "a2", "c1"])
        #expect(rows.map(\.2) == [event("a1").json, event("a2").json, event("c1", padding: 9).json],
                "number 3 holds the third body's event, not the refused body's first payload")
        #expect(try fixture.query { try Int.fetchOne($0, sql: "SELECT count(*) FROM payload") } == 4)
    }

    @Test("a body queued after the writer went idle is committed by a new drain")
    func aLaterBodyStartsTheWriterAgain() async throws {
        let fixture = try OutboxFixture()
        defer { fixture.removeAll() }
        for n in 0..<5 {
            let (inserted, commit) = try await fixture.outbox.queueCommit { tx -> Int in
                try tx.append(event("late-\(n)"), source: "src", fileName: "x")
                return tx.inserted
            }.result()
            #expect(inserted == 1)
            try await fixture.outbox.waitUntilDurable(commit)
        }
        #expect(try await fixture.pendingSequences().count == 5)
    }

    @Test("bodies without a savepoint share one: when one throws, every body of its transaction gets the error and none commits")
    func bodiesWithoutSavepointsFailTogether() async throws {
        let fixture = try OutboxFixture()
        defer { fixture.removeAll() }
        // The first body holds the writer until the others are queued, so that they make one
        // transaction of their own.
        let running = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let first = fixture.outbox.queueCommit { tx -> Int in
            running.signal()
            release.wait()
            try tx.append(event("first"), source: "src", fileName: "first")
            return tx.inserted
        }
        running.wait()
        let together = (0..<10).map { n in
            fixture.outbox.queueCommit(rollsBackAlone: false) { tx -> Int in
                try tx.append(event("together-\(n)"), source: "src", fileName: "t\(n)")
                if n == 5 { throw Refused(n: n) }
                return tx.inserted
            }
        }
        release.signal()
        #expect(try await first.result().0 == 1)
        for commit in together {
            await #expect(throws: Refused(n: 5)) { try await commit.result() }
        }
        let ids = try fixture.query { db in try String.fetchAll(db, sql: "SELECT id FROM event ORDER BY seq") }
        #expect(ids == ["first"])
        let payloads = try fixture.query { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM payload") }
        #expect(payloads == 1)

        // Beside them, a body in a savepoint of its own that throws still rolls back alone.
        let holding = fixture.outbox.queueCommit { tx -> Int in
            running.signal()
            release.wait()
            return 0
        }
        running.wait()
        let mixed = (0..<6).map { n in
            fixture.outbox.queueCommit(rollsBackAlone: n == 2) { tx -> Int in
                try tx.append(event("mixed-\(n)"), source: "src", fileName: "m\(n)")
                if n == 2 { throw Refused(n: n) }
                return tx.inserted
            }
        }
        release.signal()
        _ = try await holding.result()
        for (n, commit) in mixed.enumerated() {
            if n == 2 {
                await #expect(throws: Refused(n: 2)) { try await commit.result() }
            } else {
                #expect(try await commit.result().0 == 1)
            }
        }
        let all = try fixture.query { db in try String.fetchAll(db, sql: "SELECT id FROM event ORDER BY seq") }
        #expect(all == ["first", "mixed-0", "mixed-1", "mixed-3", "mixed-4", "mixed-5"])
    }
}
