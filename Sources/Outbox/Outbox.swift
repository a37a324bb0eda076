import EventModel
import Foundation
import GRDB

/// The agent's durable outbox: one SQLite database (WAL) that holds every event from the
/// moment its document is committed until the hub has it, plus dead letters, file receipts
/// and a little agent state that `outpost status` reads.
///
/// Invariants live in the schema: `UNIQUE(id)` makes re-reading a document a no-op, the
/// `state` column only takes `pending`, `delivered` or `dead`, and `seq` (AUTOINCREMENT)
/// never goes backwards, so it is the delivery order.
public final class Outbox: Sendable {
    /// Where the database lives.
    public let path: String
    /// The write-ahead log (``fileStamp()``).
    let logPath: String
    let pool: DatabasePool
    let counters = OutboxCounters()
    /// Checkpoints the log away from the writer (nil when opened read-only).
    let checkpointer: OutboxCheckpointer?
    /// Syncs the log away from the writer; commits wait for it (nil when opened read-only).
    let logSync: OutboxLogSync?
    /// Binds and runs the chunk inserts of every commit.
    let binder: any OutboxStatementBinder
    /// Bodies waiting for the writer (``queueCommit(_:)``).
    let commitQueue = OutboxCommitQueue()
    /// The database file as opened (device, inode). A commit checks that `path` still names
    /// it: SQLite keeps writing into a file removed under it (a deleted or replaced
    /// data_dir), and its commits would vanish with it while the sources delete their files.
    let fileIdentity: FileIdentity?
    /// Bytes of log at which the writer's own automatic checkpoint runs: a backstop behind
    /// ``OutboxCheckpointer`` (SQLite counts it in pages, so it is set per page size).
    static let backstopLogBytes = 32 << 20
    /// The page size of a new outbox: 16 KiB, not SQLite's 4 KiB. Events of a few kilobytes
    /// then fit in a page instead of a page and an overflow page, and a commit's log frames
    /// and the checkpoint's copies take a quarter of the pages and system calls: about a
    /// fifth more IDocs per agent CPU-second (docs/BENCHMARKS.md, "16 KiB outbox pages"). An outbox
    /// created earlier keeps its 4 KiB pages (SQLite cannot change them in WAL mode).
    static let newDatabasePageSize = 16384
    /// Each reading connection's page cache, KiB (SQLite's default is 2,000 per connection).
    static let readerCacheKiB = 256
    /// Reading connections at most: the forwarder's window and batch reads, status, metrics.
    static let maximumReaders = 3

