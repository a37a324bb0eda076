import RawDocument
import Intake
import EventModel
import Foundation
import Outbox
import Testing

@Suite("IntakeGate")
struct IntakeGateTests {
    /// Commits `count` raw events of `size` bytes each and returns their sequence numbers.
    private func fill(_ fixture: AgentFixture, count: Int, size: Int, tag: String) async throws -> [Int64] {
        for i in 0..<count {
            let content = Array("\(tag)-\(i)-".utf8) + [UInt8](repeating: 0x41, count: size)
            _ = try await fixture.intake.submit(IncomingDocument(
                sourceName: "q", fileName: "\(tag)-\(i)", input: .bytes(content), size: Int64(content.count), format: .raw))
        }
        return try await fixture.outbox.pendingWindow(limit: 10_000).map(\.sequence)
    }

    @Test("pauses at the high watermark, stays paused above the low one, resumes below it")
    func watermarks() async throws {
        let fixture = try AgentFixture()
        defer { fixture.removeAll() }
        let sequences = try await fill(fixture, count: 4, size: 300, tag: "w")
        let total = fixture.outbox.undeliveredBytes
        let perEvent = total / 4
        // High: reached by the four events. Low: above what one event weighs, below two.
        let gate = IntakeGate(
            outbox: fixture.outbox, high: total, low: perEvent + perEvent / 2, minFreeDisk: 0,
            dataDir: fixture.directory, logger: quietLogger)

        let reason = try #require(gate.evaluate())
        #expect(reason.contains("high_watermark"))
        #expect(gate.pausedReason == reason)
        #expect(try await eventually { try await fixture.outbox.status().intakePaused == reason })

        let waiter = Waiter { try await gate.waitUntilAccepting() }
        try await Task.sleep(for: .milliseconds(400))
        #expect(!waiter.returned, "waitUntilAccepting must block while paused")

        // Two events out: below high but still above low, so still paused.
        try await fixture.outbox.acknowledge(delivered: Array(sequences.prefix(2)))
        #expect(gate.evaluate() == reason)
        try await Task.sleep(for: .milliseconds(400))
        #expect(!waiter.returned, "between the watermarks intake stays paused")

        // One more out: below low, intake resumes.
        try await fixture.outbox.acknowledge(delivered: [sequences[2]])
        #expect(await eventually { waiter.returned })
        #expect(gate.pausedReason == nil)
        #expect(gate.evaluate() == nil)
        #expect(try await eventually { try await fixture.outbox.status().intakePaused == nil })
        try await waiter.finish()
    }

    @Test("a paused gate notices space freed by another process (`outpost dlq purge`)")
    func purgeByAnotherProcess() async throws {
        let fixture = try AgentFixture()
        defer { fixture.removeAll() }
        let sequences = try await fill(fixture, count: 3, size: 300, tag: "p")
        try await fixture.outbox.acknowledge(delivered: [], deadLetters: sequences.map { ($0, "refused") })
        let gate = IntakeGate(
            outbox: fixture.outbox, high: fixture.outbox.undeliveredBytes, low: 100, minFreeDisk: 0,
            dataDir: fixture.directory, logger: quietLogger)
        #expect(gate.evaluate() != nil, "dead letters take space too")

        let waiter = Waiter { try await gate.waitUntilAccepting() }
        let cli = try Outbox(path: fixture.outbox.path)
        #expect(try await cli.purgeDeadLetters(ids: nil) == 3)
        #expect(await eventually(timeout: 3) { waiter.returned })
        try await waiter.finish()
    }

    @Test("below the high watermark intake is not paused in the first place")
    func belowHigh() async throws {
        let fixture = try AgentFixture()
        defer { fixture.removeAll() }
        _ = try await fill(fixture, count: 2, size: 100, tag: "b")
        let gate = IntakeGate(
            outbox: fixture.outbox, high: fixture.outbox.undeliveredBytes + 1, low: 1, minFreeDisk: 0,
            dataDir: fixture.directory, logger: quietLogger)
        #expect(gate.evaluate() == nil)
        try await gate.waitUntilAccepting()
    }

    @Test("pauses when the data directory's filesystem is below min_free_disk")
    func diskFloor() async throws {
        let fixture = try AgentFixture()
        defer { fixture.removeAll() }
        let gate = IntakeGate(
            outbox: fixture.outbox, high: 1 << 40, low: 1 << 39, minFreeDisk: Int64.max,
            dataDir: fixture.directory, logger: quietLogger)
        let reason = try #require(gate.evaluate())
        #expect(reason.contains("min_free_disk"))
    }

    @Test("OutboxIntake.waitUntilAccepting and acceptsNow follow its gate")
    func intakeUsesGate() async throws {
        let fixture = try AgentFixture()
        defer { fixture.removeAll() }
        let sequences = try await fill(fixture, count: 2, size: 200, tag: "i")
        let gate = IntakeGate(
            outbox: fixture.outbox, high: fixture.outbox.undeliveredBytes, low: 1, minFreeDisk: 0,
            dataDir: fixture.directory, logger: quietLogger)
        let intake = OutboxIntake(
            outbox: fixture.outbox, codecs: [.raw: RawCodec()], agentID: "a", region: "r", gate: gate, logger: quietLogger)

        #expect(!intake.acceptsNow())
        let waiter = Waiter { try await intake.waitUntilAccepting() }
        try await Task.sleep(for: .milliseconds(400))
        #expect(!waiter.returned)
        try await fixture.outbox.acknowledge(delivered: sequences)
        #expect(await eventually { waiter.returned })
        try await waiter.finish()
        #expect(intake.acceptsNow())
        #expect(fixture.intake.acceptsNow(), "without a gate, always")
    }

    @Test("waitUntilAccepting ends with CancellationError when its task is cancelled")
    func cancelWhilePaused() async throws {
        let fixture = try AgentFixture()
        defer { fixture.removeAll() }
        let gate = IntakeGate(
            outbox: fixture.outbox, high: 0, low: 0, minFreeDisk: 0, dataDir: fixture.directory, logger: quietLogger)
        let task = Task { try await gate.waitUntilAccepting() }
        try await Task.sleep(for: .milliseconds(100))
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
    }
}

/// Runs a wait in a task and tells whether it has returned.
private final class Waiter: Sendable {
    private let finished: Counter
    private let task: Task<Void, any Error>

    init(_ wait: @escaping @Sendable () async throws -> Void) {
        let finished = Counter()
        self.finished = finished
        task = Task {
            try await wait()
            finished.increment()
        }
    }

    var returned: Bool { finished.count > 0 }

    /// Rethrows what the wait threw, if anything; a wait that has not returned is cancelled
    /// (and fails with `CancellationError`), so a failing test cannot hang.
    func finish() async throws {
        if !returned { task.cancel() }
        try await task.value
    }
}
