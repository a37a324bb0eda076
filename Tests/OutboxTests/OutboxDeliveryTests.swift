import EventModel
import Foundation
import GRDB
import Outbox
import Testing

@Suite("Outbox delivery bookkeeping, dead letters, replay and pruning")
struct OutboxDeliveryTests {
    @Test("acknowledge marks events delivered and lowers the undelivered counters")
    func acknowledgeDelivered() async throws {
        let fixture = try OutboxFixture()
        defer { fixture.removeAll() }
        let events = [event("a", padding: 10), event("b", padding: 20), event("c", padding: 30)]
        try await fixture.append(events)
        let total = Int64(events.map(\.json.count).reduce(0, +))
        #expect(fixture.outbox.undeliveredBytes == total)
        let sequences = try await fixture.pendingSequences()

        let before = Date().timeIntervalSince1970
        try await fixture.outbox.acknowledge(delivered: Array(sequences.prefix(2)))
        #expect(fixture.outbox.undeliveredBytes == Int64(events[2].json.count))
        #expect(try await fixture.pendingSequences() == [sequences[2]])

        let status = try await fixture.outbox.status()
        #expect(status.pendingEvents == 1)
        #expect(status.deliveredRetained == 2)
        #expect(try #require(status.lastDeliveryAt) >= before)

        // Acknowledging again changes nothing (the forwarder may retry its bookkeeping).
        try await fixture.outbox.acknowledge(delivered: Array(sequences.prefix(2)))
        #expect(fixture.outbox.undeliveredBytes == Int64(events[2].json.count))

        try fixture.outbox.refreshCounters()
        #expect(fixture.outbox.undeliveredBytes == Int64(events[2].json.count))
    }

    @Test("acknowledge takes scattered numbers and whole runs alike, each event counted once")
    func acknowledgeScatteredAndRuns() async throws {
        let fixture = try OutboxFixture()
        defer { fixture.removeAll() }
        let events = (0..<6).map { event("r\($0)", padding: 10 * $0) }
        try await fixture.append(events)
        let s = try await fixture.pendingSequences()
        let size = { (i: Int) in Int64(events[i].json.count) }

        // Scattered, out of order: listed in the statements.
        #expect(try await fixture.outbox.acknowledge(delivered: [s[3], s[0]]).count == 2)
        #expect(try await fixture.pendingSequences() == [s[1], s[2], s[4], s[5]])
        #expect(fixture.outbox.undeliveredBytes == size(1) + size(2) + size(4) + size(5))

        // A whole run over events of which two were delivered already: only the other three
        // become delivered and leave the counters; the one outside the run stays pending.
        #expect(try await fixture.outbox.acknowledge(delivered: Array(s[0...4])).count == 3)
        #expect(try await fixture.pendingSequences() == [s[5]])
        #expect(fixture.outbox.undeliveredBytes == size(5))
        try fixture.outbox.refreshCounters()
        #expect(fixture.outbox.undeliveredBytes == size(5))
        #expect(try await fixture.outbox.status().deliveredRetained == 5)
    }

    @Test("the window read from a number holds the pending events above it, in order, at most the limit")
    func pendingWindowAfterANumber() async throws {
        let fixture = try OutboxFixture()
        defer { fixture.removeAll() }
        try await fixture.append((1...6).map { event("w\($0)", key: $0 % 2 == 0 ? "even" : "odd") })
        let all = try await fixture.pendingSequences()
        #expect(all.count == 6)
        try await fixture.outbox.acknowledge(delivered: [all[3]], deadLetters: [(sequence: all[4], reason: "refused")])

        let after = try await fixture.outbox.pendingWindow(after: all[1], limit: 10)
        #expect(after.map(\.sequence) == [all[2], all[5]], "delivered and dead events are not pending")
        #expect(after.map(\.partitionKey) == ["odd", "even"])
        #expect(try await fixture.outbox.pendingWindow(after: all[1], limit: 1).map(\.sequence) == [all[2]])
        #expect(try await fixture.outbox.pendingWindow(after: all[5], limit: 10).isEmpty)
        #expect(try await fixture.outbox.pendingWindow(limit: 10).map(\.sequence) == [all[0], all[1], all[2], all[5]])

        // Committed later: above every number read before.
        try await fixture.append([event("w7", key: "odd")])
        let later = try await fixture.outbox.pendingWindow(after: all[5], limit: 10)
        #expect(later.count == 1)
        #expect(try #require(later.first).sequence > all[5])
    }

