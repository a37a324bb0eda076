import EventModel
import Foundation
import Outbox
import Synchronization
import Testing

@testable import AgentAdmin

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

    @Test("on a real outbox: one release after the start, one after commits stop, none while idle, one more after the next commit's wake-up")
    func releasesAfterCommitsStop() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("idle-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let outbox = try Outbox(path: directory + "/outbox.sqlite")
        let releases = Atomic<Int>(0)
        let service = IdleMemoryRelease(outbox: outbox, interval: 0.05) { releases.add(1, ordering: .relaxed) }
        let running = Task { try await service.run() }
        defer { running.cancel() }
        func commit(_ id: String) async throws {
            let json = Array(#"{"specversion":"1.0","id":"\#(id)","data":"x"}"#.utf8)
            try await outbox.commit { tx in
                try tx.append(EncodedEvent(id: id, type: "t", subject: id, partitionKey: "k", json: json), source: "s", fileName: "f")
            }
        }
        try await Task.sleep(for: .milliseconds(300))
        #expect(releases.load(ordering: .relaxed) == 1, "the start, once")
        for n in 0..<5 {
            try await commit("a-\(n)")
            service.noteActivity()
        }
        try await Task.sleep(for: .milliseconds(400))
        #expect(releases.load(ordering: .relaxed) == 2)
        // Released and quiet, it sleeps: a commit nobody tells it of is not looked at...
        try await commit("b")
        try await Task.sleep(for: .milliseconds(400))
        #expect(releases.load(ordering: .relaxed) == 2, "no check without a wake-up")
        // ...until the next wake-up, after which it sees the change, then the quiet.
        service.noteActivity()
        try await Task.sleep(for: .milliseconds(400))
        #expect(releases.load(ordering: .relaxed) == 3)
        try await commit("c")
        service.noteActivity()
        try await Task.sleep(for: .milliseconds(400))
        #expect(releases.load(ordering: .relaxed) == 4)
        running.cancel()
        _ = try? await running.value
        try await outbox.close()
    }
}
