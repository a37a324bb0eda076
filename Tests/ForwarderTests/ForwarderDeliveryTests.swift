import EventModel
import Forwarder
import Foundation
import Outbox
import TestSupport
import Testing

@Suite("Forwarder delivery: order, retries, splits, dead letters, pause")
struct ForwarderDeliveryTests {
    static let delivered = DeliveryOutcome.delivered(rejected: [:])

    @Test("each key's events reach the sink in outbox order, never in two batches at once; all delivered once")
    func orderPerKey() async throws {
        let fixture = try ForwarderFixture()
        defer { fixture.removeAll() }
        var rng = SeededGenerator(state: 7)
        let keys = (0..<150).map { _ in ["A", "B", "C"].randomElement(using: &rng)! }
        let sequences = try await fixture.append(keys: keys)
        let sink = ScriptedSink { _ in (Self.delivered, Double.random(in: 0.001...0.008)) }

        try await fixture.run(sink: sink, settings: ForwarderFixture.settings(batchMaxEvents: 3, maxConcurrency: 4)) { (forwarder: Forwarder) async throws in
            #expect(try await eventually { try await fixture.pendingCount == 0 })
            #expect(await eventually { forwarder.snapshot.delivered == sequences.count })
        }

        expectEachOnceInKeyOrder(sink.calls.flatMap(\.events), sequences, sink)
        #expect(sink.maxInFlight >= 2, "batches of different keys should overlap")
        #expect(sink.maxInFlight <= 4)
        #expect(sink.calls.allSatisfy { $0.events.count <= 3 })
        let status = try await fixture.outbox.status()
        #expect(status.pendingEvents == 0)
        #expect(status.deliveredRetained == Int64(sequences.count))
        #expect(status.deadLetters == 0)
    }