    @Test("dead letters: listed with reason, shown with JSON, replayed to pending, purged")
    func deadLetterLifecycle() async throws {
        let fixture = try OutboxFixture()
        defer { fixture.removeAll() }
        try await fixture.append([event("a"), event("b"), event("c"), event("d")], source: "sap", fileName: "in.xml")
        let s = try await fixture.pendingSequences()

        try await fixture.outbox.acknowledge(
            delivered: [s[0]], deadLetters: [(s[1], "schema: missing field"), (s[3], "too old")])
        #expect(try await fixture.pendingSequences() == [s[2]])

        let list = try await fixture.outbox.deadLetters()
        #expect(list.map(\.id) == ["b", "d"])
        #expect(list.map(\.sequence) == [s[1], s[3]])
        #expect(list[0].reason == "schema: missing field")
        #expect(list[0].type == "test.event")
        #expect(list[0].subject == "subject-b")
        #expect(list[0].source == "sap")
        #expect(list[0].fileName == "in.xml")
        #expect(list[0].attempts == 1)
        #expect(list[0].json == nil)
        #expect(try await fixture.outbox.deadLetters(limit: 1).map(\.id) == ["b"])

        let shown = try #require(try await fixture.outbox.deadLetter(id: "d"))
        #expect(shown.reason == "too old")
        #expect(shown.json == event("d").json)
        #expect(try await fixture.outbox.deadLetter(id: "c") == nil, "a pending event is not a dead letter")
        #expect(try await fixture.outbox.deadLetter(id: "nope") == nil)

        var status = try await fixture.outbox.status()
        #expect(status.deadLetters == 2)
        #expect(status.deadLetterBytes == Int64(event("b").json.count + event("d").json.count))

        // Replay one: back to pending, in its original place, reason cleared.
        #expect(try await fixture.outbox.replayDeadLetters(ids: ["b", "c", "nope"]) == 1)
        #expect(try await fixture.pendingSequences() == [s[1], s[2]])
        #expect(try await fixture.outbox.deadLetters().map(\.id) == ["d"])
        let reasonCleared = try fixture.query { try Bool.fetchOne($0, sql: "SELECT last_error IS NULL FROM event WHERE id = 'b'") }
        #expect(reasonCleared == true)

        // Dead-letter it again and replay all.
        try await fixture.outbox.acknowledge(delivered: [], deadLetters: [(s[1], "again")])
        #expect(try await fixture.outbox.replayDeadLetters(ids: nil) == 2)
        #expect(try await fixture.pendingSequences() == [s[1], s[2], s[3]])
        #expect(try await fixture.outbox.deadLetters().isEmpty)

        // Purge: by id, then all; payloads go with them; counters follow.
        try await fixture.outbox.acknowledge(delivered: [], deadLetters: [(s[1], "x"), (s[2], "y"), (s[3], "z")])
        let bytesBefore = fixture.outbox.undeliveredBytes
        #expect(try await fixture.outbox.purgeDeadLetters(ids: ["c", "a"]) == 1)
        #expect(fixture.outbox.undeliveredBytes == bytesBefore - Int64(event("c").json.count))
        #expect(try await fixture.outbox.deadLetters().map(\.id) == ["b", "d"])
        #expect(try await fixture.outbox.purgeDeadLetters(ids: nil) == 2)
        #expect(try await fixture.outbox.deadLetters().isEmpty)
        #expect(fixture.outbox.undeliveredBytes == 0)

        status = try await fixture.outbox.status()
        #expect(status.deadLetters == 0)
        #expect(status.deliveredRetained == 1)
        let rows = try fixture.query { db in
            (try Int.fetchOne(db, sql: "SELECT count(*) FROM event") ?? -1,
             try Int.fetchOne(db, sql: "SELECT count(*) FROM payload") ?? -1)
        }
        #expect(rows.0 == 1)
        #expect(rows.1 == 1)
    }

