import EventModel
import Forwarder
import Foundation
@testable import Outbox
import Synchronization
import TestSupport
import Testing

@Suite("Forwarder limits, shutdown and wake-up")
struct ForwarderLifecycleTests {
    static let delivered = DeliveryOutcome.delivered(rejected: [:])

    @Test("with a hub that always asks to retry, work stays bounded by max_concurrency and the batch limits")
    func boundedUnderRetries() async throws {
        let fixture = try ForwarderFixture()
        defer { fixture.removeAll() }
        let maxBytes = 600
        // A first event larger than batch_max_bytes, then small events of six keys.
        var keys = ["big"]
        for i in 0..<30 { keys.append("k\(i % 6)") }
        try await fixture.append(keys: keys, padding: { $0 == 0 ? 2000 : 40 })
        let sink = ScriptedSink(always: .retry(after: nil, reason: "hub answered 503"), delay: 0.002)
        let settings = ForwarderFixture.settings(batchMaxEvents: 3, batchMaxBytes: maxBytes, maxConcurrency: 2)

        try await fixture.run(sink: sink, settings: settings) { (forwarder: Forwarder) async throws in
            let deadline = Date().addingTimeInterval(5)
            while sink.callCount < 10, Date() < deadline {
                #expect(forwarder.snapshot.inFlightBatches <= 2)
                try await Task.sleep(for: .milliseconds(5))
            }
            #expect(await eventually { forwarder.snapshot.retries >= 8 })
            #expect(forwarder.snapshot.concurrencyLimit == 1, "repeated retries halve the concurrency limit")
            #expect(forwarder.snapshot.delivered == 0)
        }

        let calls = sink.calls
        #expect(calls.count >= 10)
        #expect(sink.maxInFlight <= 2)
        #expect(Set(calls.map(\.sequences)).count <= 2, "retried batches keep their slots; no other batch starts")
        for call in calls {
            #expect(call.events.count <= 3)
            #expect(call.bodyBytes <= maxBytes || call.events.count == 1, "batch of \(call.bodyBytes) bytes")
        }
        #expect(calls.contains { $0.ids == ["e1"] }, "the oversized event goes alone")
        #expect(!calls.contains { $0.ids.contains("e1") && $0.events.count > 1 })
        #expect(try await fixture.pendingCount == Int64(keys.count))
    }

    @Test("when delivering, batches respect batch_max_events and batch_max_bytes, and concurrency never passes max_concurrency")
    func batchLimitsWhileDelivering() async throws {
        let fixture = try ForwarderFixture()
        defer { fixture.removeAll() }
        let maxBytes = 1000
        var rng = SeededGenerator(state: 11)
        let paddings = (0..<60).map { i in i % 17 == 5 ? 1500 : Int.random(in: 0...300, using: &rng) }
        let keys = (0..<60).map { "k\($0 % 8)" }
        let sequences = try await fixture.append(keys: keys, padding: { paddings[$0] })
        let sink = ScriptedSink(always: Self.delivered, delay: 0.003)
        let settings = ForwarderFixture.settings(batchMaxEvents: 4, batchMaxBytes: maxBytes, maxConcurrency: 2)

        try await fixture.run(sink: sink, settings: settings) { (_: Forwarder) async throws in
            #expect(try await eventually { try await fixture.pendingCount == 0 })
        }

        let calls = sink.calls
        #expect(calls.flatMap(\.sequences).sorted() == sequences)
        #expect(sink.maxInFlight <= 2)
        #expect(sink.keyOverlaps.isEmpty)
        for call in calls {
            #expect(call.events.count <= 4)
            #expect(call.bodyBytes <= maxBytes || call.events.count == 1, "batch of \(call.bodyBytes) bytes")
        }
        let oversized = calls.filter { $0.bodyBytes > maxBytes }
        #expect(oversized.count == paddings.filter { $0 == 1500 }.count)
    }

    @Test("beginShutdown with a hanging sink: run() returns after the drain timeout; the events stay pending")
    func shutdownAbandonsHangingBatch() async throws {
        let fixture = try ForwarderFixture()
        defer { fixture.removeAll() }
        try await fixture.append(keys: ["a", "b", "c"])
        let sink = ScriptedSink(always: Self.delivered, delay: 3600)
        let forwarder = fixture.makeForwarder(sink: sink, settings: ForwarderFixture.settings(drainTimeout: 0.3))
        let task = Task { await forwarder.run() }
        #expect(await eventually { sink.inFlight > 0 })

        let started = ContinuousClock.now
        forwarder.beginShutdown()
        await task.value
        let took = started.duration(to: .now)

        #expect(took >= .milliseconds(250), "in-flight batches get the drain timeout")
        #expect(took < .seconds(2), "run() took \(took)")
        #expect(try await fixture.pendingCount == 3)
        #expect(forwarder.snapshot.delivered == 0)
        #expect(forwarder.snapshot.inFlightBatches == 0)
    }

