import EventModel
import Glibc

/// Tells whether some process has a file open for writing.
///
/// The source decides "still being written" in layers, cheapest first:
///
/// 1. **inotify history** (kept by the source, not here): a file with `IN_CREATE`/`IN_MODIFY`
///    seen and no `IN_CLOSE_WRITE`/`IN_MOVED_TO` since is presumed open. This costs nothing
///    and covers writers that pause longer than `settle`.
/// 2. **Read lease** (this type): `fcntl(F_SETLEASE, F_RDLCK)` on our `O_RDONLY` descriptor
///    fails with `EAGAIN` exactly when the kernel counts a writer of the inode, in any process.
///    The lease is released at once. The answer is *certain*, so it also clears a stale
///    inotify mark (a hard link or a missed close). It needs the file's owner or `CAP_LEASE`,
///    and a local filesystem.
/// 3. **/proc scan** (this type, when a lease is not permitted or not supported): every
///    `/proc/<pid>/fd/<n>` that resolves to the same device and inode and whose
///    `/proc/<pid>/fdinfo/<n>` flags say `O_WRONLY`/`O_RDWR` is a writer. Processes we may not
///    inspect are ignored, so a "no writer" answer is *uncertain*: the source then still
///    honours an inotify "open" mark.
///
/// A file is picked up only when no layer reports a writer and, if inotify marks it open,
/// the lease layer has certainly found none.
enum OpenWriterProbe {
    /// The outcome of a probe.
    enum Verdict: Equatable {
        /// Some process has the file open for writing.
        case writing
        /// No writer found; `certain` when the kernel said so (lease), not a best-effort scan.
        case noWriter(certain: Bool)

        /// Whether a file may be picked up given this verdict and the inotify "open" mark.
        func allowsPickup(inotifyOpenMark: Bool) -> Bool {
            switch self {
            case .writing: false
            case .noWriter(let certain): certain || !inotifyOpenMark
            }
        }
    }

    // Linux values; Glibc exports them only under _GNU_SOURCE.
    private static let setLease: Int32 = 1024
    private static let setSignal: Int32 = 10

    /// Probes the file open (read-only) as `fd`, whose `fstat` gave `device` and `inode`.
    static func check(descriptor fd: Int32, device: UInt64, inode: UInt64) -> Verdict {
        // A lease break signals the holder (SIGIO by default, which would terminate the
        // process); route it to SIGURG, ignored by default, before taking the lease.
        if fcntl(fd, setSignal, SIGURG) == 0 {
            if fcntl(fd, setLease, Int32(F_RDLCK)) == 0 {
                _ = fcntl(fd, setLease, Int32(F_UNLCK))
                return .noWriter(certain: true)
            }
            if errno == EAGAIN { return .writing }
        }
        return scanProcesses(device: device, inode: inode) ? .writing : .noWriter(certain: false)
    }

    /// Whether a process we can inspect has the inode open for writing, via /proc.
    static func scanProcesses(device: UInt64, inode: UInt64) -> Bool {
        guard let processes = try? DirectoryListing.read("/proc") else { return false }
        return processes.names.contains { pid in
            pid.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
                && processHasWriter(pid: pid, device: device, inode: inode)
        }
    }

    private static func processHasWriter(pid: String, device: UInt64, inode: UInt64) -> Bool {
        let fdDirectory = "/proc/\(pid)/fd"
        guard let fds = try? DirectoryListing.read(fdDirectory) else { return false }
        for fd in fds.names {
            var st = stat()
            guard stat(fdDirectory + "/" + fd, &st) == 0,
                  UInt64(st.st_dev) == device, UInt64(st.st_ino) == inode
            else { continue }
            if let flags = openFlags(pid: pid, fd: fd), flags & O_ACCMODE != O_RDONLY { return true }
        }
        return false
    }

    /// The `flags:` line (octal) of `/proc/<pid>/fdinfo/<fd>`.
    private static func openFlags(pid: String, fd: String) -> Int32? {
        let path = "/proc/\(pid)/fdinfo/\(fd)"
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var buffer = [UInt8](repeating: 0, count: 512)
        let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        guard count > 0 else { return nil }
        let text = String(decoding: buffer[0..<count], as: UTF8.self)
        for line in text.split(separator: "\n") where line.hasPrefix("flags:") {
            return Int32(String(line.dropFirst("flags:".count)).trimmingBlanks(), radix: 8)
        }
        return nil
    }
}