    @Test("a dead letter only applies to a pending event")
    func deadLetterOnlyPending() async throws {
        let fixture = try OutboxFixture()
        defer { fixture.removeAll() }
        try await fixture.append([event("a")])
        let s = try await fixture.pendingSequences()
        try await fixture.outbox.acknowledge(delivered: s)
        try await fixture.outbox.acknowledge(delivered: [], deadLetters: [(s[0], "late")])
        #expect(try await fixture.outbox.deadLetters().isEmpty)
        #expect(try await fixture.outbox.status().deliveredRetained == 1)
    }

    @Test("replayDelivered re-queues only events delivered at or after the given time")
    func replayDelivered() async throws {
        let fixture = try OutboxFixture()
        defer { fixture.removeAll() }
        try await fixture.append([event("old"), event("new"), event("waiting")])
        let s = try await fixture.pendingSequences()
        try await fixture.outbox.acknowledge(delivered: [s[0]])
        let between = try await timeStrictlyAfterNow()
        try await fixture.outbox.acknowledge(delivered: [s[1]])
        let bytesBefore = fixture.outbox.undeliveredBytes

        #expect(try await fixture.outbox.replayDelivered(since: between) == 1)
        #expect(try await fixture.pendingSequences() == [s[1], s[2]])
        #expect(fixture.outbox.undeliveredBytes == bytesBefore + Int64(event("new").json.count))
        #expect(try await fixture.outbox.status().deliveredRetained == 1)
        #expect(try await fixture.outbox.replayDelivered(since: Date().timeIntervalSince1970 + 60) == 0)
    }

    @Test("prune deletes only delivered events older than the cut-off, with their payloads, and old receipts")
    func prune() async throws {
        let fixture = try OutboxFixture()
        defer { fixture.removeAll() }
        try await fixture.outbox.commit { tx in
            for id in ["old", "recent", "pending", "dead"] { try tx.append(event(id), source: "src", fileName: "f") }
            try tx.recordReceipt(source: "src", sha256: "first", fileName: "f", size: 1, events: 4, outcome: .committed)
        }
        let s = try await fixture.pendingSequences()
        try await fixture.outbox.acknowledge(delivered: [s[0]], deadLetters: [(s[3], "bad")])
        let cut = try await timeStrictlyAfterNow()
        try await fixture.outbox.acknowledge(delivered: [s[1]])
        try await fixture.outbox.commit { tx in
            try tx.recordReceipt(source: "src", sha256: "second", fileName: "g", size: 1, events: 0, outcome: .committed)
        }

        #expect(try await fixture.outbox.prune(deliveredBefore: cut, receiptsBefore: cut) == 1)

        let remaining = try fixture.query { db in
            try Row.fetchAll(db, sql: "SELECT e.id, e.state, p.seq IS NOT NULL AS has_payload FROM event e LEFT JOIN payload p ON p.seq = e.seq ORDER BY e.seq")
                .map { "\($0["id"] as String):\($0["state"] as String):\($0["has_payload"] as Bool)" }
        }
        #expect(remaining == ["recent:delivered:true", "pending:pending:true", "dead:dead:true"])
        let payloads = try fixture.query { try Int.fetchOne($0, sql: "SELECT count(*) FROM payload") }
        #expect(payloads == 3, "the pruned event's payload is deleted too")
        #expect(try await fixture.outbox.receipt(source: "src", sha256: "first") == nil)
        #expect(try await fixture.outbox.receipt(source: "src", sha256: "second") != nil)

        // Sequence numbers never go back, even after the newest rows were deleted.
        let last = try #require(s.last)
        try await fixture.outbox.acknowledge(delivered: [s[2]])
        #expect(try await fixture.outbox.prune(deliveredBefore: Date().timeIntervalSince1970 + 1, receiptsBefore: 0) == 2)
        try await fixture.append([event("after")])
        #expect(try await fixture.pendingSequences().allSatisfy { $0 > last })
    }

