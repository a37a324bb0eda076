import Foundation

/// An exclusive lock on `data_dir/outpost.lock`, so two agents never share an outbox.
/// Read-only commands (`status`, `dlq list`) do not take it.
struct DataDirLock {
    let fd: Int32

    init(dataDir: String) throws {
        // Owner only: the outbox in it holds every document read (FileManager sets the mode
        // with chmod after mkdir, so the umask does not widen or narrow it).
        try FileManager.default.createDirectory(
            atPath: dataDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let path = (dataDir as NSString).appendingPathComponent("outpost.lock")
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw AssemblyError("cannot open \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw AssemblyError("another `outpost run` already uses data_dir \(dataDir) (\(path) is locked); stop it first")
        }
        let pid = "\(getpid())\n"
        _ = ftruncate(fd, 0)
        _ = pid.withCString { write(fd, $0, strlen($0)) }
    }

    func release() {
        flock(fd, LOCK_UN)
        close(fd)
    }
}