    @Test("beginShutdown lets an in-flight batch finish within the drain timeout")
    func shutdownDrains() async throws {
        let fixture = try ForwarderFixture()
        defer { fixture.removeAll() }
        try await fixture.append(keys: ["a", "a"])
        let sink = ScriptedSink(always: Self.delivered, delay: 0.2)
        let forwarder = fixture.makeForwarder(sink: sink, settings: ForwarderFixture.settings(drainTimeout: 5))
        let task = Task { await forwarder.run() }
        #expect(await eventually { sink.inFlight > 0 })

        forwarder.beginShutdown()
        await task.value

        #expect(try await fixture.pendingCount == 0)
        #expect(sink.callCount == 1)
    }

    @Test("cancelling run() stops it promptly")
    func cancellation() async throws {
        let fixture = try ForwarderFixture()
        defer { fixture.removeAll() }
        try await fixture.append(keys: ["a"])
        let sink = ScriptedSink(always: Self.delivered, delay: 3600)
        let forwarder = fixture.makeForwarder(sink: sink, settings: ForwarderFixture.settings(drainTimeout: 60))
        let task = Task { await forwarder.run() }
        #expect(await eventually { sink.inFlight > 0 })

        let started = ContinuousClock.now
        task.cancel()
        await task.value
        #expect(started.duration(to: .now) < .seconds(2))
        #expect(try await fixture.pendingCount == 1)
    }

    @Test("notify wakes the forwarder for events committed after it started")
    func notifyWakes() async throws {
        let fixture = try ForwarderFixture()
        defer { fixture.removeAll() }
        let sink = ScriptedSink(always: Self.delivered)
        // An idle poll far longer than the test: only notify() can make it look.
        try await fixture.run(sink: sink, settings: ForwarderFixture.settings(idlePoll: 600)) { (forwarder: Forwarder) async throws in
            try await Task.sleep(for: .milliseconds(50))
            let sequences = try await fixture.append(keys: ["a", "b", "a"])
            try await Task.sleep(for: .milliseconds(200))
            #expect(sink.callCount == 0, "nothing should wake the forwarder but notify()")

            forwarder.notify()
            #expect(try await eventually { try await fixture.pendingCount == 0 })
            #expect(sink.calls.flatMap(\.sequences).sorted() == sequences)

            let more = try await fixture.append(keys: ["c"], idPrefix: "later")
            forwarder.notify()
            #expect(try await eventually { try await fixture.pendingCount == 0 })
            #expect(sink.calls.last?.sequences == more)
        }
    }

    @Test("a commit right after a read that found only busy keys is still sent promptly")
    func commitAfterFruitlessRead() async throws {
        let fixture = try ForwarderFixture()
        defer { fixture.removeAll() }
        // Key a's batches take 3 s; b's are answered at once.
        let sink = ScriptedSink { call in
            (Self.delivered, call.events.contains { $0.partitionKey == "a" } ? 3 : 0)
        }
        try await fixture.run(sink: sink, settings: ForwarderFixture.settings(idlePoll: 600)) { (forwarder: Forwarder) async throws in
            _ = try await fixture.append(keys: ["a"])
            forwarder.notify()
            #expect(try await eventually { sink.inFlight == 1 })
            _ = try await fixture.append(keys: ["a"], idPrefix: "second")
            forwarder.notify()  // reads the window: only key a, which is busy
            try await Task.sleep(for: .milliseconds(2))
            let b = try await fixture.append(keys: ["b"], idPrefix: "other")
            forwarder.notify()
            #expect(try await eventually(timeout: 1.5) { sink.calls.contains { $0.sequences == b } },
                    "key b is sent long before key a's batch returns")
        }
    }
}

extension ForwarderLifecycleTests {
    @Test("one key's stream: each batch costs one read of the window, not a second that finds only the busy key")
    func oneReadPerBatchOfOneKey() async throws {
        let fixture = try ForwarderFixture()
        defer { fixture.removeAll() }
        _ = try await fixture.append(keys: Array(repeating: "a", count: 50))
        let sink = ScriptedSink(always: Self.delivered, delay: 0.03)
        var reads = 0
        try await fixture.run(sink: sink, settings: ForwarderFixture.settings(batchMaxEvents: 5, idlePoll: 600)) { (forwarder: Forwarder) async throws in
            forwarder.notify()
            #expect(try await eventually { try await fixture.pendingCount == 0 })
            reads = forwarder.snapshot.windowReads
        }
        #expect(sink.calls.count == 10)
        #expect(sink.calls.flatMap(\.ids) == (1...50).map { "e\($0)" })
        // 10 batches: a read after each pick would make it 20 at least. A batch slower than the
        // fruitless read's 100 ms validity may add one.
        #expect(reads >= 10 && reads <= 15, "window reads: \(reads)")
    }