    @Test("status reports pending, dead, delivered, oldest pending time, state values and file size")
    func statusNumbers() async throws {
        let fixture = try OutboxFixture()
        defer { fixture.removeAll() }
        var status = try await fixture.outbox.status()
        #expect(status.pendingEvents == 0)
        #expect(status.pendingBytes == 0)
        #expect(status.oldestPendingAt == nil)
        #expect(status.lastDeliveryAt == nil)
        #expect(status.databaseBytes > 0)

        let before = Date().timeIntervalSince1970
        try await fixture.append([event("a", padding: 1), event("b", padding: 2)])
        _ = try await timeStrictlyAfterNow()
        try await fixture.append([event("c", padding: 3), event("d", padding: 4)])
        let s = try await fixture.pendingSequences()
        try await fixture.outbox.acknowledge(delivered: [s[0]], deadLetters: [(s[1], "r")])
        try await fixture.outbox.setState(OutboxStateKey.deliveryPaused, "hub answered 401")
        try await fixture.outbox.setState(OutboxStateKey.intakePaused, "high watermark")
        try await fixture.outbox.setState(OutboxStateKey.lastError, "timeout")

        status = try await fixture.outbox.status()
        #expect(status.pendingEvents == 2)
        #expect(status.pendingBytes == Int64(event("c", padding: 3).json.count + event("d", padding: 4).json.count))
        #expect(status.deadLetters == 1)
        #expect(status.deadLetterBytes == Int64(event("b", padding: 2).json.count))
        #expect(status.deliveredRetained == 1)
        let oldest = try #require(status.oldestPendingAt)
        let rows = try fixture.query { db in try Double.fetchAll(db, sql: "SELECT created_at FROM event ORDER BY seq") }
        #expect(oldest == rows[2], "the oldest pending event is c, created in the second commit")
        #expect(oldest > rows[0])
        #expect(try #require(status.lastDeliveryAt) >= before)
        #expect(status.deliveryPaused == "hub answered 401")
        #expect(status.intakePaused == "high watermark")
        #expect(status.lastDeliveryError == "timeout")
        #expect(status.databaseBytes == fixture.outbox.fileBytes())
        // The database, its log and its shared memory, as the file system sizes them.
        let sizes = try ["", "-wal", "-shm"].map { suffix in
            try #require(try FileManager.default.attributesOfItem(atPath: fixture.path + suffix)[.size] as? NSNumber).int64Value
        }
        #expect(sizes[0] > 0 && sizes[1] > 0 && sizes[2] > 0)
        #expect(status.databaseBytes == sizes.reduce(0, +))
    }

    @Test("setState stores, overwrites and clears values with their time")
    func stateValues() async throws {
        let fixture = try OutboxFixture()
        defer { fixture.removeAll() }
        let before = Date().timeIntervalSince1970
        try await fixture.outbox.setState("k1", "one")
        try await fixture.outbox.setState("k2", "two")
        try await fixture.outbox.setState("k1", "uno")
        var values = try await fixture.outbox.stateValues()
        #expect(values.mapValues(\.value) == ["k1": "uno", "k2": "two"])
        #expect(try #require(values["k1"]).updatedAt >= before)

        try await fixture.outbox.setState("k2", nil)
        try await fixture.outbox.setState("never-set", nil)
        values = try await fixture.outbox.stateValues()
        #expect(values.mapValues(\.value) == ["k1": "uno"])
    }

    @Test("recordFailedAttempt counts attempts and keeps the events pending")
    func failedAttempts() async throws {
        let fixture = try OutboxFixture()
        defer { fixture.removeAll() }
        try await fixture.append([event("a")])
        let s = try await fixture.pendingSequences()
        try await fixture.outbox.recordFailedAttempt(s, error: "503")
        try await fixture.outbox.recordFailedAttempt(s, error: "timeout")
        try await fixture.outbox.recordFailedAttempt([], error: "ignored")
        #expect(try await fixture.pendingSequences() == s)
        try await fixture.outbox.acknowledge(delivered: [], deadLetters: [(s[0], "gave up")])
        let dead = try #require(try await fixture.outbox.deadLetter(id: "a"))
        #expect(dead.attempts == 3)
        #expect(dead.reason == "gave up")
    }
}

/// Waits until the wall clock has moved past the current time and returns that time, so
/// that what happened before and what happens after fall on either side of it.
func timeStrictlyAfterNow() async throws -> Double {
    let now = Date().timeIntervalSince1970
    try await Task.sleep(for: .milliseconds(5))
    #expect(Date().timeIntervalSince1970 > now)
    return now + 0.002
}
