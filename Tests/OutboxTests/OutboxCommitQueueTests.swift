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
}
