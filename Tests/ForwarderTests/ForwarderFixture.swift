import EventModel
import Forwarder
import Foundation
import Logging
import Outbox
import Testing

/// A real outbox file in a temporary directory and a forwarder to run over it.
struct ForwarderFixture {
    let directory: String
    let outbox: Outbox

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("forwarder-\(UUID().uuidString)").path
        outbox = try Outbox(path: directory + "/outbox.sqlite")
    }

    func removeAll() { try? FileManager.default.removeItem(atPath: directory) }

    /// Settings with test-sized timings.
    static func settings(
        batchMaxEvents: Int = 500, batchMaxBytes: Int = 4 << 20, maxConcurrency: Int = 4,
        drainTimeout: Double = 0.5, idlePoll: Double = 0.02
    ) -> ForwarderSettings {
        var settings = ForwarderSettings()
        settings.batchMaxEvents = batchMaxEvents
        settings.batchMaxBytes = batchMaxBytes
        settings.maxConcurrency = maxConcurrency
        settings.retryInitial = 0.01
        settings.retryMax = 0.05
        settings.drainTimeout = drainTimeout
        settings.idlePoll = idlePoll
        return settings
    }

    /// Appends events with the given partition keys (ids `e1`, `e2`, … in that order) and
    /// returns their sequence numbers.
    @discardableResult
    func append(keys: [String], padding: (Int) -> Int = { _ in 0 }, idPrefix: String = "e") async throws -> [Int64] {
        let events = keys.enumerated().map { i, key in
            testEvent(id: "\(idPrefix)\(i + 1)", key: key, padding: padding(i))
        }
        let before = try await outbox.pendingWindow(limit: 100_000).map(\.sequence)
        try await outbox.commit { tx in
            for e in events { try tx.append(e, source: "src", fileName: "f.xml") }
        }
        let after = try await outbox.pendingWindow(limit: 100_000).map(\.sequence)
        return after.filter { !before.contains($0) }
    }

    func makeForwarder(sink: ScriptedSink, settings: ForwarderSettings) -> Forwarder {
        Forwarder(outbox: outbox, sink: sink, settings: settings, logger: Logger(label: "forwarder-test") { _ in SwiftLogNoOpLogHandler() })
    }

    /// Runs a forwarder during `body`, then shuts it down and waits for `run()` to return.
    func run(
        sink: ScriptedSink, settings: ForwarderSettings, _ body: (Forwarder) async throws -> Void
    ) async throws {
        let forwarder = makeForwarder(sink: sink, settings: settings)
        let task = Task { await forwarder.run() }
        do {
            try await body(forwarder)
        } catch {
            task.cancel()
            await task.value
            throw error
        }
        forwarder.beginShutdown()
        await task.value
    }

    var pendingCount: Int64 {
        get async throws { try await outbox.status().pendingEvents }
    }
}

/// An event whose JSON carries its id and key.
func testEvent(id: String, key: String, padding: Int = 0) -> EncodedEvent {
    let json = "{\"specversion\":\"1.0\",\"id\":\"\(id)\",\"key\":\"\(key)\",\"pad\":\"\(String(repeating: "x", count: padding))\"}"
    return EncodedEvent(id: id, type: "test.event", subject: id, partitionKey: key, json: Array(json.utf8))
}

/// Checks what a sink received: every event of `sequences` exactly once, each key's events in
/// outbox order, no key in two batches at once.
func expectEachOnceInKeyOrder(
    _ received: [OutboundEvent], _ sequences: [Int64], _ sink: ScriptedSink,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(received.map(\.sequence).sorted() == sequences.sorted(), "every event delivered exactly once",
            sourceLocation: sourceLocation)
    for key in Set(received.map(\.partitionKey)).sorted() {
        let order = received.filter { $0.partitionKey == key }.map(\.sequence)
        #expect(zip(order, order.dropFirst()).allSatisfy { $0 < $1 }, "key \(key) out of order: \(order)",
                sourceLocation: sourceLocation)
    }
    #expect(sink.keyOverlaps.isEmpty, "a key was in two batches at once: \(sink.keyOverlaps)", sourceLocation: sourceLocation)
}

/// Polls `condition` every 10 ms for up to `timeout` seconds; returns whether it became true.
func eventually(timeout: Double = 5, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return try await condition()
}

/// A deterministic pseudo-random generator (SplitMix64), so a failing layout can be replayed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
