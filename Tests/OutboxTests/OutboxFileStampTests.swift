import Foundation
import GRDB
@testable import Outbox
import TestSupport
import Testing

/// The outbox's file stamp, which a quiet forwarder compares instead of reading the outbox.
@Suite struct OutboxFileStampTests {
    /// The locks SQLite's unix VFS holds while a connection has a WAL database open, which tell
    /// other processes it is in use: a shared lock on the database file's shared-lock range
    /// (510 bytes from 0x40000002) and one on byte 128 of the `-shm` index (the "DMS" lock;
    /// a process that can lock it exclusively takes itself for the first and resets the index).
    static let inUseLocks: [(suffix: String, start: Int, length: Int)] = [("", 0x4000_0002, 510), ("-shm", 128, 1)]

    /// Whether another process can lock each of ``inUseLocks`` exclusively (python's
    /// `fcntl.lockf`, a POSIX record lock like SQLite's): "free" or "held" per lock.
    static func lockStates(_ path: String) throws -> [String] {
        let probe = """
            fcntl, os, sys = (__import__(name) for name in ("fcntl", "os", "sys"))
            for spec in sys.argv[1:]:
                name, start, length = spec.split(",")
                fd = os.open(name, os.O_RDWR)
                try:
                    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, int(length), int(start))
                    print("free")
                except OSError:
                    print("held")
                os.close(fd)
            """
        let specs = inUseLocks.map { "\(path)\($0.suffix),\($0.start),\($0.length)" }
        let output = try Subprocess.check("/usr/bin/python3", ["-c", probe] + specs)
        return output.stdout.split(separator: "\n").map(String.init)
    }

    @Test func readingTheStampLeavesSQLiteLocksInPlace() async throws {
        let fixture = try OutboxFixture()
        defer { fixture.removeAll() }
        try await fixture.append([event("a")])
        #expect(try Self.lockStates(fixture.path) == ["held", "held"], "the probe must see an open outbox's locks")
        let before = fixture.outbox.fileStamp()
        try await fixture.append([event("b")])
        #expect(fixture.outbox.fileStamp() != before)
        // Had the stamp opened and closed either file, the process would hold neither lock now.
        #expect(try Self.lockStates(fixture.path) == ["held", "held"])
        _ = try await fixture.outbox.pendingWindow(limit: 10)
        #expect(try Self.lockStates(fixture.path) == ["held", "held"])
    }

    @Test func aCommitByAnotherConnectionChangesTheStamp() async throws {
        let fixture = try OutboxFixture()
        defer { fixture.removeAll() }
        try await fixture.append([event("a")])
        let before = fixture.outbox.fileStamp()
        #expect(fixture.outbox.fileStamp() == before, "nothing written, nothing changed")
        try await fixture.otherConnection().write { db in
            try db.execute(sql: "UPDATE event SET state = 'delivered', delivered_at = 1 WHERE id = 'a'")
        }
        let afterCommit = fixture.outbox.fileStamp()
        #expect(afterCommit != before)
        try await fixture.otherConnection().writeWithoutTransaction { db in _ = try db.checkpoint(.truncate) }
        #expect(fixture.outbox.fileStamp() != afterCommit, "a checkpoint that empties the log changes it too")
    }
}
