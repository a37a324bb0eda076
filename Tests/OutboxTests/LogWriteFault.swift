import Foundation
import GRDBSQLite
import Synchronization

#if canImport(Glibc)
import Glibc

/// Makes chosen writes to one file fail with `EIO`, as a failing disk would, underneath SQLite:
/// it replaces `pwrite64`, `pwrite` and `write` in the system-call table of SQLite's default
/// VFS (`unix`), the hook SQLite provides for exactly such tests (`xSetSystemCall`). Every
/// write SQLite makes, through whichever VFS stacked on `unix`, passes through it; a write
/// to another file, or one the armed rule does not pick, goes to the system unchanged.
///
/// Installed once per process and never removed (disarmed, it only forwards), since other
/// tests write through the same table at the same time.
enum LogWriteFault {
    /// Which writes to the armed file fail.
    enum Rule: Sendable {
        /// A 24-byte write of a write-ahead log frame header that says "commit" (its second
        /// field, the database size after the commit, is not zero) over bytes already written
        /// while armed: SQLite rewriting the checksum of a transaction's last frame, as it
        /// does at commit for a transaction whose pages spilled into the log before it.
        case commitHeaderRewrite
    }

    private struct Armed {
        var device: dev_t
        var inode: ino_t
        var rule: Rule
        /// Byte ranges written to the file since it was armed, [start, end).
        var written: [Range<Int64>] = []
        var failed = 0
    }

    private typealias PositionedWrite = @convention(c) (Int32, UnsafeRawPointer?, Int, off_t) -> Int
    private typealias Write = @convention(c) (Int32, UnsafeRawPointer?, Int) -> Int

    private static let armed = Mutex<Armed?>(nil)
    /// The calls replaced, as SQLite had them: set once, before the replacements are installed.
    nonisolated(unsafe) private static var systemPwrite64: PositionedWrite?
    nonisolated(unsafe) private static var systemPwrite: PositionedWrite?
    nonisolated(unsafe) private static var systemWrite: Write?

    /// Installs the replacements (once); nil when this SQLite's default VFS does not take them.
    private static let installed: Void? = {
        guard let vfs = sqlite3_vfs_find("unix"), vfs.pointee.iVersion >= 3,
              let set = vfs.pointee.xSetSystemCall, let get = vfs.pointee.xGetSystemCall
        else { return nil }
        systemPwrite64 = get(vfs, "pwrite64").map { unsafeBitCast($0, to: PositionedWrite.self) }
        systemPwrite = get(vfs, "pwrite").map { unsafeBitCast($0, to: PositionedWrite.self) }
        systemWrite = get(vfs, "write").map { unsafeBitCast($0, to: Write.self) }
        let pwrite64: PositionedWrite = { fd, buffer, count, offset in
            if LogWriteFault.fails(fd, buffer, count, offset) { return LogWriteFault.refused() }
            return LogWriteFault.systemPwrite64!(fd, buffer, count, offset)
        }
        let pwrite: PositionedWrite = { fd, buffer, count, offset in
            if LogWriteFault.fails(fd, buffer, count, offset) { return LogWriteFault.refused() }
            return LogWriteFault.systemPwrite!(fd, buffer, count, offset)
        }
        let write: Write = { fd, buffer, count in
            if LogWriteFault.fails(fd, buffer, count, lseek(fd, 0, SEEK_CUR)) { return LogWriteFault.refused() }
            return LogWriteFault.systemWrite!(fd, buffer, count)
        }
        var replaced = 0
        if systemPwrite64 != nil, set(vfs, "pwrite64", unsafeBitCast(pwrite64, to: sqlite3_syscall_ptr.self)) == SQLITE_OK { replaced += 1 }
        if systemPwrite != nil, set(vfs, "pwrite", unsafeBitCast(pwrite, to: sqlite3_syscall_ptr.self)) == SQLITE_OK { replaced += 1 }
        if systemWrite != nil, set(vfs, "write", unsafeBitCast(write, to: sqlite3_syscall_ptr.self)) == SQLITE_OK { replaced += 1 }
        return replaced > 0 ? () : nil
    }()

    /// Arms `rule` for the file now at `path` (an existing file; the rule follows its inode).
    /// Throws when SQLite's default VFS cannot take the replacements or the file is missing.
    static func arm(_ rule: Rule, forFileAt path: String) throws {
        guard installed != nil else { throw Unavailable(reason: "SQLite's unix VFS does not let its write calls be replaced") }
        var status = stat()
        guard stat(path, &status) == 0 else { throw Unavailable(reason: "\(path): \(String(cString: strerror(errno)))") }
        armed.withLock { $0 = Armed(device: status.st_dev, inode: status.st_ino, rule: rule) }
    }

    /// Disarms; returns how many writes failed while armed.
    @discardableResult
    static func disarm() -> Int {
        armed.withLock { armed in
            defer { armed = nil }
            return armed?.failed ?? 0
        }
    }

    /// Why the fault cannot be armed.
    struct Unavailable: Error, CustomStringConvertible {
        let reason: String
        var description: String { "cannot inject write failures: \(reason)" }
    }

    private static func refused() -> Int {
        errno = EIO
        return -1
    }

    /// Whether this write must fail; records the ranges of the armed file's writes.
    private static func fails(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ count: Int, _ offset: off_t) -> Bool {
        armed.withLock { armed in
            guard var current = armed, let buffer, count > 0 else { return false }
            var status = stat()
            guard fstat(fd, &status) == 0, status.st_dev == current.device, status.st_ino == current.inode else { return false }
            let range = Int64(offset)..<(Int64(offset) + Int64(count))
            let bytes = UnsafeRawBufferPointer(start: buffer, count: count)
            let refuse: Bool
            switch current.rule {
            case .commitHeaderRewrite:
                let commitHeader = count == 24 && bytes[4..<8].contains { $0 != 0 }
                refuse = commitHeader && current.written.contains { $0.lowerBound <= range.lowerBound && range.upperBound <= $0.upperBound }
            }
            if refuse {
                current.failed += 1
            } else {
                current.written.append(range)
            }
            armed = current
            return refuse
        }
    }
}
#endif
