import Foundation
import Glibc
import Synchronization

/// Watches one directory with inotify on a dedicated thread, so that blocking in `poll` never
/// occupies the cooperative thread pool.
///
/// Events are coalesced per file name into ``Change``s (a file written a million times is one
/// entry), collected with ``drain()``. ``signals`` yields whenever changes arrived and also
/// every `tick` seconds, which drives the source's settle and retry timers.
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
    /// The inotify instance, -1 when inotify is unavailable (then only ticks are signalled).
    private let inotify: Int32
    private let tickMilliseconds: Int32
    private let pending = Mutex(Pending())
    private let stopped = Atomic<Bool>(false)

    private static let mask: UInt32 = UInt32(
        IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_MODIFY | IN_ATTRIB | IN_DELETE | IN_MOVED_FROM
            | IN_DELETE_SELF | IN_MOVE_SELF)

    init(tick: Double) {
        (signals, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        inotify = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        tickMilliseconds = Int32(max(1, (tick * 1000).rounded()))
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

    /// Asks the thread to end (within one tick); it closes the inotify descriptor.
    func stop() { stopped.store(true, ordering: .releasing) }

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
        while !stopped.load(ordering: .acquiring) {
            if inotify >= 0 {
                var descriptor = pollfd(fd: inotify, events: Int16(POLLIN), revents: 0)
                if poll(&descriptor, 1, tickMilliseconds) > 0 { readAvailable(into: &buffer) }
            } else {
                poll(nil, 0, tickMilliseconds)
            }
            continuation.yield()
        }
        if inotify >= 0 { close(inotify) }
        continuation.finish()
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
