import Logging
import Outbox
import ProcessMemory
import ServiceLifecycle

/// Gives back what a burst (or starting) left resident once the agent has gone quiet.
///
/// glibc keeps memory the agent freed (a big file's decode buffers, batches sent) in its
/// arenas for reuse, and each page fault on the executable or a library maps the code around
/// it too, so after a burst the agent idled at nearly its peak RSS. When a check finds no
/// commit and no delivery since the previous one, and there was activity (or the start) since
/// the last release, the outbox's SQLite connections give back their caches, `malloc_trim(0)`
/// returns the free heap pages and the clean code pages of the executable and its libraries
/// are unmapped (``CodePages``; the few the idle agent runs come back from the page cache). docs/BENCHMARKS.md, "Freed
/// heap returned once the agent is quiet", "Code pages unmapped when quiet" and "SQLite's
/// caches given back when quiet", has the figures. One check every `interval` seconds;
/// nothing else wakes for it.
public struct IdleMemoryRelease: Service {
    let outbox: Outbox
    let interval: Double
    let release: @Sendable () async -> Void

    /// - Parameter release: what returns the memory (nil: the outbox's SQLite caches, then
    ///   `malloc_trim(0)` and the clean code pages; tests count calls).
    public init(outbox: Outbox, interval: Double = 10, release: (@Sendable () async -> Void)? = nil) {
        self.outbox = outbox
        self.interval = interval
        self.release = release ?? {
            await outbox.releaseMemory()
            ProcessHeap.trim()
            CodePages.release()
        }
    }

    public func run() async throws {
        do {
            try await ServiceLifecycle.cancelWhenGracefulShutdown {
                var watch = QuietWatch(activity: activity())
                while !Task.isCancelled {
                    try await Task.sleep(for: .milliseconds(Int(interval * 1000)))
                    if watch.observe(activity()) { await release() }
                }
            }
        } catch is CancellationError {
            return
        }
    }

    /// What changes while the agent works: commits made, bytes waiting for delivery.
    private func activity() -> QuietWatch.Activity {
        QuietWatch.Activity(commits: outbox.commitsMade, undeliveredBytes: outbox.undeliveredBytes)
    }
}

/// Says when to release: at the first check that sees nothing change after a change, or
/// after the start.
struct QuietWatch {
    struct Activity: Equatable {
        var commits: UInt64
        var undeliveredBytes: Int64
    }

    private var last: Activity
    /// Released since the last change (not yet for a fresh agent: starting faulted in code
    /// and left heap behind).
    private var released = false

    init(activity: Activity) {
        last = activity
    }

    /// Whether to release now, given what the check sees.
    mutating func observe(_ now: Activity) -> Bool {
        defer { last = now }
        if now != last {
            released = false
            return false
        }
        guard !released else { return false }
        released = true
        return true
    }
}
