import Foundation

/// A dedicated thread that runs blocking libssh2 work one job at a time, so that a slow or
/// dead server never holds a thread of Swift's cooperative pool.
final class SessionThread: @unchecked Sendable {
    // `jobs` and `finished` are guarded by `condition`.
    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []
    private var finished = false

    /// - Parameter name: the thread's name in `top -H`, `ps -L` and `perf`, cut to the 15
    ///   bytes Linux keeps (the kernel refuses a longer name whole).
    init(name: String) {
        let short = Self.threadName(name)
        let thread = Thread { [self] in
            Self.nameCurrentThread(short)
            loop()
        }
        thread.start()
    }

    /// Names the calling thread by writing its `comm` (what `pthread_setname_np` does on
    /// Linux, which Swift's Glibc module does not export; Foundation's `Thread.name` does not
    /// reach the kernel). A failure only leaves the old name.
    private static func nameCurrentThread(_ name: String) {
        let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = name.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) }
        close(fd)
    }

    /// `name` cut to at most 15 UTF-8 bytes, on a character boundary.
    static func threadName(_ name: String) -> String {
        var short = Substring(name)
        while short.utf8.count > 15 { short = short.dropLast() }
        return String(short)
    }

    /// Runs `body` on the thread and returns its result.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let accepted = enqueue { continuation.resume(with: Result { try body() }) }
            if !accepted { continuation.resume(throwing: CancellationError()) }
        }
    }

    /// Runs the jobs already queued, then ends the thread.
    func finish() {
        condition.lock()
        finished = true
        condition.signal()
        condition.unlock()
    }

    private func enqueue(_ job: @escaping @Sendable () -> Void) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !finished else { return false }
        jobs.append(job)
        condition.signal()
        return true
    }

    private func loop() {
        while true {
            condition.lock()
            while jobs.isEmpty && !finished { condition.wait() }
            if jobs.isEmpty {
                condition.unlock()
                return
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job()
        }
    }
}
