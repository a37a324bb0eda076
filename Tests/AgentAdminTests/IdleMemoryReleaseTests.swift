import EventModel
import Foundation
import Outbox
import Synchronization
import Testing

@testable import AgentAdmin
import Intake

@Suite("Idle memory release")
struct IdleMemoryReleaseTests {
    @Test("released at the first quiet check after the start or after activity, once, and again after the next activity")
    func quietWatchDecides() {
        typealias A = QuietWatch.Activity
        var watch = QuietWatch(activity: A(commits: 0, undeliveredBytes: 0))
        let r0 = watch.observe(A(commits: 0, undeliveredBytes: 0))
        #expect(r0, "a fresh agent gives back what starting left")
        let r1 = watch.observe(A(commits: 0, undeliveredBytes: 0))
        #expect(!r1, "once")
        let r2 = watch.observe(A(commits: 3, undeliveredBytes: 900))
        #expect(!r2, "busy: commits")
        let r3 = watch.observe(A(commits: 3, undeliveredBytes: 0))
        #expect(!r3, "busy: deliveries")
        let r4 = watch.observe(A(commits: 3, undeliveredBytes: 0))
        #expect(r4, "quiet after activity")
        let r5 = watch.observe(A(commits: 3, undeliveredBytes: 0))
        #expect(!r5, "once per quiet spell")
        let r6 = watch.observe(A(commits: 4, undeliveredBytes: 300))
        #expect(!r6)
        let r7 = watch.observe(A(commits: 4, undeliveredBytes: 300))
        #expect(r7, "quiet with a backlog (hub down) counts too")
    }

    @Test("a check that sees no change waits for the work to settle, at most the time given")
    func quietWatchWaitsForSettling() {
        typealias A = QuietWatch.Activity
        let start = ContinuousClock.now
        var watch = QuietWatch(activity: A(commits: 0, undeliveredBytes: 0))
        let r0 = watch.observe(A(commits: 1, undeliveredBytes: 0), settled: false, at: start, waitAtMost: 4)
        #expect(!r0, "busy")
        let r1 = watch.observe(A(commits: 1, undeliveredBytes: 0), settled: false, at: start + .seconds(1), waitAtMost: 4)
        #expect(!r1, "no change, but not settled")
        let r2 = watch.observe(A(commits: 1, undeliveredBytes: 0), settled: true, at: start + .seconds(2), waitAtMost: 4)
        #expect(r2, "settled")
        let r3 = watch.observe(A(commits: 2, undeliveredBytes: 0), settled: false, at: start + .seconds(3), waitAtMost: 4)
        #expect(!r3)
        let r4 = watch.observe(A(commits: 2, undeliveredBytes: 0), settled: false, at: start + .seconds(4), waitAtMost: 4)
        #expect(!r4, "the wait begins at the first check without change")
        let r5 = watch.observe(A(commits: 2, undeliveredBytes: 0), settled: false, at: start + .seconds(7), waitAtMost: 4)
        #expect(!r5, "3 s of the 4")
        let r6 = watch.observe(A(commits: 2, undeliveredBytes: 0), settled: false, at: start + .seconds(8), waitAtMost: 4)
        #expect(r6, "never settled: released once the wait is over")
        let r7 = watch.observe(A(commits: 3, undeliveredBytes: 0), settled: false, at: start + .seconds(9), waitAtMost: 4)
        #expect(!r7)
        let r8 = watch.observe(A(commits: 4, undeliveredBytes: 0), settled: false, at: start + .seconds(14), waitAtMost: 4)
        #expect(!r8, "a change starts the wait again")
        let r9 = watch.observe(A(commits: 4, undeliveredBytes: 0), settled: false, at: start + .seconds(15), waitAtMost: 4)
        #expect(!r9)
    }

    @Test("with a settling check, the release waits until it says the work settled")
    func releaseWaitsForSettledWork() async throws {
        let (outbox, directory) = try temporaryOutbox()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let releases = Atomic<Int>(0)
        let settled = Atomic<Bool>(false)
        let service = IdleMemoryRelease(outbox: outbox, interval: 0.2) { releases.add(1, ordering: .relaxed) }
        service.settleWhen { settled.load(ordering: .relaxed) }
        let running = Task { try await service.run() }
        defer { running.cancel() }
        // Not settled: the release comes only after twice the interval without change.
        #expect(await AgentFixture.eventually(5) { releases.load(ordering: .relaxed) == 1 })
        try await commitEvent(outbox, "s")
        service.noteActivity()
        // Checks at 0.2 s (the commit), 0.4 s (no change, not settled), 0.6 s; the wait of
        // twice the interval ends at the check at 0.8 s at the earliest.
        try await Task.sleep(for: .milliseconds(700))
        #expect(releases.load(ordering: .relaxed) == 1, "not settled: no release yet")
        // Settled now: released at the next check.
        settled.store(true, ordering: .relaxed)
        #expect(await AgentFixture.eventually(5) { releases.load(ordering: .relaxed) == 2 })
        running.cancel()
        _ = try? await running.value
        try await outbox.close()
    }

