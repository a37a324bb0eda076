import Dispatch
import EventModel
import Foundation
import GRDB
@testable import Outbox
import Synchronization
import Testing

/// Commits are made durable off the writer (`OutboxLogSync`): the writer runs with
/// `synchronous = NORMAL`, and a commit returns only after a sync of the log that began after
/// it. Syncs are held or failed through the sync's test hook; the files are real.
@Suite("Outbox log sync")
struct OutboxLogSyncTests {
    /// Records the commits each sync covers and holds a sync while `hold` is set.
    final class SyncProbe: Sendable {
        let covered = Mutex<[UInt64]>([])
        let started = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let hold = Mutex(false)

        func install(on outbox: Outbox) throws {
            let logSync = try #require(outbox.logSync)
            logSync.beforeSync.withLock {
                $0 = { [self] target in
                    covered.withLock { $0.append(target) }
                    if hold.withLock({ $0 }) {
                        started.signal()
                        release.wait()
                    }
                    return nil
                }
            }
        }

        /// Waits (off the cooperative pool, five seconds at most) until a held sync has
        /// begun; false when none did.
        func waitForHeldSync() async -> Bool {
            await withCheckedContinuation { continuation in
                DispatchQueue.global().async { [self] in
                    continuation.resume(returning: started.wait(timeout: .now() + 5) == .success)
                }
            }
        }
    }

    /// Polls (briefly) until `condition` holds; false if it never does within five seconds.
    static func eventually(_ condition: () -> Bool) async -> Bool {
        for _ in 0..<500 {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return condition()
    }

    @Test("the writer does not sync at commit, and each commit returns after a sync of its own log")
    func everyCommitSynced() async throws {
        let fixture = try OutboxFixture()
        defer { fixture.removeAll() }
        #expect(try await fixture.outbox.pool.write { try Int.fetchOne($0, sql: "PRAGMA synchronous") } == 1)
        let logSync = try #require(fixture.outbox.logSync)
        let before = logSync.syncs
        for id in ["a", "b", "c"] { #expect(try await fixture.append([event(id)]) == 1) }
        #expect(logSync.syncs - before == 3, "three commits one after the other: three syncs")
        #expect(logSync.logPath == fixture.path + "-wal")
    }

    @Test("a commit made while a sync runs waits for the next sync; commits made meanwhile share it")
    func commitsWaitForALaterSyncAndShareIt() async throws {
        let fixture = try OutboxFixture()
        defer { fixture.removeAll() }
        let probe = SyncProbe()
        try probe.install(on: fixture.outbox)
        let logSync = try #require(fixture.outbox.logSync)
        let first = logSync.lastCounted + 1

        // The first commit's sync is held once it has begun.
        probe.hold.withLock { $0 = true }
        let firstCommit = Task { try await fixture.append([event("first")]) }
        let held = await probe.waitForHeldSync()
        probe.hold.withLock { $0 = false }
        guard held else {
            Issue.record("the first commit returned without waiting for a sync")
            _ = try await firstCommit.value
            return
        }

        // Three more commits while it is held: in the outbox, not yet durable (queued at
        // once, they may share one transaction or take up to three).
        let later = (0..<3).map { n in Task { try await fixture.append([event("later-\(n)")]) } }
        let queries = try DatabaseQueue(path: fixture.path)
        #expect(await Self.eventually {
            (try? queries.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM event") }) == 4
        }, "the three commits were made")
        let laterCommits = logSync.lastCounted
        #expect(laterCommits > first && laterCommits <= first + 3)
        #expect(probe.covered.withLock { $0 } == [first])

        probe.release.signal()
        #expect(try await firstCommit.value == 1)
        for commit in later { #expect(try await commit.value == 1) }
        // The held sync began before the later commits, so it could not cover them: one more
        // sync did, all three at once.
        #expect(probe.covered.withLock { $0 } == [first, laterCommits])
        try queries.close()
        #expect(try await fixture.pendingSequences().count == 4)
    }

    @Test("a failed sync fails the commits waiting for it and every later one, with a clear error")
    func failedSyncFailsCommits() async throws {
        let fixture = try OutboxFixture()
        defer { fixture.removeAll() }
        #expect(try await fixture.append([event("before")]) == 1)
        let logSync = try #require(fixture.outbox.logSync)
        logSync.beforeSync.withLock { $0 = { _ in EIO } }
        do {
            try await fixture.append([event("unsynced")])
            Issue.record("a commit whose sync failed returned")
        } catch let error as OutboxError {
            guard case .syncFailed(let path, let reason) = error else { throw error }
            #expect(path == fixture.path + "-wal")
            #expect(reason == String(cString: strerror(EIO)))
            #expect("\(error)".contains("restart the agent"), "\(error)")
        }
        // Even once syncs would work again: nothing is confirmed until a restart.
        logSync.beforeSync.withLock { $0 = nil }
        await #expect(throws: OutboxError.self) { try await fixture.append([event("after")]) }
        await #expect(throws: OutboxError.self) { try await fixture.outbox.replayDeadLetters(ids: nil) }
    }

    @Test("the log is synced through the file now at its path")
    func syncsTheFileAtThePath() async throws {
        let fixture = try OutboxFixture()
        defer { fixture.removeAll() }
        #expect(try await fixture.append([event("a")]) == 1)
        // The log replaced under the outbox (never done by SQLite while it is open): a sync of
        // the old file would prove nothing, so the next commit is not confirmed.
        try FileManager.default.removeItem(atPath: fixture.path + "-wal")
        do {
            try await fixture.append([event("b")])
            Issue.record("a commit was confirmed although its log is gone")
        } catch let error as OutboxError {
            guard case .syncFailed(_, let reason) = error else { throw error }
            #expect(reason.contains("is gone"), "\(reason)")
        }
    }
}
