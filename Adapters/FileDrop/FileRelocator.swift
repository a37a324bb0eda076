import Glibc

/// Moves directory entries without ever overwriting anything, durably.
///
/// A move tries `renameat2(RENAME_NOREPLACE)`; where the filesystem lacks it, `link` +
/// `unlink` (which also refuse to replace); across filesystems, a copy to a new file
/// (`O_EXCL`), `fsync`, then `unlink`. When the name is taken, `.1`, `.2`, … is appended.
/// Both directories are fsynced afterwards so that the move survives a power cut.
enum FileRelocator {
    /// Moves `source` into `directory`, named `name` or `name.N`; returns the final path.
    ///
    /// - Parameter reserving: a suffix whose companion (`<final><suffix>`) must be free too,
    ///   e.g. `.reason.json` for a quarantined file.
    static func move(
        _ source: String, into directory: String, name: String, reserving companion: String? = nil
    ) throws(SystemCallError) -> String {
        for finalName in candidateNames(name) {
            let destination = directory + "/" + finalName
            if let companion, try EntryStatus.of(path: destination + companion) != nil { continue }
            if try place(source, at: destination) {
                syncDirectory(directory)
                syncDirectory(parent(of: source))
                return destination
            }
        }
        throw SystemCallError("rename (no free name after 10000 suffixes)", directory + "/" + name, code: EEXIST)
    }

    /// The name ``move(_:into:name:reserving:)`` would pick now (best effort: a name can be
    /// taken between this call and the move, which then picks the next one).
    static func firstFreeName(in directory: String, name: String, reserving companion: String? = nil) -> String {
        candidateNames(name).first { candidate in
            let destination = directory + "/" + candidate
            return (try? EntryStatus.of(path: destination)) == .some(nil)
                && (companion.map { (try? EntryStatus.of(path: destination + $0)) == .some(nil) } ?? true)
        } ?? name
    }

    /// `name`, `name.1`, `name.2`, …
    private static func candidateNames(_ name: String) -> some Sequence<String> {
        (0..<10_000).lazy.map { $0 == 0 ? name : "\(name).\($0)" }
    }

    /// Renames `source` to `destination` (in the same directory), never replacing an entry;
    /// `false` when `destination` exists. Not synced: the move that follows syncs.
    static func rename(_ source: String, to destination: String) throws(SystemCallError) -> Bool {
        try place(source, at: destination)
    }

    /// Removes `path` and makes the removal durable.
    static func remove(_ path: String) throws(SystemCallError) {
        guard unlink(path) == 0 || errno == ENOENT else { throw SystemCallError("unlink", path) }
        syncDirectory(parent(of: path))
    }

    /// Creates `path` (one level) if missing and makes its creation durable.
    static func ensureDirectory(_ path: String) throws(SystemCallError) {
        if mkdir(path, 0o750) == 0 {
            syncDirectory(parent(of: path))
        } else if errno != EEXIST {
            throw SystemCallError("mkdir", path)
        }
    }

    /// fsyncs a directory so that renames and unlinks in it are on disk; best effort.
    static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        fsync(fd)
        close(fd)
    }

    /// Writes `bytes` to a new file `path` (never replacing one) and fsyncs it.
    static func writeNewFile(_ path: String, bytes: [UInt8]) throws(SystemCallError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw SystemCallError("create", path) }
        defer { close(fd) }
        try writeAll(fd, bytes, count: bytes.count, path: path)
        guard fsync(fd) == 0 else { throw SystemCallError("fsync", path) }
        syncDirectory(parent(of: path))
    }

    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// Puts `source` at `destination`; `false` when `destination` exists.
    private static func place(_ source: String, at destination: String) throws(SystemCallError) -> Bool {
        if let renameNoReplace {
            if renameNoReplace(AT_FDCWD, source, AT_FDCWD, destination, renameNoReplaceFlag) == 0 { return true }
            switch errno {
            case EEXIST: return false
            case EXDEV: return try copyAcrossFilesystems(source, to: destination)
            case EINVAL, ENOSYS: break  // the filesystem does not support RENAME_NOREPLACE
            default: throw SystemCallError("rename", source + " -> " + destination)
            }
        }
        if link(source, destination) == 0 {
            guard unlink(source) == 0 else { throw SystemCallError("unlink", source) }
            return true
        }
        switch errno {
        case EEXIST: return false
        case EXDEV: return try copyAcrossFilesystems(source, to: destination)
        default: throw SystemCallError("link", source + " -> " + destination)
        }
    }

    /// Copies a regular file or a symlink to a new `destination` on another filesystem, then
    /// removes `source`. `false` when `destination` exists.
    static func copyAcrossFilesystems(_ source: String, to destination: String) throws(SystemCallError) -> Bool {
        guard let status = try EntryStatus.of(path: source) else { throw SystemCallError("lstat", source, code: ENOENT) }
        switch status.kind {
        case .symlink:
            let target = try linkTarget(source)
            if symlink(target, destination) != 0 {
                if errno == EEXIST { return false }
                throw SystemCallError("symlink", destination)
            }
        case .regular:
            guard try copyContent(source, to: destination) else { return false }
        case .directory, .special:
            throw SystemCallError("move across filesystems", source, code: EXDEV)
        }
        guard unlink(source) == 0 else { throw SystemCallError("unlink", source) }
        return true
    }

    private static func copyContent(_ source: String, to destination: String) throws(SystemCallError) -> Bool {
        let input = open(source, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard input >= 0 else { throw SystemCallError("open", source) }
        defer { close(input) }
        let output = open(destination, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o640)
        guard output >= 0 else {
            if errno == EEXIST { return false }
            throw SystemCallError("create", destination)
        }
        do throws(SystemCallError) {
            var buffer = [UInt8](repeating: 0, count: 1 << 20)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
                if count < 0 {
                    if errno == EINTR { continue }
                    throw SystemCallError("read", source)
                }
                if count == 0 { break }
                try writeAll(output, buffer, count: count, path: destination)
            }
            guard fsync(output) == 0 else { throw SystemCallError("fsync", destination) }
            close(output)
        } catch {
            close(output)
            unlink(destination)
            throw error
        }
        return true
    }

    /// Writes the first `count` bytes of `bytes`.
    private static func writeAll(_ fd: Int32, _ bytes: [UInt8], count: Int, path: String) throws(SystemCallError) {
        var offset = 0
        while offset < count {
            let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                throw SystemCallError("write", path)
            }
            offset += written
        }
    }

    private static func linkTarget(_ path: String) throws(SystemCallError) -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink(path, &buffer, buffer.count - 1)
        guard count >= 0 else { throw SystemCallError("readlink", path) }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private typealias RenameAt2 = @convention(c) (
        Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32
    ) -> Int32

    private static let renameNoReplaceFlag: UInt32 = 1  // RENAME_NOREPLACE

    /// glibc's `renameat2` (≥ 2.28); Glibc does not export it to Swift without _GNU_SOURCE.
    private static let renameNoReplace: RenameAt2? = {
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "renameat2") else { return nil }
        return unsafeBitCast(symbol, to: RenameAt2.self)
    }()
}