    /// Opens (creating and migrating when needed) the outbox at `path`.
    ///
    /// - Parameter readOnly: open without migrating or writing (the CLI reading a running
    ///   agent's outbox).
    /// - Throws: ``OutboxError`` with a recovery hint when the file is not a usable database.
    /// - Parameter binder: how the chunk inserts reach SQLite (``OutboxStatementBinder``);
    ///   GRDB's arguments unless the composition root gives the direct binder.
    public init(path: String, readOnly: Bool = false, binder: any OutboxStatementBinder = GRDBStatementBinder()) throws {
        self.path = path
        logPath = path + "-wal"
        self.binder = binder
        var config = Configuration()
        config.readonly = readOnly
        config.busyMode = .timeout(10)
        config.label = "outbox"
        config.prepareDatabase { db in
            if !db.configuration.readonly {
                // Before WAL is turned on, so that a new database takes it; a no-op on one
                // that exists.
                try db.execute(sql: "PRAGMA page_size = \(Outbox.newDatabasePageSize)")
                let pageSize = try Int.fetchOne(db, sql: "PRAGMA page_size") ?? Outbox.newDatabasePageSize
                try db.execute(sql: "PRAGMA wal_autocheckpoint = \(Outbox.backstopLogBytes / pageSize)")
                // An input's savepoint, and a multi-row update that may stop half-way, make
                // SQLite journal the pages they change: in memory (a few pages), not in a
                // temporary file, whose writes once doubled an ingest's write calls. (The chunk
                // inserts are `OR FAIL` and need no such journal.)
                try db.execute(sql: "PRAGMA temp_store = MEMORY")
            } else {
                // A reader takes each stored event once, to send it: its pages come from the
                // operating system's cache, not from a cache of the reader's own.
                try db.execute(sql: "PRAGMA cache_size = -\(Outbox.readerCacheKiB)")
            }
        }
        config.maximumReaderCount = Outbox.maximumReaders
        // Readers stay open when memory is given back (``releaseMemory()``): the forwarder
        // reads every 2 s, and opening a connection again each time brought a megabyte of
        // SQLite's and GRDB's code back into a quiet agent's memory.
        config.persistentReadOnlyConnections = true
        do {
            if !readOnly {
                try OutboxFileModes.prepare(databaseAt: path)
            } else if !FileManager.default.fileExists(atPath: path) {
                throw OutboxError.missing(path: path)
            }
            if let shortfall = OutboxFileHeader.truncation(ofDatabaseAt: path) {
                throw OutboxError.unusable(path: path, underlying: shortfall)
            }
            pool = try DatabasePool(path: path, configuration: config)
            // Before anything reads or migrates it: a newer version's outbox may hold what this
            // one would misread.
            let unknown = try pool.read { db in try OutboxSchema.unknownMigrations(db) }
            if !unknown.isEmpty { throw OutboxError.newer(path: path, migrations: unknown) }
            fileIdentity = FileIdentity(path: path)
            if !readOnly {
                // NORMAL: the writer does not sync the log at each commit; `OutboxLogSync`
                // does, off the writer, and a commit returns only once a sync that began
                // after it has finished (the source removes its input right after it, so a
                // commit must survive a power cut). SQLite still syncs around checkpoints.
                // Set here, not in `prepareDatabase`: GRDB sets a pool's writer to NORMAL
                // when it turns WAL on, after that; checked, since SQLite may refuse a setting.
                try pool.writeWithoutTransaction { db in
                    try db.execute(sql: "PRAGMA synchronous = NORMAL")
                    let level = try Int.fetchOne(db, sql: "PRAGMA synchronous")
                    guard level == 1 else {
                        throw OutboxError.unusable(path: path, underlying: "SQLite kept synchronous = \(level ?? -1), not NORMAL (1)")
                    }
                }
                try OutboxSchema.migrator.migrate(pool)
            }
            try pool.read { db in try db.execute(sql: "SELECT count(*) FROM event LIMIT 1") }
            checkpointer = readOnly ? nil : OutboxCheckpointer(path: path)
            logSync = readOnly ? nil : OutboxLogSync(databasePath: path)
            // Reads both partial indexes: damage there is found now, not by the first commit.
            if !readOnly { try refreshCounters() }
        } catch let error as OutboxError {
            throw error
        } catch {
            throw OutboxError.unusable(path: path, underlying: "\(error)")
        }
    }

    /// Closes the outbox at a clean stop: waits for a background checkpoint, then closes every
    /// connection, so that the last one copies the write-ahead log into the database file and
    /// removes it. A stopped agent then leaves one self-contained file (for backups, and for
    /// the header checks of the next start, which a log holding page 1 would mask). Any use
    /// afterwards throws.
    public func close() async throws {
        await checkpointer?.drain()
        try pool.close()
        // GRDB closes the pool's writer before its read-only readers, and a read-only
        // connection closing last cannot checkpoint, so it leaves the log behind. One more
        // writable connection, alone and closed last, copies the log in and removes it.
        let last = try OutboxCheckpointer.connection(path: path, label: "outbox.close")
        _ = try await last.writeWithoutTransaction { try $0.checkpoint(.truncate) }
        try last.close()
    }

    /// Checks the database file end to end (`PRAGMA quick_check`); returns the problems found.
    public func integrityProblems() throws -> [String] {
        try pool.read { db in
            let rows = try String.fetchAll(db, sql: "PRAGMA quick_check")
            return rows == ["ok"] ? [] : rows
        }
    }

    /// Bytes of events not yet delivered (pending and dead), as this process knows them.
    public var undeliveredBytes: Int64 { counters.snapshot().undeliveredBytes }

