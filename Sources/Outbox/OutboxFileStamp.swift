#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What the outbox's files say of its last commit, read without SQLite: the header of the
/// write-ahead log's index (the `-shm` file every connection shares, in SQLite's documented
/// WAL-index format) and the database file's size and modification time.
///
/// The index header's first 48 bytes hold a counter that every committed write transaction
/// changes, the number of frames in the log and the log's salts, so a commit by this process
/// or another (`outpost dlq replay`) changes the stamp. A header read while a writer updates
/// it may differ without a commit; that only makes a caller look once more. Reading it takes
/// an `open`, a `pread`, a `close` and a `stat`.
public struct OutboxFileStamp: Equatable, Sendable {
    var logIndexHeader: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0)
    var databaseSize: Int64 = -1
    var databaseModified: (seconds: Int, nanoseconds: Int) = (0, 0)

    init(databasePath: String, indexPath: String) {
        let fd = open(indexPath, O_RDONLY | O_CLOEXEC)
        if fd >= 0 {
            _ = withUnsafeMutableBytes(of: &logIndexHeader) { pread(fd, $0.baseAddress, $0.count, 0) }
            close(fd)
        }
        var status = stat()
        if stat(databasePath, &status) == 0 {
            databaseSize = Int64(status.st_size)
            #if canImport(Darwin)
            let modified = status.st_mtimespec
            #else
            let modified = status.st_mtim
            #endif
            databaseModified = (Int(modified.tv_sec), Int(modified.tv_nsec))
        }
    }

    public static func == (a: OutboxFileStamp, b: OutboxFileStamp) -> Bool {
        a.logIndexHeader == b.logIndexHeader && a.databaseSize == b.databaseSize && a.databaseModified == b.databaseModified
    }
}

extension Outbox {
    /// What the outbox's files say of its last commit now (``OutboxFileStamp``).
    public func fileStamp() -> OutboxFileStamp {
        OutboxFileStamp(databasePath: path, indexPath: indexPath)
    }
}
