#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What the outbox's files say of its last commit, read without SQLite and without opening
/// them: the size, modification time and inode of the database file and of its write-ahead
/// log, from `stat`.
///
/// A commit, by this process or another (`outpost dlq replay`), writes frames to the log (its
/// time changes, and its size while it grows); a checkpoint that truncates or restarts the
/// log changes its size or time, and writes the database file. The times are the kernel's
/// coarse clock (a few milliseconds), so a commit in the same tick as the write before the
/// stamp, into a log restarted from its start, can leave the stamp unchanged: a caller must
/// look again after a while in any case.
///
/// Never `open` here: a POSIX lock belongs to the process and the file, and closing any
/// descriptor of a file drops every lock the process holds on it. SQLite holds its locks on
/// the database file and on the `-shm` index (among them the one that tells other processes
/// the index is in use); an `open` and `close` of either, even to read a byte, would let the
/// next process that opens the outbox (`outpost status`) take the index for abandoned and
/// reset it under the agent: commits lost, and a bus error where the agent had it mapped.
public struct OutboxFileStamp: Equatable, Sendable {
    let database: FileStat
    let log: FileStat

    init(databasePath: String, logPath: String) {
        database = FileStat(path: databasePath)
        log = FileStat(path: logPath)
    }

    /// One file's `stat` fields that a write changes (-1, and inode 0, when there is no file).
    struct FileStat: Equatable, Sendable {
        let size: Int64
        let modifiedSeconds: Int
        let modifiedNanoseconds: Int
        let inode: UInt64

        init(path: String) {
            var status = stat()
            guard stat(path, &status) == 0 else {
                (size, modifiedSeconds, modifiedNanoseconds, inode) = (-1, -1, -1, 0)
                return
            }
            #if canImport(Darwin)
            let modified = status.st_mtimespec
            #else
            let modified = status.st_mtim
            #endif
            size = Int64(status.st_size)
            modifiedSeconds = Int(modified.tv_sec)
            modifiedNanoseconds = Int(modified.tv_nsec)
            inode = UInt64(status.st_ino)
        }
    }
}

extension Outbox {
    /// What the outbox's files say of its last commit now (``OutboxFileStamp``).
    public func fileStamp() -> OutboxFileStamp {
        OutboxFileStamp(databasePath: path, logPath: logPath)
    }
}
