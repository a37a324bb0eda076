import EventModel
import Foundation
import GRDB
import GRDBSQLite
@testable import Outbox
import Testing

@Suite("Opening the outbox file")
struct OutboxOpeningTests {
    @Test("a read-only outbox sees what another instance writes (status while `run` runs)")
    func readOnlyWhileWriting() async throws {
        let fixture = try OutboxFixture()
        defer { fixture.removeAll() }
        try await fixture.append([event("a"), event("b")])

        let reader = try Outbox(path: fixture.path, readOnly: true)
        #expect(try await reader.status().pendingEvents == 2)

        try await fixture.append([event("c")])
        let s = try await fixture.pendingSequences()
        try await fixture.outbox.acknowledge(delivered: [s[0]], deadLetters: [(s[1], "bad")])
        try await fixture.outbox.setState(OutboxStateKey.deliveryPaused, "401")

        let status = try await reader.status()
        #expect(status.pendingEvents == 1)
        #expect(status.deadLetters == 1)
        #expect(status.deliveredRetained == 1)
        #expect(status.deliveryPaused == "401")
        #expect(try await reader.deadLetters().map(\.id) == ["b"])
        #expect(try reader.integrityProblems().isEmpty)

        await #expect(throws: (any Error).self, "a read-only outbox must refuse writes") {
            try await reader.setState("k", "v")
        }
        // The writer is not disturbed by the reader.
        #expect(try await fixture.append([event("d")]) == 1)
        #expect(try await reader.status().pendingEvents == 2)
    }

    @Test("reading connections keep a small page cache and there are at most three; the writer keeps SQLite's default")
    func boundedReaderCaches() async throws {
        let fixture = try OutboxFixture()
        defer { fixture.removeAll() }
        try await fixture.append([event("a")])
        let readerCache = try await fixture.outbox.pool.read { try Int.fetchOne($0, sql: "PRAGMA cache_size") }
        #expect(readerCache == -Outbox.readerCacheKiB)
        #expect(Outbox.readerCacheKiB <= 256)
        let writerCache = try await fixture.outbox.pool.write { try Int.fetchOne($0, sql: "PRAGMA cache_size") }
        #expect(writerCache == -2000)
        #expect(fixture.outbox.pool.configuration.maximumReaderCount == Outbox.maximumReaders)
        #expect(Outbox.maximumReaders <= 3)
    }

    @Test("releaseMemory empties the writer's and a reader's page caches, keeps the connections; the outbox works on after it")
    func releaseMemoryEmptiesTheCaches() async throws {
        let fixture = try OutboxFixture()
        defer { fixture.removeAll() }
        // 600 events of 3 KB: more than a megabyte of pages through the writer's cache.
        try await fixture.append((0..<600).map { event("e\($0)", padding: 3_000) })
        _ = try await fixture.outbox.outboundEvents(try await fixture.pendingSequences())
        let before = try await cacheUsed(fixture.outbox)
        #expect(before.writer > 1 << 20, "the writer's cache holds \(before.writer) bytes")
        #expect(before.reader > 64 << 10, "a reader's cache holds \(before.reader) bytes")
        let readerBefore = try await fixture.outbox.pool.read { UInt(bitPattern: $0.sqliteConnection) }

        await fixture.outbox.releaseMemory()
        let readerAfter = try await fixture.outbox.pool.read { UInt(bitPattern: $0.sqliteConnection) }
        #expect(readerAfter == readerBefore, "the reader stays open: opening it again costs a quiet agent code pages")
        let after = try await cacheUsed(fixture.outbox)
        #expect(after.writer < 64 << 10, "the writer's cache still holds \(after.writer) bytes")
        #expect(after.reader < 64 << 10, "a reader's cache still holds \(after.reader) bytes")

        try await fixture.append([event("after")])
        #expect(try await fixture.pendingSequences().count == 601)
    }

    /// Bytes of page cache the writer and one reader hold (`SQLITE_DBSTATUS_CACHE_USED`).
    private func cacheUsed(_ outbox: Outbox) async throws -> (writer: Int, reader: Int) {
        @Sendable func used(_ db: Database) -> Int {
            var current: Int32 = 0
            var highest: Int32 = 0
            sqlite3_db_status(db.sqliteConnection, SQLITE_DBSTATUS_CACHE_USED, &current, &highest, 0)
            return Int(current)
        }
        let writer = try await outbox.pool.writeWithoutTransaction { used($0) }
        let reader = try await outbox.pool.read { used($0) }
        return (writer, reader)
    }

    @Test("a read-only outbox opens a file no agent has open")
    func readOnlyAfterWriterClosed() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("outbox-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/outbox.sqlite"
        do {
            let writer = try Outbox(path: path)
            try await writer.commit { tx in try tx.append(event("a"), source: "s", fileName: "f") }
        }
        let reader = try Outbox(path: path, readOnly: true)
        #expect(try await reader.status().pendingEvents == 1)
    }

    @Test("a missing file opened read-only is .missing, and is not created")
    func missingReadOnly() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("absent-\(UUID().uuidString)/outbox.sqlite").path
        #expect(throws: OutboxError.missing(path: path)) {
            try Outbox(path: path, readOnly: true)
        }
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect("\(OutboxError.missing(path: path))".contains(path))
    }

    @Test("a file that is not a database is .unusable with a recovery hint", arguments: [false, true])
    func corruptFile(readOnly: Bool) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("outbox-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/outbox.sqlite"
        let garbage = (0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        try Data(garbage).write(to: URL(fileURLWithPath: path))

        expectUnusable(path, readOnly: readOnly)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data(garbage), "the damaged file is left as it was")
    }

    /// A closed outbox (no log left) of 400 pending events of about 1 KB, in a new directory.
    func closedOutbox() async throws -> (directory: String, path: String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("outbox-\(UUID().uuidString)").path
        let path = directory + "/outbox.sqlite"
        do {
            let writer = try Outbox(path: path)
            try await writer.commit { tx in
                for n in 0..<400 { try tx.append(event("e\(n)", padding: 1000), source: "s", fileName: "f") }
            }
        }
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"), "a closed outbox leaves no log")
        return (directory, path)
    }

    /// Opening `path` fails with `.unusable`, naming the file (and `words`, if given) and the recovery.
    func expectUnusable(_ path: String, readOnly: Bool, saying words: String? = nil) {
        do {
            _ = try Outbox(path: path, readOnly: readOnly)
            Issue.record("opening a damaged outbox (readOnly: \(readOnly)) must fail")
        } catch let error as OutboxError {
            guard case .unusable(let reported, let underlying) = error else {
                Issue.record("expected .unusable, got \(error)")
                return
            }
            #expect(reported == path)
            #expect(!underlying.isEmpty)
            if let words { #expect(underlying.contains(words), "\(underlying)") }
            #expect("\(error)".contains(path))
            #expect("\(error)".contains("outpost outbox-recover"), "the message must tell how to recover: \(error)")
        } catch {
            Issue.record("expected an OutboxError, got \(error)")
        }
    }

    @Test("an outbox a newer version changed is refused and left as it was; a change marked compatible is not", arguments: [false, true])
    func newerOutbox(readOnly: Bool) async throws {
        let (directory, path) = try await closedOutbox()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try markMigrated(path, "v2-from-a-newer-version")
        // Its rows, not its bytes: opening a pool for writing makes GRDB create and drop a table.
        func contents(_ path: String) throws -> [String] {
            try DatabaseQueue(path: path).read { db in
                try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier")
                    + String.fetchAll(db, sql: "SELECT e.id || ' ' || e.state || ' ' || hex(p.json) FROM event e JOIN payload p USING (seq) ORDER BY seq")
            }
        }
        let before = try contents(path)
        #expect(before.count == 402)
        do {
            _ = try Outbox(path: path, readOnly: readOnly)
            Issue.record("opening an outbox a newer version changed (readOnly: \(readOnly)) must fail")
        } catch let error as OutboxError {
            #expect(error == .newer(path: path, migrations: ["v2-from-a-newer-version"]))
            let message = "\(error)"
            #expect(message.contains(path) && message.contains("v2-from-a-newer-version"), "\(message)")
            #expect(message.contains("Install the newer version again"), "\(message)")
            #expect(!message.contains("outbox-recover"), "recovery would misread it too: \(message)")
        }
        #expect(try contents(path) == before, "what the file holds is left as it was")

        try markMigrated(path, "v2-from-a-newer-version", applied: false)
        try markMigrated(path, OutboxSchema.compatiblePrefix + "an-index")
        let outbox = try Outbox(path: path, readOnly: readOnly)
        #expect(try await outbox.status().pendingEvents == 400)
    }

    @Test("a truncated outbox is refused when opened, with a recovery hint, and left as it was", arguments: [false, true])
    func truncatedFile(readOnly: Bool) async throws {
        let (directory, path) = try await closedOutbox()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        #expect(truncate(path, off_t(size / 2)) == 0)
        expectUnusable(path, readOnly: readOnly, saying: "truncated")
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int == size / 2, "the damaged file is left as it was")
    }

    @Test("a damaged index the first query does not touch is still found when the outbox opens")
    func damagedStateIndex() async throws {
        let (directory, path) = try await closedOutbox()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (root, pageSize): (Int, Int) = try {
            let queue = try DatabaseQueue(path: path)
            return try queue.read { db in
                (try #require(try Int.fetchOne(db, sql: "SELECT rootpage FROM sqlite_master WHERE name = 'event_pending'")),
                 try #require(try Int.fetchOne(db, sql: "PRAGMA page_size")))
            }
        }()
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.seek(toOffset: UInt64((root - 1) * pageSize))
        try handle.write(contentsOf: Data(repeating: 0xA5, count: pageSize))
        try handle.close()
        expectUnusable(path, readOnly: false, saying: "malformed")
    }

    @Test("the header check trusts the page count only where SQLite does")
    func headerRules() {
        var header = [UInt8](repeating: 0, count: 100)
        header.replaceSubrange(0..<16, with: Array("SQLite format 3\0".utf8))
        header[16] = 0x10  // 4096-byte pages
        header[31] = 10    // 10 pages
        header[27] = 7; header[95] = 7  // change counter == version-valid-for
        #expect(OutboxFileHeader.truncation(header: header, fileSize: 40960) == nil)
        #expect(OutboxFileHeader.truncation(header: header, fileSize: 81920) == nil, "a longer file is not damage")
        #expect(OutboxFileHeader.truncation(header: header, fileSize: 40959)?.contains("truncated") == true)
        var stale = header
        stale[95] = 6
        #expect(OutboxFileHeader.truncation(header: stale, fileSize: 4096) == nil, "a stale count is not trusted, as in SQLite")
        var large = header
        large[16] = 0; large[17] = 1  // 65536-byte pages
        #expect(OutboxFileHeader.truncation(header: large, fileSize: 40960)?.contains("655360 bytes") == true)
        var other = header
        other[0] = UInt8(ascii: "X")
        #expect(OutboxFileHeader.truncation(header: other, fileSize: 0) == nil, "not SQLite: left to SQLite to refuse")
    }

    @Test("refreshCounters picks up what another process changed (`outpost dlq purge`, `outpost replay`)")
    func countersFromAnotherProcess() async throws {
        let fixture = try OutboxFixture()
        defer { fixture.removeAll() }
        try await fixture.append([event("a", padding: 100), event("b", padding: 200), event("c", padding: 300)])
        let s = try await fixture.pendingSequences()
        try await fixture.outbox.acknowledge(delivered: [s[0]], deadLetters: [(s[1], "bad")])
        let sizeB = Int64(event("b", padding: 200).json.count)
        let sizeC = Int64(event("c", padding: 300).json.count)
        #expect(fixture.outbox.undeliveredBytes == sizeB + sizeC)

        let cli = try Outbox(path: fixture.path)
        #expect(try await cli.purgeDeadLetters(ids: nil) == 1)
        #expect(fixture.outbox.undeliveredBytes == sizeB + sizeC, "the running agent does not see it by itself")
        try fixture.outbox.refreshCounters()
        #expect(fixture.outbox.undeliveredBytes == sizeC)

        #expect(try await cli.replayDelivered(since: 0) == 1)
        try fixture.outbox.refreshCounters()
        #expect(fixture.outbox.undeliveredBytes == sizeC + Int64(event("a", padding: 100).json.count))
    }

    @Test("a new outbox gets 16 KiB pages; one made with 4 KiB pages keeps them; both checkpoint at 32 MiB of log")
    func pageSizes() async throws {
        let fixture = try OutboxFixture()
        defer { fixture.removeAll() }
        func pageSettings(_ outbox: Outbox) async throws -> (pageSize: Int?, autocheckpoint: Int?) {
            try await outbox.pool.writeWithoutTransaction { db in
                (try Int.fetchOne(db, sql: "PRAGMA page_size"), try Int.fetchOne(db, sql: "PRAGMA wal_autocheckpoint"))
            }
        }
        let fresh = try await pageSettings(fixture.outbox)
        #expect(fresh.pageSize == 16384)
        #expect(fresh.autocheckpoint == (32 << 20) / 16384)

        // An outbox from before: a database file whose pages are 4 KiB.
        let olderPath = fixture.directory + "/older.sqlite"
        do {
            let older = try DatabaseQueue(path: olderPath)
            try await older.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA page_size = 4096; CREATE TABLE placeholder (x); DROP TABLE placeholder")
            }
            try older.close()
        }
        let older = try Outbox(path: olderPath)
        let kept = try await pageSettings(older)
        #expect(kept.pageSize == 4096, "SQLite cannot change the page size of a WAL database; the outbox must not try")
        #expect(kept.autocheckpoint == (32 << 20) / 4096)
        let events = (0..<40).map { event("older-\($0)", padding: 6000) }
        let inserted = try await older.commit { tx in
            for event in events { try tx.append(event, source: "src", fileName: "f") }
            return tx.inserted
        }
        #expect(inserted == 40)
        #expect(try older.integrityProblems().isEmpty)
        try await older.close()
        let reopened = try Outbox(path: olderPath, readOnly: true)
        #expect(try await reopened.status().pendingEvents == 40)
    }

    @Test("a fresh outbox passes its integrity check")
    func integrity() async throws {
        let fixture = try OutboxFixture()
        defer { fixture.removeAll() }
        try await fixture.append([event("a")])
        #expect(try fixture.outbox.integrityProblems().isEmpty)
    }

    @Test("the writer keeps statement journals in memory")
    func statementJournalInMemory() async throws {
        let fixture = try OutboxFixture()
        defer { fixture.removeAll() }
        // An input's savepoint journals the pages it changes; on disk, such journals once
        // doubled the write calls of an ingest of 5 KB documents.
        #expect(try await fixture.outbox.pool.write { try Int.fetchOne($0, sql: "PRAGMA temp_store") } == 2)
    }

    @Test("a data directory named with spaces, %, ? and # is opened at exactly that path")
    func oddDirectoryName() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("outbox-odd-\(UUID().uuidString)").path
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
        // The same file again, also when named with a leading "//" or relatively.
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
}