    @Test("between reads of the whole window a read takes only the events committed since; each event is sent once, in order per key")
    func readsTakeOnlyNewEvents() async throws {
        let fixture = try ForwarderFixture()
        defer { fixture.removeAll() }
        var rng = SeededGenerator(state: 24)
        var sequences = try await fixture.append(keys: (0..<60).map { _ in ["A", "B", "C"].randomElement(using: &rng)! })
        let sink = ScriptedSink { _ in (Self.delivered, Double.random(in: 0.001...0.004)) }
        var snapshot: ForwarderSnapshot?
        // A window of (2 + 1) × 5 = 15 events; 300 events in batches of at most 5.
        try await fixture.run(sink: sink, settings: ForwarderFixture.settings(batchMaxEvents: 5, maxConcurrency: 2, idlePoll: 600)) {
            (forwarder: Forwarder) async throws in
            forwarder.notify()
            for round in 1...4 {
                try await Task.sleep(for: .milliseconds(15))
                let more = (0..<60).map { _ in ["A", "B", "C"].randomElement(using: &rng)! }
                sequences += try await fixture.append(keys: more, idPrefix: "r\(round)-")
                forwarder.notify()
            }
            #expect(try await eventually { try await fixture.pendingCount == 0 })
            #expect(await eventually { forwarder.snapshot.delivered == sequences.count })
            snapshot = forwarder.snapshot
        }
        expectEachOnceInKeyOrder(sink.calls.flatMap(\.events), sequences, sink)
        // Reading the whole window each time takes up to 15 rows a read, for 60 reads and more;
        // reading what is new takes each event about once, plus a whole window a second.
        let reads = try #require(snapshot).windowReads
        let rows = try #require(snapshot).windowRows
        #expect(reads >= 60, "window reads: \(reads)")
        #expect(rows < 2 * sequences.count, "rows read: \(rows) in \(reads) reads for \(sequences.count) events")
    }

    @Test("a quiet forwarder leaves the outbox alone until a notice or a commit; another process's commit is found")
    func quietOutboxIsNotReadAgain() async throws {
        let fixture = try ForwarderFixture()
        defer { fixture.removeAll() }
        let sink = ScriptedSink { _ in (Self.delivered, 0) }
        // Idle polls every 20 ms; an empty outbox stands for a minute.
        try await fixture.run(sink: sink, settings: ForwarderFixture.settings(idlePoll: 0.02)) { (forwarder: Forwarder) async throws in
            #expect(await eventually { forwarder.snapshot.windowReads >= 1 })
            let loopBefore = try #require(forwarder.snapshot.lastLoopAt)
            let readsBefore = forwarder.snapshot.windowReads
            try await Task.sleep(for: .milliseconds(300))
            // About 15 idle polls went round (the watchdog's sign of life), none read.
            #expect(try #require(forwarder.snapshot.lastLoopAt) > loopBefore)
            #expect(forwarder.snapshot.windowReads == readsBefore, "idle polls read the empty outbox")
            #expect(forwarder.foundEmpty)

            // A commit without a notice, as another process's (`outpost dlq replay`) is.
            // (The forwarder may send them before `append` reads the outbox back, so the sink's
            // count is compared, not the numbers `append` returns.)
            _ = try await fixture.append(keys: ["a", "b"])
            #expect(try await eventually { try await fixture.pendingCount == 0 })
            let sent = sink.calls.flatMap(\.sequences)
            #expect(sent.count == 2 && Set(sent).count == 2, "sent: \(sent)")

            // Quiet again once a read of the whole window (one a second) finds it empty; a
            // notice makes the next poll read.
            try await Task.sleep(for: .milliseconds(1_300))
            let quietReads = forwarder.snapshot.windowReads
            try await Task.sleep(for: .milliseconds(200))
            #expect(forwarder.snapshot.windowReads == quietReads)
            #expect(forwarder.foundEmpty, "found empty again after the delivery")
            forwarder.notify()
            #expect(!forwarder.foundEmpty, "a notice: not known to be empty")
            #expect(await eventually { forwarder.snapshot.windowReads > quietReads })
        }
    }

    @Test("an outbox found empty is read again once its time is up, a stamp or not")
    func quietOutboxReadAgainAfterItsTime() async throws {
        let fixture = try ForwarderFixture()
        defer { fixture.removeAll() }
        let sink = ScriptedSink { _ in (Self.delivered, 0) }
        var settings = ForwarderFixture.settings(idlePoll: 0.02)
        settings.quietRead = 0.1
        try await fixture.run(sink: sink, settings: settings) { (forwarder: Forwarder) async throws in
            #expect(await eventually { forwarder.snapshot.windowReads >= 1 })
            let readsBefore = forwarder.snapshot.windowReads
            try await Task.sleep(for: .milliseconds(450))
            // Four or so reads in 450 ms (one each 100 ms), not the twenty of the idle polls.
            let reads = forwarder.snapshot.windowReads - readsBefore
            #expect(reads >= 2 && reads <= 8, "reads in 450 ms: \(reads)")
        }
    }

