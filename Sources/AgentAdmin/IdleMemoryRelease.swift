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
/// are unmapped (``CodePages``; the few the idle agent runs come back from the page cache).
/// docs/BENCHMARKS.md, "Freed heap returned once the agent is quiet", "Code pages unmapped
/// when quiet", "SQLite's caches given back when quiet" and "Libraries, read-only data and
/// heartbeats given back", has the figures.
///
/// Once it has released, the service sleeps until ``noteActivity()`` (the forwarder's wake-up
/// for new events: the sources' commits and the heartbeat's), so a quiet agent does not wake
/// for it. After a wake-up it checks every `interval` seconds (2) until a check sees no
/// change: a heartbeat's code and heap are given back 2 – 4 s after it was delivered. Work
/// that comes without a wake-up (another process's `outpost dlq replay`) is looked at with
/// the next one.
public struct IdleMemoryRelease: Service {
    let outbox: Outbox
    let interval: Double
    let release: @Sendable () async -> Void
    private let wakes: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    /// - Parameter release: what returns the memory (nil: the outbox's SQLite caches, then
    ///   `malloc_trim(0)` and the clean code pages; tests count calls).
    public init(outbox: Outbox, interval: Double = 2, release: (@Sendable () async -> Void)? = nil) {
        self.outbox = outbox
        self.interval = interval
        (wakes, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
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
                var woken = wakes.makeAsyncIterator()
                while !Task.isCancelled {
                    if watch.isReleased {
                        guard await woken.next() != nil else { return }
                    }
                    try await Task.sleep(for: .milliseconds(Int(interval * 1000)))
                    if watch.observe(activity()) { await release() }
                }
            }
        } catch is CancellationError {
            return
        }
    }

    /// Says there is new work: the next checks look whether the agent has gone quiet again.
    public func noteActivity() {
        wake.yield()
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
    private(set) var isReleased = false

    init(activity: Activity) {
        last = activity
    }

    /// Whether to release now, given what the check sees.
    mutating func observe(_ now: Activity) -> Bool {
        defer { last = now }
        if now != last {
            isReleased = false
            return false
        }
        guard !isReleased else { return false }
        isReleased = true
        return true
    }
}
