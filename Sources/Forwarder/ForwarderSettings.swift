/// How the forwarder batches, parallelises and retries (the `hub:` keys, deploy/examples/outpost.yaml).
public struct ForwarderSettings: Sendable, Equatable {
    /// Most events in one batch (`batch_max_events`).
    public var batchMaxEvents: Int = 500
    /// Most bytes in one batch body (`batch_max_bytes`); a single larger event goes alone.
    public var batchMaxBytes: Int = 4 << 20
    /// Most batches in flight at once (`max_concurrency`); the forwarder adapts below it.
    public var maxConcurrency: Int = 8
    /// First retry delay, seconds (`retry_initial`).
    public var retryInitial: Double = 0.5
    /// Longest retry delay, seconds (`retry_max`).
    public var retryMax: Double = 300
    /// Seconds in-flight batches get to finish when the agent stops; then they are
    /// abandoned (their events stay pending and go out after the restart).
    public var drainTimeout: Double = 10
    /// A batch slower than this counts as a sign of an overloaded hub (halves concurrency).
    public var latencyTarget: Double = 2
    /// How often the outbox is looked at when nothing wakes the forwarder, seconds.
    public var idlePoll: Double = 2
    /// How long an outbox found empty stands for those looks while neither a notice of new
    /// events nor a change of its files says otherwise, seconds: then it is read again anyway.
    public var quietRead: Double = 60

    public init() {}
}