    @Test("a key's next batch goes to the sink while the outbox is still recording the one before")
    func keyFreedOnceTheSinkHasTheBatch() async throws {
        let fixture = try ForwarderFixture()
        defer { fixture.removeAll() }
        _ = try await fixture.append(keys: Array(repeating: "a", count: 20))
        // Hold the outbox's writer, as a long commit of the intake does: no delivery can be
        // recorded until it lets go. Reads (the window, the batch) go on.
        let held = Atomic<Bool>(false)
        let letGo = DispatchSemaphore(value: 0)
        let holder = Task.detached {
            try await fixture.outbox.pool.writeWithoutTransaction { _ in
                held.store(true, ordering: .releasing)
                letGo.wait()
            }
        }
        defer { letGo.signal() }
        #expect(try await eventually { held.load(ordering: .acquiring) })
        let sink = ScriptedSink(always: Self.delivered)
        try await fixture.run(sink: sink, settings: ForwarderFixture.settings(batchMaxEvents: 10)) { (forwarder: Forwarder) async throws in
            forwarder.notify()
            #expect(try await eventually { sink.callCount == 2 }, "the second batch waited for the first one's record")
            #expect(try await fixture.pendingCount == 20, "nothing recorded while the writer is held")
            letGo.signal()
            try await holder.value
            #expect(try await eventually { try await fixture.pendingCount == 0 })
        }
        #expect(sink.calls.flatMap(\.ids) == (1...20).map { "e\($0)" })
        #expect(sink.calls.count == 2, "each event sent once")
        #expect(sink.keyOverlaps.isEmpty)
    }

    @Test("beginShutdown before run(): run() returns at once and sends nothing")
    func shutdownBeforeRun() async throws {
        let fixture = try ForwarderFixture()
        defer { fixture.removeAll() }
        try await fixture.append(keys: ["a"])
        let sink = ScriptedSink(always: Self.delivered)
        let forwarder = fixture.makeForwarder(sink: sink, settings: ForwarderFixture.settings())
        forwarder.beginShutdown()
        let started = ContinuousClock.now
        await forwarder.run()
        #expect(started.duration(to: .now) < .seconds(1))
        #expect(sink.callCount == 0)
    }

    @Test("dead letters replayed while running are delivered again")
    func replayedDeadLetters() async throws {
        let fixture = try ForwarderFixture()
        defer { fixture.removeAll() }
        let sequences = try await fixture.append(keys: ["k", "k", "k"])
        let fixed = Flag()
        let sink = ScriptedSink { call in
            (call.ids.contains("e2") && !fixed.isSet ? .reject(reason: "hub answered 422: bad") : Self.delivered, 0)
        }
        try await fixture.run(sink: sink, settings: ForwarderFixture.settings()) { (forwarder: Forwarder) async throws in
            #expect(try await eventually { try await fixture.outbox.deadLetters().map(\.id) == ["e2"] })
            #expect(try await eventually { try await fixture.pendingCount == 0 })

            fixed.set()
            #expect(try await fixture.outbox.replayDeadLetters(ids: ["e2"]) == 1)
            forwarder.notify()
            #expect(try await eventually { try await fixture.outbox.status().deliveredRetained == 3 })
        }
        #expect(sink.deliveredCalls.last?.sequences == [sequences[1]])
    }
}

@Suite("Backoff")
struct BackoffTests {
    @Test("the delay stays within the doubled cap, never above the maximum")
    func range() {
        for attempt in 1...40 {
            let cap = min(8, 0.5 * pow(2, Double(min(attempt - 1, 30))))
            for _ in 0..<50 {
                let delay = Backoff.delay(attempt: attempt, initial: 0.5, max: 8, retryAfter: nil)
                #expect(delay >= 0 && delay <= cap, "attempt \(attempt): \(delay) not in 0...\(cap)")
            }
        }
    }

    @Test("Retry-After is honoured, but never beyond the maximum")
    func retryAfter() {
        for _ in 0..<50 {
            #expect(Backoff.delay(attempt: 1, initial: 0.01, max: 60, retryAfter: 5) >= 5)
            #expect(Backoff.delay(attempt: 1, initial: 0.01, max: 60, retryAfter: 3600) == 60)
        }
    }

    @Test("the delays are jittered, not all the same")
    func jitter() {
        let delays = Set((0..<20).map { _ in Backoff.delay(attempt: 5, initial: 1, max: 100, retryAfter: nil) })
        #expect(delays.count > 1)
    }
}
