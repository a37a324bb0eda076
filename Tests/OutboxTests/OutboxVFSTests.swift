import EventModel
import Foundation
import GRDB
@testable import Outbox
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The outbox VFS (`COutboxVFS`): log appends gathered into few write calls, and every byte in
/// the file before anyone could need it. The checks read through separate connections on the
/// default VFS, as another process (`outpost status`, a backup) would.
@Suite("Outbox VFS")
struct OutboxVFSTests {
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

    @Test("a commit's log frames reach the file in far fewer write calls than frames, all before it returns")
    func appendsGathered() async throws {
        #expect(OutboxVFS.name != nil, "this SQLite takes URI file names, so the outbox VFS must be in use")
        let fixture = try OutboxFixture()
        defer { fixture.removeAll() }
        let batch = Self.events("big", count: 200, padding: 5000)
        let writesBefore = OutboxVFS.logWrites
        #expect(try await fixture.append(batch) == 200)
        let writes = OutboxVFS.logWrites - writesBefore

        // Each frame is a 24-byte header and a page: SQLite alone writes it as two calls.
        let pageSize = try await fixture.outbox.pool.read { db in try Int.fetchOne(db, sql: "PRAGMA page_size") ?? 0 }
        #expect(pageSize == Outbox.newDatabasePageSize)
        let logBytes = try FileManager.default.attributesOfItem(atPath: fixture.path + "-wal")[.size] as? Int ?? 0
        let frames = (logBytes - 32) / (24 + pageSize)
        #expect(frames * pageSize >= 200 * 5000, "200 events of 5 KB take at least 1 MB of pages (\(frames) frames)")
        #expect(writes > 0, "the commit's log writes went through the outbox VFS")
        // One write per 64 KiB gathered: about one per four 16 KiB frames, not two per frame.
        #expect(writes * 3 <= frames, "\(writes) write calls for \(frames) frames")

        // The outbox is still open and has not written since: what another connection reads
        // is what the commit left in the file.
        let stored = try Self.storedJSON(at: fixture.path)
        #expect(stored.count == 200)
        let mismatched = batch.filter { stored[$0.id] != $0.json }.map(\.id)
        #expect(mismatched.isEmpty, "payloads that differ from what was committed: \(mismatched.prefix(5))")
    }

    @Test("the writer keeps statement journals in memory")
    func statementJournalInMemory() async throws {
        let fixture = try OutboxFixture()
        defer { fixture.removeAll() }
        // A chunk's insert may stop half-way (a refused row), so SQLite journals the pages it
        // changes; on disk that doubled the write calls of an ingest of 5 KB documents.
        #expect(try await fixture.outbox.pool.write { try Int.fetchOne($0, sql: "PRAGMA temp_store") } == 2)
    }


    @Test("a rolled-back transaction's spilled frames are written before the write lock passes to another writer")
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
        var configuration = Configuration()
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA wal_autocheckpoint = 0") }
        let other = try DatabaseQueue(path: fixture.path, configuration: configuration)
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

    @Test("a data directory named with spaces, %, ? and # is opened at exactly that path")
    func oddDirectoryName() async throws {
        #expect(OutboxVFS.uriEscaped("/a b/%41?x=1#y/é") == "/a%20b/%2541%3Fx%3D1%23y/%C3%A9")
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("outbox-vfs-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let directory = root + "/data dir %41 ?x=1 #frag"
        let path = directory + "/outbox.sqlite"
        do {
            let outbox = try Outbox(path: path)
            _ = try await outbox.commit { tx in try tx.append(event("a"), source: "src", fileName: "f.xml") }
            try await outbox.close()
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: root) == ["data dir %41 ?x=1 #frag"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["outbox.sqlite"])
        // The same file again, also when named with a leading "//" (no URI host) or relatively.
        for name in [path, "/" + path, relativePath(to: path)] {
            let reopened = try Outbox(path: name)
            #expect(try await reopened.pendingWindow(limit: 10).count == 1, "\(name)")
            try await reopened.close()
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["outbox.sqlite"])
    }

    /// `path` relative to the working directory.
    func relativePath(to path: String) -> String {
        let depth = FileManager.default.currentDirectoryPath.split(separator: "/").count
        return String(repeating: "../", count: depth) + path.drop { $0 == "/" }
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

    @Test("a commit small enough to stay in the gathered batch fails on a full disk instead of returning unwritten")
    func fullDiskSmallCommit() async throws {
        try await Self.onSmallDisk(megabytes: 4) { mountPoint in
            let path = mountPoint + "/outbox.sqlite"
            let outbox = try Outbox(path: path)
            try await outbox.setState("probe", "before")

            // Every free byte taken: the log can only grow, so the next frame append fails. A state
            // write changes two 16 KiB pages, so all its frames wait in the batch until the VFS
            // writes them with the commit's last page (the writer does not sync at commit), where
            // a failure fails the commit.
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

    @Test("with no sync at all, a small commit on a full disk fails: its frames are written with its last page")
    func fullDiskUnsyncedCommit() async throws {
        try await Self.onSmallDisk(megabytes: 4) { mountPoint in
            let path = mountPoint + "/plain.sqlite"
            // A connection of the outbox VFS that never syncs: what reaches the file before the
            // commit returns is what the VFS itself writes.
            let queue = try DatabaseQueue(path: OutboxVFS.sqliteName(forPath: path))
            try await queue.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA page_size = 16384")
                try db.execute(sql: "PRAGMA journal_mode = WAL")
                try db.execute(sql: "PRAGMA synchronous = OFF")
                try db.execute(sql: "CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT NOT NULL)")
                try db.execute(sql: "INSERT INTO t VALUES ('probe', 'before')")
            }
            let writesBefore = OutboxVFS.logWrites
            try await queue.write { db in try db.execute(sql: "UPDATE t SET v = 'second' WHERE k = 'probe'") }
            #expect(OutboxVFS.logWrites > writesBefore, "the commit's frames were written before it returned")

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
    #endif
}