    /// 144 events of three keys, one after another (as IDocs of several systems arrive), sent
    /// in batches of at most 12 with up to four in flight: what the sink saw and the
    /// forwarder's snapshot at the end.
    private func deliverInterleaved(to sink: ScriptedSink) async throws -> (sequences: [Int64], snapshot: ForwarderSnapshot) {
        let fixture = try ForwarderFixture()
        defer { fixture.removeAll() }
        let sequences = try await fixture.append(keys: (0..<144).map { ["A", "B", "C"][$0 % 3] })
        var snapshot: ForwarderSnapshot?
        try await fixture.run(sink: sink, settings: ForwarderFixture.settings(batchMaxEvents: 12, maxConcurrency: 4)) {
            (forwarder: Forwarder) async throws in
            #expect(try await eventually { try await fixture.pendingCount == 0 })
            snapshot = forwarder.snapshot
        }
        return (sequences, try #require(snapshot))
    }

    @Test("interleaved keys and a sink slower than batches are made: the keys are shared out, batches of different keys overlap")
    func keysSharedOutWhenTheSinkIsSlow() async throws {
        // Each batch of 12 would hold all three keys, leaving nothing for a second batch until
        // the first is answered.
        let sink = ScriptedSink(always: Self.delivered, delay: 0.04)
        let (sequences, snapshot) = try await deliverInterleaved(to: sink)
        expectEachOnceInKeyOrder(sink.calls.flatMap(\.events), sequences, sink)
        #expect(snapshot.keySharingBatches > 0)
        #expect(sink.maxInFlight >= 2, "batches of different keys should overlap")
        // The first batch, before any answer was timed, takes every key; once the sink is known
        // to be slow, most take one.
        #expect(Set(sink.calls[0].events.map(\.partitionKey)).count == 3)
        let singleKey = sink.calls.filter { Set($0.events.map(\.partitionKey)).count == 1 }.count
        #expect(singleKey * 2 > sink.calls.count, "\(singleKey) of \(sink.calls.count) batches hold one key")
    }

    @Test("interleaved keys and a sink that answers at once: each batch takes every free key")
    func keysTakenTogetherWhenTheSinkIsFast() async throws {
        let sink = ScriptedSink(always: Self.delivered)
        let (sequences, snapshot) = try await deliverInterleaved(to: sink)
        #expect(sink.calls.flatMap(\.events).map(\.sequence).sorted() == sequences)
        #expect(snapshot.keySharingBatches == 0)
        #expect(sink.calls.allSatisfy { Set($0.events.map(\.partitionKey)).count == 3 }, "every batch of 12 holds the three keys")
        #expect(sink.calls.count == 12)
    }

    @Test("order per key holds across retries and splits: each key's delivered events arrive in outbox order, once")
    func orderPerKeyUnderFailures() async throws {
        let fixture = try ForwarderFixture()
        defer { fixture.removeAll() }
        var rng = SeededGenerator(state: 99)
        let keys = (0..<120).map { _ in ["A", "B", "C", "D"].randomElement(using: &rng)! }
        let sequences = try await fixture.append(keys: keys)
        let sink = ScriptedSink { call in
            let roll = Int.random(in: 0..<10)
            if roll < 2 { return (.retry(after: nil, reason: "hub answered 503"), 0.001) }
            if roll < 4 && call.events.count > 1 { return (.tooLarge, 0) }
            return (Self.delivered, Double.random(in: 0...0.004))
        }

        try await fixture.run(sink: sink, settings: ForwarderFixture.settings(batchMaxEvents: 6, maxConcurrency: 4)) { (_: Forwarder) async throws in
            #expect(try await eventually(timeout: 10) { try await fixture.pendingCount == 0 })
        }

        expectEachOnceInKeyOrder(sink.deliveredCalls.flatMap(\.events), sequences, sink)
        #expect(try await fixture.outbox.deadLetters().isEmpty)
    }

    @Test("a retried batch is sent again unchanged and delivered once; retries are counted")
    func retryThenDeliver() async throws {
        let fixture = try ForwarderFixture()
        defer { fixture.removeAll() }
        let sequences = try await fixture.append(keys: Array(repeating: "k", count: 5))
        let sink = ScriptedSink { call in
            call.number <= 2 ? (.retry(after: nil, reason: "hub answered 503"), 0) : (Self.delivered, 0)
        }

        try await fixture.run(sink: sink, settings: ForwarderFixture.settings()) { (forwarder: Forwarder) async throws in
            #expect(try await eventually { try await fixture.pendingCount == 0 })
            #expect(forwarder.snapshot.retries == 2)
            #expect(forwarder.snapshot.delivered == 5)
        }

        #expect(sink.calls.map(\.sequences) == Array(repeating: sequences, count: 3))
        let status = try await fixture.outbox.status()
        #expect(status.deliveredRetained == 5)
        // The delivery that finally succeeded clears the error the retries left behind.
        #expect(status.lastDeliveryError == nil)
        #expect(try await fixture.outbox.stateValues()[OutboxStateKey.lastDeliveryAt] != nil)
    }

    @Test("a Retry-After from the hub is waited out before the next attempt")
    func retryAfterHonoured() async throws {
        let fixture = try ForwarderFixture()
        defer { fixture.removeAll() }
        try await fixture.append(keys: ["k"])
        let sink = ScriptedSink { call in
            call.number == 1 ? (.retry(after: 0.3, reason: "hub answered 429"), 0) : (Self.delivered, 0)
        }
        var settings = ForwarderFixture.settings()
        settings.retryMax = 5
        try await fixture.run(sink: sink, settings: settings) { (_: Forwarder) async throws in
            #expect(try await eventually { try await fixture.pendingCount == 0 })
        }
        let calls = sink.calls
        try #require(calls.count == 2)
        #expect(calls[0].startedAt.duration(to: calls[1].startedAt) >= .milliseconds(300))
    }

    @Test("413: batches are halved until they fit; every event is delivered, in order")
    func splitOnTooLarge() async throws {
        let fixture = try ForwarderFixture()
        defer { fixture.removeAll() }
        let sequences = try await fixture.append(keys: Array(repeating: "k", count: 11))
        let sink = ScriptedSink { call in (call.events.count > 2 ? .tooLarge : Self.delivered, 0) }

        try await fixture.run(sink: sink, settings: ForwarderFixture.settings(batchMaxEvents: 8)) { (forwarder: Forwarder) async throws in
            #expect(try await eventually { try await fixture.pendingCount == 0 })
            #expect(forwarder.snapshot.deadLettered == 0)
        }

        let delivered = sink.deliveredCalls
        #expect(delivered.allSatisfy { $0.events.count <= 2 })
        #expect(delivered.flatMap(\.sequences) == sequences)
        #expect(sink.calls.first?.events.count == 8)
        #expect(try await fixture.outbox.deadLetters().isEmpty)
    }

    @Test("413 for a single event dead-letters that event only")
    func singleEventTooLarge() async throws {
        let fixture = try ForwarderFixture()
        defer { fixture.removeAll() }
        let sequences = try await fixture.append(keys: ["k", "k", "k"], padding: { $0 == 1 ? 1000 : 0 })
        let sink = ScriptedSink { call in (call.ids.contains("e2") ? .tooLarge : Self.delivered, 0) }

        try await fixture.run(sink: sink, settings: ForwarderFixture.settings()) { (_: Forwarder) async throws in
            #expect(try await eventually { try await fixture.pendingCount == 0 })
        }

        let dead = try await fixture.outbox.deadLetters()
        #expect(dead.map(\.id) == ["e2"])
        #expect(dead.first?.reason.contains("413") == true)
        #expect(sink.deliveredCalls.flatMap(\.sequences) == [sequences[0], sequences[2]])
    }

    @Test("a refused batch is split to isolate the poison event; only it is dead-lettered, the rest go in order")
    func rejectIsolation() async throws {
        let fixture = try ForwarderFixture()
        defer { fixture.removeAll() }
        let keys = ["A", "B", "A", "B", "A", "B", "A", "B", "A"]
        let sequences = try await fixture.append(keys: keys)
        let poison = "e5"
        let reason = "hub answered 400: event e5 has no type"
        let sink = ScriptedSink { call in (call.ids.contains(poison) ? .reject(reason: reason) : Self.delivered, 0) }

        try await fixture.run(sink: sink, settings: ForwarderFixture.settings()) { (forwarder: Forwarder) async throws in
            #expect(try await eventually { try await fixture.pendingCount == 0 })
            #expect(forwarder.snapshot.deadLettered == 1)
            #expect(forwarder.snapshot.delivered == 8)
        }

        let dead = try await fixture.outbox.deadLetters()
        #expect(dead.map(\.id) == [poison])
        #expect(dead.first?.reason == reason)
        let delivered = sink.deliveredCalls.flatMap(\.events)
        #expect(delivered.map(\.sequence) == sequences.filter { $0 != sequences[4] })
        for key in ["A", "B"] {
            let order = delivered.filter { $0.partitionKey == key }.map(\.sequence)
            #expect(order == order.sorted())
        }
        #expect(try await fixture.outbox.status().deliveredRetained == 8)
    }

    @Test("events the hub names as rejected in a 200 answer are dead-lettered with its reason")
    func deliveredWithRejections() async throws {
        let fixture = try ForwarderFixture()
        defer { fixture.removeAll() }
        try await fixture.append(keys: ["k", "k", "k", "j"])
        let sink = ScriptedSink(always: .delivered(rejected: ["e2": "schema violation", "e4": "unknown type", "zz": "not ours"]))

        try await fixture.run(sink: sink, settings: ForwarderFixture.settings()) { (forwarder: Forwarder) async throws in
            #expect(try await eventually { try await fixture.pendingCount == 0 })
            #expect(forwarder.snapshot.deadLettered == 2)
            #expect(forwarder.snapshot.delivered == 2)
        }

        #expect(sink.callCount == 1)
        let dead = try await fixture.outbox.deadLetters()
        #expect(dead.map(\.id) == ["e2", "e4"])
        #expect(dead.map(\.reason) == ["schema violation", "unknown type"])
        #expect(try await fixture.outbox.status().deliveredRetained == 2)
    }

    @Test("pause: no new batches while the hub refuses the credentials; nothing lost; resumes and clears the state")
    func pauseAndResume() async throws {
        let fixture = try ForwarderFixture()
        defer { fixture.removeAll() }
        let sequences = try await fixture.append(keys: ["A", "B", "C", "A", "B", "C"])
        let reason = "hub answered 401: unknown token"
        let authorised = Flag()
        let sink = ScriptedSink { _ in (authorised.isSet ? Self.delivered : .pause(reason: reason), 0.002) }

        try await fixture.run(sink: sink, settings: ForwarderFixture.settings(batchMaxEvents: 1, maxConcurrency: 4)) { (forwarder: Forwarder) async throws in
            #expect(await eventually { forwarder.snapshot.paused == reason })
            #expect(try await eventually { try await fixture.outbox.status().deliveryPaused == reason })
            #expect(await eventually { sink.callCount >= 6 }, "the paused batches keep probing the hub")
            #expect(try await fixture.pendingCount == 6)
            let probed = Set(sink.calls.flatMap(\.sequences))
            #expect(probed.isSubset(of: Set(sequences.prefix(3))), "no new batch starts while paused: \(probed)")

            authorised.set()
            #expect(try await eventually { try await fixture.pendingCount == 0 })
            #expect(await eventually { forwarder.snapshot.paused == nil })
            #expect(try await eventually { try await fixture.outbox.status().deliveryPaused == nil })
        }

        #expect(sink.deliveredCalls.flatMap(\.sequences).sorted() == sequences)
        #expect(try await fixture.outbox.deadLetters().isEmpty)
    }
}
