import Glibc

/// Where remote files are downloaded to before intake reads them: memory for files up to
/// ``inMemoryLimit``, else a local directory.
///
/// Holds at most ``slots`` files, one per slot (on disk `download.partial`,
/// `download.partial.1`, …): the files intake is reading while the next one downloads. A
/// slot holds a download in progress, a finished download being submitted, or one whose
/// submission is to be retried; a download to disk interrupted by a broken connection stays
/// so that it can resume where it stopped (one to memory starts again).
struct StagingArea {
    let directory: String

    /// How many files can be staged at once: files in flight (being committed, or
    /// downloading). Three measured ~10% faster than two for 1 MB files, six another ~10%
    /// faster than three (the downloads run on while a commit waits for its sync; eight were
    /// no faster than six); docs/BENCHMARKS.md, sessions 7 and 11.
    static let slots = 6

    /// Largest file downloaded into memory instead of a staging file, which is created,
    /// written, read back twice (hash, decode) and removed per file: about 6% of the agent's
    /// CPU for 1 MB files (docs/BENCHMARKS.md). At most ``slots`` of them are held at once
    /// (24 MiB); larger files stream to disk, so memory stays bounded for any size.
    static let inMemoryLimit: Int64 = 4 << 20

    func path(_ slot: Int) -> String { directory + (slot == 0 ? "/download.partial" : "/download.partial.\(slot)") }

    /// Creates the directory (and parents, owner only: staged files are documents) and
    /// removes whatever a previous run left in it.
    func prepare() throws(SFTPSourceError) {
        var prefix = directory.hasPrefix("/") ? "" : "."
        for component in directory.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, 0o700) != 0, errno != EEXIST {
                throw .stagingUnavailable(directory: directory, detail: "mkdir \(prefix): \(String(cString: strerror(errno)))")
            }
        }
        guard let handle = opendir(directory) else {
            throw .stagingUnavailable(directory: directory, detail: String(cString: strerror(errno)))
        }
        defer { closedir(handle) }
        while let entry = readdir(handle) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { unlink(directory + "/" + name) }
        }
    }

    /// Opens the staging file of `slot`: kept as it is to resume at its end, else emptied.
    /// Returns the descriptor and the offset the download continues at.
    func open(_ slot: Int, resuming: Bool) throws(SSHFailure) -> (fd: Int32, offset: Int64) {
        let path = path(slot)
        let flags = O_RDWR | O_CREAT | O_CLOEXEC | (resuming ? 0 : O_TRUNC)
        let fd = Glibc.open(path, flags, 0o600)
        guard fd >= 0 else { throw .local("cannot open the staging file \(path): \(String(cString: strerror(errno)))") }
        var status = stat()
        guard fstat(fd, &status) == 0 else {
            let detail = String(cString: strerror(errno))
            Glibc.close(fd)
            throw .local("cannot stat the staging file \(path): \(detail)")
        }
        return (fd, Int64(status.st_size))
    }

    /// Removes the staging file of `slot`.
    func discard(_ slot: Int) { unlink(path(slot)) }
}
