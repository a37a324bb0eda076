import Foundation
import Glibc

/// Who may read the outbox: its owner alone. Every document the agent has read is in it.
///
/// The data directory is created 0700 and the database file 0600 whatever the umask;
/// SQLite creates the write-ahead log and its index (`-wal`, `-shm`) with the database
/// file's mode, and an outbox whose files are laxer (made by an earlier agent, or copied)
/// has them narrowed when it is opened.
enum OutboxFileModes {
    static let directory: mode_t = 0o700
    static let file: mode_t = 0o600

    /// Creates the directory of `path` (0700) and an empty database file (0600) when they
    /// are missing; narrows the modes of existing outbox files that others could read.
    static func prepare(databaseAt path: String) throws {
        try createDirectory((path as NSString).deletingLastPathComponent)
        var existing = stat()
        if stat(path, &existing) == 0 {
            narrow(path)
            return
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, file)
        if fd >= 0 {
            // The umask may have taken bits away, never added any; set exactly.
            fchmod(fd, file)
            close(fd)
        } else if errno != EEXIST {
            throw OutboxError.unusable(path: path, underlying: "cannot create the database file: \(String(cString: strerror(errno)))")
        }
        narrow(path)
    }

    /// Narrows the database file and its log files to 0600 where they are laxer.
    static func narrow(_ path: String) {
        for file in [path, path + "-wal", path + "-shm"] {
            var st = stat()
            guard stat(file, &st) == 0, st.st_mode & 0o077 != 0 else { continue }
            chmod(file, st.st_mode & 0o700)
        }
    }

    /// Creates `directory` and its missing parents with mode 0700 (parents that exist are
    /// left as they are).
    static func createDirectory(_ directory: String) throws {
        guard !directory.isEmpty, !FileManager.default.fileExists(atPath: directory) else { return }
        try createDirectory((directory as NSString).deletingLastPathComponent)
        if mkdir(directory, Self.directory) == 0 {
            chmod(directory, Self.directory)
        } else if errno != EEXIST {
            throw OutboxError.unusable(
                path: directory, underlying: "cannot create the data directory: \(String(cString: strerror(errno)))")
        }
    }
}
