import Glibc

/// What `lstat`/`fstat` says about a directory entry, reduced to what the source decides on.
struct EntryStatus: Equatable {
    enum Kind: Equatable {
        case regular, directory, symlink
        /// FIFO, socket, device.
        case special
    }

    var kind: Kind
    var device: UInt64
    var inode: UInt64
    var size: Int64
    /// Names the file has (hard links).
    var linkCount: UInt64
    /// Modification time in nanoseconds since 1970.
    var mtimeNs: Int64

    init(_ st: stat) {
        switch st.st_mode & S_IFMT {
        case S_IFREG: kind = .regular
        case S_IFDIR: kind = .directory
        case S_IFLNK: kind = .symlink
        default: kind = .special
        }
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
        size = Int64(st.st_size)
        linkCount = UInt64(st.st_nlink)
        mtimeNs = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
    }

    /// The entry at `path` itself (a symlink is reported as a symlink); `nil` when it does not exist.
    static func of(path: String) throws(SystemCallError) -> EntryStatus? {
        var st = stat()
        guard lstat(path, &st) == 0 else {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw SystemCallError("lstat", path)
        }
        return EntryStatus(st)
    }

    /// The file open as `fd`.
    static func of(descriptor fd: Int32, path: String) throws(SystemCallError) -> EntryStatus {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw SystemCallError("fstat", path) }
        return EntryStatus(st)
    }

    /// Same file (device and inode).
    func isSameFile(as other: EntryStatus) -> Bool { device == other.device && inode == other.inode }

    /// Same file with the same size and mtime.
    func isUnchanged(from other: EntryStatus) -> Bool {
        isSameFile(as: other) && size == other.size && mtimeNs == other.mtimeNs && kind == other.kind
    }

    /// A stable stand-in for the content hash of a file that is refused without being read.
    func fingerprint(name: String) -> String { "\(name)|\(size)|\(mtimeNs)" }
}
