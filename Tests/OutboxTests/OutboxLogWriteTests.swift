import EventModel
import Foundation
import GRDB
@testable import Outbox
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Writes to the outbox's write-ahead log: every commit's frames are in the file when it
/// returns, and a write that fails (a full disk, an I/O error) fails the commit or the wait for
/// its sync, never a commit already confirmed. The checks read through separate connections,
/// as another process (`outpost status`, a backup) or the next start would.
@Suite("Outbox log writes")
struct OutboxLogWriteTests {
    struct Boom: Error {}

    /// Events whose JSON carries `padding` bytes, ids `prefix-0`, `prefix-1`, ….
    static func events(_ prefix: String, count: Int, padding: Int) -> [EncodedEvent] {
        (0..<count).map { event("\(prefix)-\($0)", padding: padding) }
    }

    /// The payload stored for each event id in the outbox at `path`, read through a connection
    /// of its own.
    static func storedJSON(at path: String) throws -> [String: [UInt8]] {
        try DatabaseQueue(path: path).read { db in
            var stored: [String: [UInt8]] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT id, json FROM event JOIN payload USING (seq)") {
                stored[row["id"]] = [UInt8]((row["json"] as Data))
            }
            return stored
        }
    }

    @Test("a rolled-back transaction's spilled frames never land over another writer's commit")
    func rollbackThenOtherWriter() async throws {
        let fixture = try OutboxFixture()
        defer { fixture.removeAll() }
        #expect(try await fixture.append([event("first")]) == 1)
        // More than SQLite's page cache (2 MB): pages spill into the log before the commit,
        // and the rollback leaves those frames behind, uncommitted.
        await #expect(throws: Boom.self) {
            try await fixture.outbox.commit { tx in
                for spilled in Self.events("spilled", count: 700, padding: 5000) {
                    try tx.append(spilled, source: "src", fileName: "f.xml")
                }
                throw Boom()
            }
        }
        // Another writer appends its frames over those uncommitted ones, and past them (no
        // checkpoint moves them away), and commits.
        let other = try fixture.otherConnection { db in try db.execute(sql: "PRAGMA wal_autocheckpoint = 0") }
        try await other.write { db in
            for key in 0..<2000 {
                try db.execute(
                    sql: "INSERT INTO agent_state (key, value, updated_at) VALUES (?, ?, 0)",
                    arguments: ["other-\(key)", String(repeating: "v", count: 2000)])
            }
        }
        try other.close()
        // The outbox writes again: nothing of the rolled-back transaction may land now.
        #expect(try await fixture.append([event("last")]) == 1)

        let (problems, keys, ids) = try fixture.query { db in
            (
                try String.fetchAll(db, sql: "PRAGMA integrity_check"),
                try Int.fetchOne(
                    db, sql: "SELECT count(*) FROM agent_state WHERE key LIKE 'other-%' AND value = ?",
                    arguments: [String(repeating: "v", count: 2000)]),
                try String.fetchAll(db, sql: "SELECT id FROM event ORDER BY seq")
            )
        }
        #expect(problems == ["ok"])
        #expect(keys == 2000, "the other writer's commit survived intact")
        #expect(ids == ["first", "last"])
    }

    #if canImport(Glibc)
    /// Runs `body` with a fresh tmpfs of `megabytes` mounted at the path it gets (a disk that
    /// fills up on purpose), unmounted and removed afterwards; skipped unless root.
    static func onSmallDisk(megabytes: Int, _ body: (String) async throws -> Void) async throws {
        guard geteuid() == 0 else {
            print("skipped: mounting a tmpfs to fill needs root (CI runs as root)")
            return
        }
        let mountPoint = FileManager.default.temporaryDirectory.appendingPathComponent("outbox-disk-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: mountPoint) }
        try #require(mount("tmpfs", mountPoint, "tmpfs", 0, "size=\(megabytes)m") == 0, "mount tmpfs: \(String(cString: strerror(errno)))")
        defer { umount2(mountPoint, Int32(MNT_DETACH)) }
        try await body(mountPoint)
    }

    /// Takes every free byte of the disk mounted at `mountPoint` with one file; returns its
    /// path (removing it makes room again).
    static func fillDisk(_ mountPoint: String) throws -> String {
        let fillerPath = mountPoint + "/filler"
        let filler = open(fillerPath, O_WRONLY | O_CREAT, 0o600)
        try #require(filler >= 0)
        let block = [UInt8](repeating: 0, count: 4096)
        while block.withUnsafeBytes({ write(filler, $0.baseAddress, $0.count) }) > 0 {}
        close(filler)
        return fillerPath
    }

    /// What `body` throws; nil when it returns.
    static func error(_ body: () async throws -> Void) async -> (any Error)? {
        do {
            try await body()
            return nil
        } catch {
            return error
        }
    }

    /// The text `sql` selects from the database at `path`, read through a connection of its
    /// own on the default VFS (as another process would).
    static func value(at path: String, _ sql: String) async throws -> String? {
        try await DatabaseQueue(path: path).read { db in try String.fetchOne(db, sql: sql) }
    }

    @Test("a full disk fails the commit that does not fit, keeps every earlier one, and commits again once there is room")
    func fullDisk() async throws {
        try await Self.onSmallDisk(megabytes: 6) { mountPoint in
            // Room to free later, enough for closing too (which copies the log into the database).
            try #require(FileManager.default.createFile(atPath: mountPoint + "/reserve", contents: Data(count: 4 << 20)))

            let path = mountPoint + "/outbox.sqlite"
            let outbox = try Outbox(path: path)
            var committed: [EncodedEvent] = []
            var refusal: (any Error)?
            for round in 0..<40 where refusal == nil {
                let batch = Self.events("r\(round)", count: 10, padding: 6000)
                do {
                    _ = try await outbox.commit { tx in
                        for item in batch { try tx.append(item, source: "src", fileName: "f\(round).xml") }
                    }
                    committed += batch
                } catch {
                    refusal = error
                }
            }
            let error = try #require(refusal, "2 MB of room cannot hold 40 commits of 60 KB")
            #expect((error as? DatabaseError)?.resultCode == .SQLITE_FULL, "\(error)")

            var stored = try Self.storedJSON(at: path)
            #expect(stored.count == committed.count, "every commit that returned is in the file, the refused one is not")
            #expect(committed.allSatisfy { stored[$0.id] == $0.json })

            try FileManager.default.removeItem(atPath: mountPoint + "/reserve")
            let again = Self.events("again", count: 10, padding: 6000)
            _ = try await outbox.commit { tx in
                for item in again { try tx.append(item, source: "src", fileName: "again.xml") }
            }
            stored = try Self.storedJSON(at: path)
            #expect(stored.count == committed.count + again.count)
            #expect(again.allSatisfy { stored[$0.id] == $0.json })
            #expect(try outbox.integrityProblems().isEmpty)
            try await outbox.close()
        }
    }

    @Test("a small commit on a full disk fails instead of returning unwritten")
    func fullDiskSmallCommit() async throws {
        try await Self.onSmallDisk(megabytes: 4) { mountPoint in
            let path = mountPoint + "/outbox.sqlite"
            let outbox = try Outbox(path: path)
            try await outbox.setState("probe", "before")

            // Every free byte taken: the log can only grow, so the next frame append fails. A state
            // write changes two 16 KiB pages; the writer does not sync at commit, but SQLite writes
            // their frames to the log before the commit returns, and the failed write fails it.
            let fillerPath = try Self.fillDisk(mountPoint)

            let refusal = await Self.error { try await outbox.setState("probe", "on a full disk") }
            // A separate connection reads what the write said: refused, the old value.
            let seen = try await Self.value(at: path, "SELECT value FROM agent_state WHERE key = 'probe'")
            #expect((refusal as? DatabaseError)?.resultCode == .SQLITE_FULL, "the write returned \(refusal.map { "\($0)" } ?? "success")")
            #expect(seen == "before")

            try FileManager.default.removeItem(atPath: fillerPath)
            try await outbox.setState("probe", "after")
            let after = try await Self.value(at: path, "SELECT value FROM agent_state WHERE key = 'probe'")
            #expect(after == "after", "commits go on once there is room")
            #expect(try outbox.integrityProblems().isEmpty)
            try await outbox.close()
        }
    }

    @Test("with no sync at all, a small commit on a full disk fails: its frames are written before it returns")
    func fullDiskUnsyncedCommit() async throws {
        try await Self.onSmallDisk(megabytes: 4) { mountPoint in
            let path = mountPoint + "/plain.sqlite"
            // A connection that never syncs: what reaches the file before the commit returns is
            // what SQLite writes in the commit itself.
            let queue = try DatabaseQueue(path: path)
            try await queue.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA page_size = 16384")
                try db.execute(sql: "PRAGMA journal_mode = WAL")
                try db.execute(sql: "PRAGMA synchronous = OFF")
                try db.execute(sql: "CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT NOT NULL)")
                try db.execute(sql: "INSERT INTO t VALUES ('probe', 'before')")
            }
            let logBefore = try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int ?? 0
            try await queue.write { db in try db.execute(sql: "UPDATE t SET v = 'second' WHERE k = 'probe'") }
            let logAfter = try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int ?? 0
            #expect(logAfter > logBefore, "the commit's frames were written before it returned")

            let fillerPath = try Self.fillDisk(mountPoint)

            let refusal = await Self.error {
                try await queue.write { db in try db.execute(sql: "UPDATE t SET v = 'on a full disk' WHERE k = 'probe'") }
            }
            let seen = try await Self.value(at: path, "SELECT v FROM t WHERE k = 'probe'")
            #expect((refusal as? DatabaseError)?.resultCode == .SQLITE_FULL, "the write returned \(refusal.map { "\($0)" } ?? "success")")
            #expect(seen == "second")

            try FileManager.default.removeItem(atPath: fillerPath)
            try await queue.write { db in try db.execute(sql: "UPDATE t SET v = 'after' WHERE k = 'probe'") }
            let after = try await Self.value(at: path, "SELECT v FROM t WHERE k = 'probe'")
            #expect(after == "after", "commits go on once there is room")
            try queue.close()
        }
    }

    /// The payload stored for each event id in a copy of the outbox's database file and log,
    /// as the next start would find them after a crash now: the copy has no shared log index,
    /// so SQLite rebuilds it from the log file and keeps only commits whose frames check out.
    static func storedAfterCrash(_ path: String) throws -> [String: [UInt8]] {
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("outbox-crash-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: copy) }
        for suffix in ["", "-wal"] where FileManager.default.fileExists(atPath: path + suffix) {
            try FileManager.default.copyItem(atPath: path + suffix, toPath: copy + "/outbox.sqlite" + suffix)
        }
        return try DatabaseQueue(path: copy + "/outbox.sqlite").read { db in
            #expect(try String.fetchAll(db, sql: "PRAGMA integrity_check") == ["ok"])
            var stored: [String: [UInt8]] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT id, json FROM event JOIN payload USING (seq)") {
                stored[row["id"]] = [UInt8]((row["json"] as Data))
            }
            return stored
        }
    }

    @Test("a spilled transaction whose commit-frame checksum rewrite fails is not confirmed; every confirmed commit survives a restart")
    func failedChecksumRewrite() async throws {
        let fixture = try OutboxFixture()
        defer { fixture.removeAll() }
        let first = (0..<20).map { event("confirmed-\($0)", padding: 3000) }
        #expect(try await fixture.append(first) == 20)
        var confirmed = first

        // A page cache of 8 pages: the transaction below (1.5 MB) spills its pages into the
        // log long before it commits, and pages it changes again after their spill (the
        // tables' roots, the last leaves) are rewritten in place, so at commit SQLite
        // recomputes the checksums of the frames from there on and rewrites their headers,
        // the last one being the commit frame's. That rewrite fails here.
        try await fixture.outbox.pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA cache_size = 8") }
        try LogWriteFault.arm(.commitHeaderRewrite, forFileAt: fixture.path + "-wal")
        let spilled = (0..<300).map { event("spilled-\($0)", padding: 5000) }
        let outcome: Result<Int, any Error>
        do {
            outcome = .success(try await fixture.append(spilled))
        } catch {
            outcome = .failure(error)
        }
        let failedWrites = LogWriteFault.disarm()
        try #require(failedWrites > 0, "the transaction spilled and SQLite rewrote its commit frame's checksum (the write the test fails)")

        switch outcome {
        case .success:
            confirmed += spilled
            Issue.record("the commit was confirmed durable although writing its commit frame's checksum failed")
        case .failure(let error):
            #expect((error as? DatabaseError)?.resultCode == .SQLITE_IOERR, "the commit fails with SQLite's I/O error, not \(error)")
        }

        // A restart now (a crash: the files as they are) finds every confirmed commit.
        let afterCrash = try Self.storedAfterCrash(fixture.path)
        let lostInCrash = confirmed.filter { afterCrash[$0.id] != $0.json }.map(\.id)
        #expect(lostInCrash.count == 0, "confirmed events missing after a restart, e.g. \(lostInCrash.prefix(3))")

        // And so does a clean stop and start.
        try await fixture.outbox.close()
        let reopened = try Outbox(path: fixture.path)
        let pending = try await reopened.pendingWindow(limit: 10_000).count
        #expect(pending >= confirmed.count, "\(pending) pending events after reopening, \(confirmed.count) confirmed")
        #expect(try reopened.integrityProblems().isEmpty)
        try await reopened.close()
        let afterReopen = try Self.storedAfterCrash(fixture.path)
        let lostInReopen = confirmed.filter { afterReopen[$0.id] != $0.json }.map(\.id)
        #expect(lostInReopen.count == 0, "confirmed events missing after reopening, e.g. \(lostInReopen.prefix(3))")
    }
    #endif
}
