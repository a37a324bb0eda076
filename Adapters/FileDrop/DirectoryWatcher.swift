import Foundation
import Glibc
import Synchronization

/// Watches one directory with inotify on a dedicated thread, so that blocking in `poll` never
/// occupies the cooperative thread pool.
///
/// Events are coalesced per file name into ``Change``s (a file written a million times is one
/// entry), collected with ``drain()``. ``signals`` yields whenever changes arrived and when the
/// deadline asked with ``wake(at:)`` passes, which drives the source's settle and retry timers.
/// In between, the thread sleeps: an idle directory costs no wake-ups.
final class DirectoryWatcher: Sendable {
    /// The last thing inotify said about a name, coalesced.
    enum Change: Equatable, Sendable {
        /// Created or modified, not closed since: presumed open for writing.
        case written
        /// Closed after writing, or moved in: complete as far as inotify knows.
        case closed
        /// Deleted or moved away.
        case removed
        /// Attributes changed only.
        case touched
    }

    /// Everything seen since the last ``drain()``.
    struct Pending: Sendable {
        var changes: [String: Change] = [:]
        /// The kernel queue overflowed: events were lost, rescan and forget what inotify said.
        var overflowed = false
        /// The watch went away (directory deleted, moved, unmounted): watch it again.
        var watchLost = false
    }

    let signals: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation
    /// The inotify instance, -1 when inotify is unavailable (then only deadlines are signalled).
    private let inotify: Int32
    /// A pipe whose read end interrupts the thread's wait (a new deadline, or stop); -1 when
    /// it could not be made (then the thread looks at the deadline every ``fallbackWait``).
    private let interrupt: (read: Int32, write: Int32)
    /// When ``signals`` yields without changes: monotonic nanoseconds, `Int64.max` for never.
    private let deadline = Atomic<Int64>(Int64.max)
    private let pending = Mutex(Pending())
    private let stopped = Atomic<Bool>(false)

    /// The longest single wait: a deadline is looked at again after it even if no interrupt came.
    static let longestWaitMilliseconds: Int64 = 60_000
    /// The wait without an interrupt pipe.
    static let fallbackWaitMilliseconds: Int64 = 250

    private static let mask: UInt32 = UInt32(
        IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_MODIFY | IN_ATTRIB | IN_DELETE | IN_MOVED_FROM
            | IN_DELETE_SELF | IN_MOVE_SELF)

