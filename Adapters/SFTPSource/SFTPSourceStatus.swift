/// A cheap snapshot of what an ``SFTPSource`` has done, for `outpost status` and metrics.
public struct SFTPSourceStatus: Sendable, Equatable {
    /// Whether an SSH session to the server is currently open.
    public var connected = false
    /// Set when the source stopped for good (host key refused): the reason and the fix.
    public var stoppedReason: String?
    /// The last connection or listing failure, cleared by the next successful listing.
    public var lastError: String?
    /// Wall-clock time (seconds since 1970) of the last complete listing.
    public var lastPollAt: Double?
    /// Wall-clock time of the last file whose events were committed.
    public var lastPickupAt: Double?
    /// Files whose events were committed (including files committed before, by content).
    public var filesPickedUp = 0
    /// Files refused by the codec or by the source.
    public var filesRejected = 0
    /// Eligible remote files seen in the last listing and not yet handled.
    public var filesWaiting = 0
    /// Committed or refused files whose remote move or delete has not succeeded yet.
    public var acknowledgementsPending = 0

    public init() {}
}
