import EventModel
import Foundation
@testable import Outbox
import Testing

@Suite("Outbox checkpoints")
struct OutboxCheckpointTests {
    private func fileSize(_ path: String) -> Int64 {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value ?? 0
    }

    @Test("past the threshold the log is copied into the database file off the writer, long before SQLite's backstop")
    func checkpointsInTheBackground() async throws {
        let fixture = try OutboxFixture()
        defer { fixture.removeAll() }
        let checkpointer = try #require(fixture.outbox.checkpointer)
        let padding = 64 << 10
        let perCommit = 8
        let commits = Int(OutboxCheckpointer.threshold) / (padding * perCommit) + 2
        for commit in 0..<commits {
            try await fixture.append((0..<perCommit).map { event("e\(commit)-\($0)", padding: padding) })
        }
        await checkpointer.drain()
        let committed = Int64(commits * perCommit * padding)
        #expect(committed < Int64(Outbox.backstopLogBytes) / 2, "well below the backstop")
        #expect(fileSize(fixture.path) >= OutboxCheckpointer.threshold, "the database file holds the checkpointed pages")
        #expect(try await fixture.pendingSequences().count == commits * perCommit)
    }

    @Test("an outbox released while a background checkpoint may run leaves no log behind")
    func closeRemovesTheLog() async throws {
        let fixture = try OutboxFixture()
        defer { fixture.removeAll() }
        let checkpointer: OutboxCheckpointer
        do {
            let outbox = try Outbox(path: fixture.path + ".second")
            checkpointer = try #require(outbox.checkpointer)
            let padding = 64 << 10
            for commit in 0..<(Int(OutboxCheckpointer.threshold) / (padding * 8) + 2) {
                try await outbox.commit { tx in
                    for index in 0..<8 { try tx.append(event("c\(commit)-\(index)", padding: padding), source: "src", fileName: "f") }
                    return tx.inserted
                }
            }
        }
        await checkpointer.drain()  // a checkpoint still running closes last, and removes the log
        #expect(fileSize(fixture.path + ".second") >= OutboxCheckpointer.threshold)
        #expect(!FileManager.default.fileExists(atPath: fixture.path + ".second-wal"), "the last connection removed the log")
        let reopened = try Outbox(path: fixture.path + ".second", readOnly: true)
        #expect(try reopened.integrityProblems().isEmpty)
    }

    @Test("close() leaves one self-contained file: the log copied in and removed; later use throws")
    func closeFoldsTheLog() async throws {
        let fixture = try OutboxFixture()
        defer { fixture.removeAll() }
        let path = fixture.path + ".closed"
        let outbox = try Outbox(path: path)
        try await outbox.commit { tx in
            for index in 0..<50 { try tx.append(event("c\(index)", padding: 2000), source: "src", fileName: "f") }
        }
        _ = try await outbox.status()  // the pool's readers are open too
        #expect(fileSize(path + "-wal") > 100_000, "the commits are in the log, below the checkpoint threshold")
        try await outbox.close()
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"), "no log left behind")
        #expect(fileSize(path) > 100_000, "the events are in the database file")
        await #expect(throws: (any Error).self, "a closed outbox is not used again") { try await outbox.status() }
        let reopened = try Outbox(path: path, readOnly: true)
        #expect(try await reopened.status().pendingEvents == 50)
        #expect(try reopened.integrityProblems().isEmpty)
    }

    @Test("below the threshold nothing is checkpointed yet")
    func noCheckpointBelowThreshold() async throws {
        let fixture = try OutboxFixture()
        defer { fixture.removeAll() }
        try await fixture.append((0..<4).map { event("small-\($0)", padding: 64 << 10) })
        await fixture.outbox.checkpointer?.drain()
        #expect(fileSize(fixture.path) < 256 << 10)
        #expect(fileSize(fixture.path + "-wal") > 256 << 10)
    }
}