    @Test("with a quiet spell: it begins at each release and ends at each wake-up; the work put off runs just before the release")
    func quietSpellFollowsReleases() async throws {
        let (outbox, directory) = try temporaryOutbox()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let quiet = QuietSpell()
        let order = Mutex<[String]>([])
        let service = IdleMemoryRelease(
            outbox: outbox, interval: 0.05, quiet: quiet,
            beforeRelease: { order.withLock { $0.append("before (quiet: \(quiet.isQuiet))") } },
            release: { order.withLock { $0.append("release") } })
        let running = Task { try await service.run() }
        defer { running.cancel() }
        #expect(!quiet.isQuiet, "a fresh agent has not given back yet")
        try await Task.sleep(for: .milliseconds(300))
        #expect(quiet.isQuiet)
        #expect(order.withLock { $0 } == ["before (quiet: false)", "release"])
        // A commit and its wake-up, as the heartbeat's: the spell ends, and a release (with the
        // work put off before it) begins it again.
        try await commitEvent(outbox, "q")
        service.noteActivity()
        #expect(!quiet.isQuiet, "a wake-up ends the spell at once")
        try await Task.sleep(for: .milliseconds(300))
        #expect(quiet.isQuiet)
        #expect(order.withLock { $0 } == ["before (quiet: false)", "release", "before (quiet: false)", "release"])
        // A wake-up with nothing new: the spell resumes at the next check, with no release.
        service.noteActivity()
        #expect(!quiet.isQuiet)
        #expect(await AgentFixture.eventually { quiet.isQuiet })
        #expect(order.withLock { $0 }.count == 4)
        running.cancel()
        _ = try? await running.value
        try await outbox.close()
    }

    @Test("the default release gives back what alsoGiveBack holds (the sink's spare buffers) with each release")
    func defaultReleaseGivesBackTheSinksBuffers() async throws {
        let (outbox, directory) = try temporaryOutbox()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let givenBack = Atomic<Int>(0)
        let service = IdleMemoryRelease(outbox: outbox, interval: 0.05, alsoGiveBack: { givenBack.add(1, ordering: .relaxed) })
        let running = Task { try await service.run() }
        defer { running.cancel() }
        #expect(await AgentFixture.eventually(5) { givenBack.load(ordering: .relaxed) == 1 }, "the fresh agent's release")
        try await commitEvent(outbox, "g")
        service.noteActivity()
        #expect(await AgentFixture.eventually(5) { givenBack.load(ordering: .relaxed) == 2 }, "the release after the commit")
        try await Task.sleep(for: .milliseconds(300))
        #expect(givenBack.load(ordering: .relaxed) == 2, "once per quiet spell")
        running.cancel()
        _ = try? await running.value
        try await outbox.close()
    }

    @Test("a late look releases once more when the resident size grew after a release; not when it did not, nor after a wake-up")
    func lateLookAfterRegrowth() async throws {
        let (outbox, directory) = try temporaryOutbox()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let releases = Atomic<Int>(0)
        let size = Atomic<Int>(10_000)
        // The size grows right after the first release's reading (as when the allocator's
        // threads exit after it), so the late look a second later finds the growth however
        // late the test looks.
        let grown = Atomic<Bool>(false)
        let service = IdleMemoryRelease(
            outbox: outbox, interval: 0.05, settle: 1, regrowth: 100,
            resident: {
                let now = size.load(ordering: .relaxed)
                if releases.load(ordering: .relaxed) == 1, !grown.exchange(true, ordering: .relaxed) {
                    size.add(500, ordering: .relaxed)
                }
                return now
            }
        ) { releases.add(1, ordering: .relaxed) }
        let running = Task { try await service.run() }
        defer { running.cancel() }
        func commitAndWake(_ id: String) async throws {
            try await commitEvent(outbox, id)
            service.noteActivity()
        }
        // Each expected release is waited for (a busy machine delays the service's checks);
        // each "no more" is looked at after more than the late look's delay.
        func released(_ count: Int) async -> Bool {
            await AgentFixture.eventually { releases.load(ordering: .relaxed) >= count }
                && releases.load(ordering: .relaxed) == count
        }
        // The start's release, then the size grows by more than the regrowth: one more.
        #expect(await released(1))
        #expect(await released(2), "grown by 500 bytes: released again")

        // A release after activity, and nothing grows: no late release.
        try await commitAndWake("a")
        #expect(await released(3))
        try await Task.sleep(for: .milliseconds(1300))
        #expect(releases.load(ordering: .relaxed) == 3, "not grown: no late release")

        // Grown, but woken before the late look: the wake-up's own release, not the late one.
        try await commitAndWake("b")
        #expect(await released(4))
        size.add(500, ordering: .relaxed)
        try await commitAndWake("c")
        #expect(await released(5))
        try await Task.sleep(for: .milliseconds(1300))
        #expect(releases.load(ordering: .relaxed) == 5, "the late look of a release followed by a wake-up does nothing")
        running.cancel()
        _ = try? await running.value
        try await outbox.close()
    }

