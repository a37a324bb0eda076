import Intake
import Logging
import Outbox
import ProcessMemory
import ServiceLifecycle
import Synchronization

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
///
/// With a ``QuietSpell``, it begins the spell at each release and ends it at each wake-up,
/// and `beforeRelease` runs first (the outbox maintenance put off during the spell).
///
/// One more look, `settle` seconds after a release with no wake-up since: when the resident
/// size grew by more than `regrowth` bytes meanwhile, it releases once more. After a burst,
/// the allocator's idle threads exit a few seconds after the release, and each exit runs
/// code of libc, the loader and libxml2 whose pages the kernel maps 64 KiB around each fault:
/// about 1.5 MiB back within seconds of the release, and kept until the next heartbeat's.
public struct IdleMemoryRelease: Service {
    let outbox: Outbox
    let interval: Double
    let quiet: QuietSpell?
    let beforeRelease: (@Sendable () async -> Void)?
    let release: @Sendable () async -> Void
    let settle: Double
    let regrowth: Int
    let resident: @Sendable () -> Int?
    private let wakes: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation
    /// Counts releases and wake-ups: a late look finds it moved when either came since.
    private let generation = Generation()

    /// - Parameters:
    ///   - release: what returns the memory (nil: the outbox's SQLite caches, then
    ///     `malloc_trim(0)` and the clean code pages; tests count calls).
    ///   - resident: the resident size in bytes (nil: ``ResidentSize/current()``; tests feed
    ///     their own).
    public init(
        outbox: Outbox, interval: Double = 2, quiet: QuietSpell? = nil, beforeRelease: (@Sendable () async -> Void)? = nil,
        settle: Double = 10, regrowth: Int = 1 << 20, resident: (@Sendable () -> Int?)? = nil,
        release: (@Sendable () async -> Void)? = nil
    ) {
        self.outbox = outbox
        self.interval = interval
        self.quiet = quiet
        self.beforeRelease = beforeRelease
        self.settle = settle
        self.regrowth = regrowth
        self.resident = resident ?? { ResidentSize.current() }
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
                    if watch.observe(activity()) {
                        await beforeRelease?()
                        await release()
                        quiet?.released()
                        lookAgainLater()
                    } else if watch.isReleased {
                        // Woken with nothing new since the release: still quiet.
                        quiet?.released()
                    }
                }
            }
        } catch is CancellationError {
            return
        }
    }

    /// Says there is new work: the next checks look whether the agent has gone quiet again.
    public func noteActivity() {
        generation.advance()
        quiet?.woken()
        wake.yield()
    }

    /// The late look after a release (see the type's description): a task of its own, so
    /// that the service's loop still sleeps until a wake-up.
    private func lookAgainLater() {
        let mark = generation.advance()
        let (settle, regrowth, resident, release) = (settle, regrowth, resident, release)
        let generation = generation
        Task {
            let after = resident()
            try await Task.sleep(for: .milliseconds(Int(settle * 1000)))
            guard generation.current == mark, let after, let now = resident(), now - after > regrowth else { return }
            await release()
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

/// A counter the service and its late looks share.
private final class Generation: Sendable {
    private let value = Atomic<UInt64>(0)

    var current: UInt64 { value.load(ordering: .acquiring) }

    /// Counts one more; returns the new value.
    @discardableResult
    func advance() -> UInt64 { value.add(1, ordering: .acquiringAndReleasing).newValue }
}
