import Intake
import Dispatch
import EventModel
import Foundation
@testable import Outbox
import Synchronization
import Testing

/// The intake reports an input committed (and so lets its source acknowledge it) only once
/// the outbox's log is synced after the commit that holds it.
@Suite("Intake durability")
struct IntakeDurabilityTests {
    @Test("a file whose commit cannot be synced is not reported committed")
    func unsyncedCommitFails() async throws {
        let fixture = try AgentFixture()
        defer { fixture.removeAll() }
        let logSync = try #require(fixture.outbox.logSync)
        logSync.beforeSync.withLock { $0 = { _ in EIO } }
        let path = try fixture.writeFile("a.txt", Array("A1\nA2\n".utf8))
        await #expect(throws: OutboxError.self) { try await fixture.submitFile(path) }
        #expect(fixture.commits.count == 0, "nothing was reported committed")
    }

    @Test("content found already committed is reported only once that commit is synced")
    func alreadyCommittedWaitsForTheSync() async throws {
        let fixture = try AgentFixture()
        defer { fixture.removeAll() }
        let logSync = try #require(fixture.outbox.logSync)
        let started = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let hold = Mutex(true)
        logSync.beforeSync.withLock {
            $0 = { _ in
                if hold.withLock({ $0 }) {
                    started.signal()
                    release.wait()
                }
                return nil
            }
        }
        let content = Array("A1\nA2\n".utf8)
        let first = try fixture.writeFile("a.txt", content)
        let copy = try fixture.writeFile("a-copy.txt", content)

        let firstResult = Task { try await fixture.submitFile(first) }
        let held = await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: started.wait(timeout: .now() + 5) == .success) }
        }
        hold.withLock { $0 = false }
        try #require(held, "the first file's commit waits for a sync")

        // The copy's commit finds the first one's receipt while that is not synced yet.
        let copyDone = Mutex(false)
        let copyResult = Task {
            defer { copyDone.withLock { $0 = true } }
            return try await fixture.submitFile(copy)
        }
        try await Task.sleep(for: .milliseconds(300))
        #expect(copyDone.withLock { $0 } == false, "the copy was reported before the commit it relies on was synced")

        release.signal()
        let sha = try systemSHA256(content)
        #expect(try await firstResult.value == .committed(events: 2, inserted: 2, sha256: sha))
        #expect(try await copyResult.value == .alreadyCommitted(sha256: sha))
    }
}