    init() {
        (signals, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        inotify = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        interrupt = Self.makeInterruptPipe()
    }

    /// Whether inotify could be initialised at all.
    var isAvailable: Bool { inotify >= 0 }

    /// Adds (or renews) the watch on `directory`.
    func watch(_ directory: String) throws(SystemCallError) {
        guard inotify >= 0 else { throw SystemCallError("inotify_init1", directory, code: ENOSYS) }
        guard inotify_add_watch(inotify, directory, Self.mask) >= 0 else {
            throw SystemCallError("inotify_add_watch", directory)
        }
    }

    /// Starts the reading thread.
    func start() {
        continuation.onTermination = { [weak self] _ in self?.stop() }
        let thread = Thread { [self] in readLoop() }
        thread.name = "outpost-filedrop-inotify"
        thread.start()
    }

    /// Asks the thread to end; it closes its descriptors.
    func stop() {
        stopped.store(true, ordering: .releasing)
        poke()
    }

    /// Asks for a signal at `time` (seconds on the monotonic clock, see `SystemTime`) if no
    /// change comes first; replaces the deadline asked before. A time already past signals at once.
    func wake(at time: Double) {
        let nanoseconds = time.isFinite ? Int64((min(max(0, time), 9e9) * 1e9).rounded(.up)) : Int64.max
        deadline.store(nanoseconds, ordering: .releasing)
        poke()
    }

    private func poke() {
        guard interrupt.write >= 0 else { return }
        var byte: UInt8 = 1
        _ = write(interrupt.write, &byte, 1)  // a full pipe already interrupts: nothing to add
    }

    /// Takes everything seen since the last call.
    func drain() -> Pending {
        pending.withLock { current in
            let taken = current
            current = Pending()
            return taken
        }
    }

    private func readLoop() {
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        var descriptors: [pollfd] = []
        if interrupt.read >= 0 { descriptors.append(pollfd(fd: interrupt.read, events: Int16(POLLIN), revents: 0)) }
        if inotify >= 0 { descriptors.append(pollfd(fd: inotify, events: Int16(POLLIN), revents: 0)) }
        while !stopped.load(ordering: .acquiring) {
            let due = deadline.load(ordering: .acquiring)
            let wait = Self.milliseconds(until: due, limit: interrupt.read >= 0 ? Self.longestWaitMilliseconds : Self.fallbackWaitMilliseconds)
            for i in descriptors.indices { descriptors[i].revents = 0 }
            guard poll(&descriptors, nfds_t(descriptors.count), wait) >= 0 || errno == EINTR else {
                poll(nil, 0, Int32(Self.fallbackWaitMilliseconds))  // cannot wait on the descriptors: wait anyway
                continue
            }
            var changed = false
            for descriptor in descriptors where descriptor.revents != 0 {
                if descriptor.fd == inotify {
                    readAvailable(into: &buffer)
                    changed = true
                } else {
                    emptyInterruptPipe()
                }
            }
            if due != Int64.max, SystemTime.monotonicNanoseconds() >= due {
                // Taken: the next deadline comes from the step this signal drives (unless one
                // was asked for meanwhile, which stays).
                _ = deadline.compareExchange(expected: due, desired: Int64.max, ordering: .acquiringAndReleasing)
                changed = true
            }
            if changed { continuation.yield() }
        }
        if inotify >= 0 { close(inotify) }
        if interrupt.read >= 0 {
            close(interrupt.read)
            close(interrupt.write)
        }
        continuation.finish()
    }

    /// The `poll` timeout until `due` (monotonic nanoseconds), rounded up, at most `limit`.
    private static func milliseconds(until due: Int64, limit: Int64) -> Int32 {
        guard due != Int64.max else { return Int32(limit) }
        let left = due - SystemTime.monotonicNanoseconds()
        guard left > 0 else { return 0 }
        return Int32(min(limit, (left + 999_999) / 1_000_000))
    }

    private static func makeInterruptPipe() -> (read: Int32, write: Int32) {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { return (-1, -1) }
        for fd in ends {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        return (ends[0], ends[1])
    }

    private func emptyInterruptPipe() {
        var bytes = [UInt8](repeating: 0, count: 64)
        while bytes.withUnsafeMutableBytes({ read(interrupt.read, $0.baseAddress, $0.count) }) > 0 {}
    }

    private func readAvailable(into buffer: inout [UInt8]) {
        while true {
            let count = buffer.withUnsafeMutableBytes { read(inotify, $0.baseAddress, $0.count) }
            guard count > 0 else { return }
            buffer.withUnsafeBytes { record(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        }
    }

    /// Parses `struct inotify_event` records and folds them into ``pending``.
    private func record(_ events: UnsafeRawBufferPointer) {
        let headerSize = MemoryLayout<inotify_event>.size
        pending.withLock { pending in
            var offset = 0
            while offset + headerSize <= events.count {
                let mask = events.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
                let nameLength = Int(events.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
                let nameBytes = events[(offset + headerSize)..<min(events.count, offset + headerSize + nameLength)]
                offset += headerSize + nameLength
                if mask & UInt32(IN_Q_OVERFLOW) != 0 { pending.overflowed = true }
                if mask & UInt32(IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT) != 0 {
                    pending.watchLost = true
                }
                guard let end = nameBytes.firstIndex(of: 0) ?? (nameBytes.isEmpty ? nil : nameBytes.endIndex),
                      end > nameBytes.startIndex
                else { continue }
                let name = String(decoding: events[nameBytes.startIndex..<end], as: UTF8.self)
                pending.changes[name] = Self.fold(mask, into: pending.changes[name])
            }
        }
    }

    private static func fold(_ mask: UInt32, into previous: Change?) -> Change? {
        if mask & UInt32(IN_DELETE | IN_MOVED_FROM) != 0 { return .removed }
        if mask & UInt32(IN_CLOSE_WRITE | IN_MOVED_TO) != 0 { return .closed }
        if mask & UInt32(IN_CREATE | IN_MODIFY) != 0 { return .written }
        return previous ?? .touched
    }
}
