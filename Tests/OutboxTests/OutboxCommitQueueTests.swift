import EventModel
import Foundation
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
