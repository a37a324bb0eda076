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
/// the last release, the outbox's SQLite connections give back their caches (and the sink its
/// spare request buffers), `malloc_trim(0)` returns the free heap pages and the clean code
/// pages of the executable and its libraries are unmapped (``CodePages``; the few the idle
/// agent runs come back from the page cache).
/// docs/BENCHMARKS.md, "Freed heap returned once the agent is quiet", "Code pages unmapped
/// when quiet", "SQLite's caches given back when quiet" and "Libraries, read-only data and
/// heartbeats given back", has the figures.
///
/// Once it has released, the service sleeps until ``noteActivity()`` (the forwarder's wake-up
/// for new events: the sources' commits and the heartbeat's), so a quiet agent does not wake
/// for it. After a wake-up it checks every `interval` seconds (2) until a check sees no
/// change. A wake-up that ends a long quiet spell (20 s or more: the heartbeat's, once a
/// minute, or a lone file's) is most likely lone: the first twelve checks after it come
/// every 0.25 s; a burst that goes on past them is checked every `interval` seconds again.
/// With ``settleWhen(_:)``, a check that sees no change also waits for the forwarder to
/// have found the outbox empty after its delivery (its next idle poll, up to 2 s later),
/// so that the read it makes then does not bring SQLite's code back right after the
/// release: a heartbeat's code and heap are given back about 2 s after it instead of 4.
/// Work that comes without a wake-up (another process's `outpost dlq replay`) is looked at
/// with the next one.
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
    let quick: Double
    let quickChecks: Int
    let lone: Double
    let quiet: QuietSpell?
    let beforeRelease: (@Sendable () async -> Void)?
    let release: @Sendable () async -> Void
    let settle: Double
    let regrowth: Int
    let resident: @Sendable () -> Int?
    /// Whether the work behind the activity has settled (``settleWhen(_:)``).
    private let settled = SettledCheck()
    private let wakes: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation
    /// Counts releases and wake-ups: a late look finds it moved when either came since.
    private let generation = Generation()

    /// - Parameters:
    ///   - quick, quickChecks, lone: after a wake-up that ends a quiet spell of at least
    ///     `lone` seconds (the heartbeat's, a lone file's), the first `quickChecks` checks
    ///     come `quick` seconds apart instead of `interval`.
    ///   - alsoGiveBack: more that the default release gives back before the heap is trimmed
    ///     (the sink's spare request buffers).
    ///   - release: what returns the memory (nil: the outbox's SQLite caches and
    ///     `alsoGiveBack`, then `malloc_trim(0)` and the clean code pages; tests count calls).
    ///   - resident: the resident size in bytes (nil: ``ResidentSize/current()``; tests feed
    ///     their own).
    public init(
        outbox: Outbox, interval: Double = 2, quick: Double = 0.25, quickChecks: Int = 12, lone: Double = 20,
        quiet: QuietSpell? = nil, beforeRelease: (@Sendable () async -> Void)? = nil,
        settle: Double = 10, regrowth: Int = 1 << 20, resident: (@Sendable () -> Int?)? = nil,
        alsoGiveBack: (@Sendable () -> Void)? = nil, release: (@Sendable () async -> Void)? = nil
    ) {
        self.outbox = outbox
        self.interval = interval
        self.quick = quick
        self.quickChecks = quickChecks
        self.lone = lone
        self.quiet = quiet
        self.beforeRelease = beforeRelease
        self.settle = settle
        self.regrowth = regrowth
        self.resident = resident ?? { ResidentSize.current() }
        (wakes, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        self.release = release ?? {
            await outbox.releaseMemory()
            alsoGiveBack?()
            ProcessHeap.trim()
            CodePages.release()
        }
    }

    public func run() async throws {
        do {
            try await ServiceLifecycle.cancelWhenGracefulShutdown {
                var watch = QuietWatch(activity: activity())
                var woken = wakes.makeAsyncIterator()
                var releasedAt: ContinuousClock.Instant?
                var quickLeft = 0
                while !Task.isCancelled {
                    if watch.isReleased {
                        guard await woken.next() != nil else { return }
                        if let releasedAt, releasedAt.duration(to: .now) >= .milliseconds(Int(lone * 1000)) {
                            quickLeft = quickChecks
                        }
                    }
                    let pause = quickLeft > 0 ? min(quick, interval) : interval
                    quickLeft = max(0, quickLeft - 1)
                    try await Task.sleep(for: .milliseconds(Int(pause * 1000)))
                    if watch.observe(activity(), settled: settled.isSettled(), at: .now, waitAtMost: interval * 2) {
                        await beforeRelease?()
                        await release()
                        quiet?.released()
                        releasedAt = .now
                        quickLeft = 0
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

    /// Makes a check that sees no change release only once `check` says the work behind it has
    /// settled too, or once it has seen no change for twice the interval. The agent passes the
    /// forwarder's: it has found the outbox empty since its last delivery, or events wait for
    /// the hub. A delivery's acknowledgement is followed by one more read of the outbox at the
    /// forwarder's next idle poll (up to 2 s later), which found it empty and brought about
    /// 3 MiB of SQLite's and GRDB's code back when it came after the release.
    public func settleWhen(_ check: @escaping @Sendable () -> Bool) {
        settled.set(check)
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
    /// Since when the checks have seen no change while the work had not settled.
    private var unsettledSince: ContinuousClock.Instant?
    /// Released since the last change (not yet for a fresh agent: starting faulted in code
    /// and left heap behind).
    private(set) var isReleased = false

    init(activity: Activity) {
        last = activity
    }

    /// Whether to release now, given what the check sees: no change since the last check, and
    /// the work settled (or unsettled for `waitAtMost` seconds).
    mutating func observe(
        _ now: Activity, settled: Bool = true, at time: ContinuousClock.Instant = .now, waitAtMost: Double = 0
    ) -> Bool {
        defer { last = now }
        if now != last {
            isReleased = false
            unsettledSince = nil
            return false
        }
        guard !isReleased else { return false }
        if !settled {
            let since = unsettledSince ?? time
            unsettledSince = since
            if since.duration(to: time) < .milliseconds(Int(waitAtMost * 1000)) { return false }
        }
        unsettledSince = nil
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

/// The check ``IdleMemoryRelease/settleWhen(_:)`` sets, once the forwarder it asks exists.
private final class SettledCheck: Sendable {
    private let check = Mutex<(@Sendable () -> Bool)?>(nil)

    func set(_ check: @escaping @Sendable () -> Bool) { self.check.withLock { $0 = check } }

    /// True without a check.
    func isSettled() -> Bool { check.withLock { $0 }?() ?? true }
}
