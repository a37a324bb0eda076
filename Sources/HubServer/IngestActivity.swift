import Synchronization

/// When the hub last took a batch, so that background work (mapping) can give way to ingest:
/// agents waiting for a durable answer come before a fresher spend view.
public final class IngestActivity: Sendable {
    /// The process's one ingest path notes every batch here.
    public static let shared = IngestActivity()

    private let lastBatch = Atomic<Int64>(Int64.min / 2)
    private static let clock = ContinuousClock()
    private static let origin = clock.now

    init() {}

    /// Notes that a batch arrives now.
    public func noteBatch() {
        lastBatch.store(Self.nanoseconds(), ordering: .relaxed)
    }

    /// Whether a batch arrived within `window`.
    public func isBusy(within window: Duration = .milliseconds(250)) -> Bool {
        Self.nanoseconds() - lastBatch.load(ordering: .relaxed) < Int64(window.components.seconds) * 1_000_000_000
            + window.components.attoseconds / 1_000_000_000
    }

    private static func nanoseconds() -> Int64 {
        let elapsed = origin.duration(to: clock.now)
        return elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000
    }
}