    /// Gives back the memory SQLite holds for the connections: the writer's page cache and
    /// the page cache of the reader the reads take first (`PRAGMA shrink_memory`, SQLite's
    /// `sqlite3_db_release_memory`). Connections and prepared statements stay: preparing the
    /// statements again would bring SQLite's compiler back into a quiet agent's memory, and
    /// the other readers' caches are small (``readerCacheKiB``). For a quiet agent: it waits
    /// for the writer's turn, on a thread outside Swift's pool, so the heap trimmed after it
    /// can return the pages.
    public func releaseMemory() async {
        let pool = pool
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            DispatchQueue.global(qos: .utility).async {
                try? pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA shrink_memory") }
                try? pool.read { db in try db.execute(sql: "PRAGMA shrink_memory") }
                done.resume()
            }
        }
    }

    /// Commits made since the outbox opened (0 for a read-only one).
    public var commitsMade: UInt64 { logSync?.lastCounted ?? 0 }

    /// Re-reads the undelivered byte and event counts from the database (other processes,
    /// such as `outpost dlq purge`, may have changed them).
    public func refreshCounters() throws {
        let (count, bytes) = try pool.read { db -> (Int64, Int64) in
            // One query per state, spelled out in the SQL, so that each uses its partial index
            // (not used for `IN (…)` or a bound value) instead of scanning the retained
            // delivered events too.
            var totals: (Int64, Int64) = (0, 0)
            for state in ["'pending'", "'dead'"] {
                let row = try Row.fetchOne(db, sql: "SELECT count(*), coalesce(sum(bytes), 0) FROM event WHERE state = \(state)")
                totals.0 += row?[0] ?? 0
                totals.1 += row?[1] ?? 0
            }
            return totals
        }
        counters.reset(events: count, bytes: bytes)
    }

    /// Total size of the database files on disk (database + WAL).
    public func fileBytes() -> Int64 {
        var total: Int64 = 0
        for suffix in ["", "-wal", "-shm"] {
            // `stat` itself: FileManager's attributes make a dictionary of boxed numbers, a
            // megabyte of Foundation's code that a quiet agent's status would fault in.
            var status = stat()
            if stat(path + suffix, &status) == 0 {
                total += Int64(status.st_size)
            }
        }
        return total
    }
}

/// A file's device and inode numbers: which file a path names.
struct FileIdentity: Equatable {
    let device: UInt64
    let inode: UInt64

    /// The file `path` names now; nil when there is none.
    init?(path: String) {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        device = UInt64(status.st_dev)
        inode = UInt64(status.st_ino)
    }
}

/// Why the outbox could not be opened or written.
public enum OutboxError: Error, CustomStringConvertible, Equatable {
    case missing(path: String)
    case unusable(path: String, underlying: String)
    /// The database file was removed or replaced while open: nothing more is committed.
    case replaced(path: String)
    /// Syncing the write-ahead log failed: commits since the last good sync may not survive a
    /// power cut, and none is confirmed any more.
    case syncFailed(path: String, reason: String)
    /// A newer version migrated the outbox in a way this version does not know.
    case newer(path: String, migrations: [String])

    public var description: String {
        switch self {
        case .missing(let path):
            return "outbox database \(path) does not exist (has `outpost run` ever started with this data_dir?)"
        case .unusable(let path, let underlying):
            return "outbox database \(path) cannot be used: \(underlying). "
                + "The agent will not start on it (so nothing in it is dropped): with the agent stopped, run "
                + "`outpost outbox-recover --config FILE`, which keeps the damaged file and rebuilds the outbox "
                + "from what can still be read (docs/OPERATIONS.md, section 'Outbox recovery')."
        case .replaced(let path):
            return "outbox database \(path) was removed or replaced while the agent was running (was the data_dir "
                + "deleted?); nothing more is committed to it, so every input stays in its source. Restart the agent once "
                + "the events already in the removed file are delivered (metric outpost_outbox_events at 0): it opens a new "
                + "outbox at that path and picks the inputs up (docs/OPERATIONS.md, 'Directories the agent writes')"
        case .newer(let path, let migrations):
            return "outbox database \(path) was changed by a newer Outpost (schema steps \(migrations.joined(separator: ", ")) "
                + "are unknown to this version), so this version would misread it and does not open it; nothing in it is "
                + "changed. Install the newer version again. To go back to this one, let the newer version deliver everything "
                + "first (docs/OPERATIONS.md, section 'Upgrade, roll back, remove')"
        case .syncFailed(let path, let reason):
            return "syncing the outbox log \(path) to disk failed (\(reason)); no commit is confirmed any more, so every "
                + "input stays in its source. Check the disk and the kernel log (dmesg), then restart the agent: inputs "
                + "whose commit did reach the disk are recognised by their receipts and not added twice"
        }
    }
}
