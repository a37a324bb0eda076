/// A cheap snapshot of what a ``FileDropSource`` has done, for `outpost status` and metrics.
public struct FileDropStatus: Sendable, Equatable {
    /// Wall-clock time (seconds since 1970) of the last file whose events were committed.
    public var lastPickupAt: Double?
    /// Files whose events were committed (including files committed before, by content).
    public var filesPickedUp: Int
    /// Files quarantined into the error directory (refused by the codec or by the source).
    public var filesRejected: Int
    /// Eligible files currently in the drop directory and not yet handled.
    public var filesWaiting: Int
    /// Whether inotify currently watches the directory (otherwise only rescans find files).
    public var watching: Bool

    public init(
        lastPickupAt: Double? = nil, filesPickedUp: Int = 0, filesRejected: Int = 0,
        filesWaiting: Int = 0, watching: Bool = false
    ) {
        self.lastPickupAt = lastPickupAt
        self.filesPickedUp = filesPickedUp
        self.filesRejected = filesRejected
        self.filesWaiting = filesWaiting
        self.watching = watching
    }
}