    @Test("a wake-up after a long quiet spell is checked quickly and released within a fraction of the interval; one after a short spell waits the interval")
    func loneWakeUpReleasedQuickly() async throws {
        let (outbox, directory) = try temporaryOutbox()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let quiet = QuietSpell()
        let service = IdleMemoryRelease(outbox: outbox, interval: 1, quick: 0.05, quickChecks: 8, lone: 0.5, quiet: quiet) {}
        let running = Task { try await service.run() }
        defer { running.cancel() }
        func commitAndWake(_ id: String) async throws {
            try await commitEvent(outbox, id)
            service.noteActivity()
        }
        func secondsUntilQuiet() async throws -> Double {
            let start = ContinuousClock.now
            #expect(await AgentFixture.eventually(10) { quiet.isQuiet })
            let elapsed = start.duration(to: .now).components
            return Double(elapsed.seconds) + Double(elapsed.attoseconds) * 1e-18
        }
        #expect(await AgentFixture.eventually(10) { quiet.isQuiet }, "the start's release")
        try await Task.sleep(for: .milliseconds(800))
        // Lone: the commit is seen at the first quick check, the quiet at the next.
        try await commitAndWake("lone")
        let lone = try await secondsUntilQuiet()
        #expect(lone < 0.9, "released \(lone) s after a lone wake-up: at the interval's pace it takes two intervals (2 s)")
        // Right after that release: checked at the interval's pace, two checks.
        try await commitAndWake("soon")
        let soon = try await secondsUntilQuiet()
        #expect(soon >= 1.5, "released \(soon) s after a wake-up that ended a short spell")
        running.cancel()
        _ = try? await running.value
        try await outbox.close()
    }

    @Test("on a real outbox: one release after the start, one after commits stop, none while idle, one more after the next commit's wake-up")
    func releasesAfterCommitsStop() async throws {
        let (outbox, directory) = try temporaryOutbox()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let releases = Atomic<Int>(0)
        let service = IdleMemoryRelease(outbox: outbox, interval: 0.05) { releases.add(1, ordering: .relaxed) }
        let running = Task { try await service.run() }
        defer { running.cancel() }
        try await Task.sleep(for: .milliseconds(300))
        #expect(releases.load(ordering: .relaxed) == 1, "the start, once")
        for n in 0..<5 {
            try await commitEvent(outbox, "a-\(n)")
            service.noteActivity()
        }
        try await Task.sleep(for: .milliseconds(400))
        #expect(releases.load(ordering: .relaxed) == 2)
        // Released and quiet, it sleeps: a commit nobody tells it of is not looked at...
        try await commitEvent(outbox, "b")
        try await Task.sleep(for: .milliseconds(400))
        #expect(releases.load(ordering: .relaxed) == 2, "no check without a wake-up")
        // ...until the next wake-up, after which it sees the change, then the quiet.
        service.noteActivity()
        try await Task.sleep(for: .milliseconds(400))
        #expect(releases.load(ordering: .relaxed) == 3)
        try await commitEvent(outbox, "c")
        service.noteActivity()
        try await Task.sleep(for: .milliseconds(400))
        #expect(releases.load(ordering: .relaxed) == 4)
        running.cancel()
        _ = try? await running.value
        try await outbox.close()
    }
}

/// Commits one small event with id `id` to `outbox`, as a source's commit would.
/// An outbox in a directory of its own, which the caller removes.
private func temporaryOutbox() throws -> (Outbox, String) {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("idle-\(UUID().uuidString)").path
    return (try Outbox(path: directory + "/outbox.sqlite"), directory)
}

private func commitEvent(_ outbox: Outbox, _ id: String) async throws {
    let json = Array(#"{"specversion":"1.0","id":"\#(id)","data":"x"}"#.utf8)
    try await outbox.commit { tx in
        try tx.append(EncodedEvent(id: id, type: "t", subject: id, partitionKey: "k", json: json), source: "s", fileName: "f")
    }
}
