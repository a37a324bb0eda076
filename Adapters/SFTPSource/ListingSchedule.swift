/// When an SFTP source lists its remote directory next.
///
/// Every `poll_interval`, and sooner for a file that only waits to settle: a file is ready
/// when two listings at least `settle` apart showed it unchanged, so its second listing is
/// due `settle` after its size and mtime were first seen. Listings made early are never
/// closer together than `poll_interval` or ``minimumPause``, whichever is shorter (a file
/// that keeps changing is not listed in a tight loop), except one: when a file's settle time
/// has already passed (always, with `settle: 0s`), the second listing it needs follows at
/// once — but never two such listings in a row, so even then the directory is listed at
/// most twice per pause.
struct ListingSchedule {
    let pollInterval: Double
    let settle: Double
    /// The shortest pause between two listings made early for a settling file.
    static let minimumPause = 0.5
    /// The delay last returned was the immediate second listing.
    private(set) var lastWasImmediate = false

    init(pollInterval: Double, settle: Double) {
        self.pollInterval = pollInterval
        self.settle = settle
    }

    /// A file that waits to settle: when its size and mtime were first listed, and how many
    /// listings showed them.
    struct SettlingFile {
        var changedAt: ContinuousClock.Instant
        var listings: Int
    }

    /// Seconds from `now` until the next listing, given the files waiting to settle.
    mutating func delay(settling files: some Sequence<SettlingFile>, now: ContinuousClock.Instant) -> Double {
        var delay = pollInterval
        var awaitsSecondListing = false
        for file in files {
            let due = (file.changedAt + .seconds(settle) - now) / .seconds(1)
            delay = min(delay, due)
            if due <= 0 && file.listings == 1 { awaitsSecondListing = true }
        }
        let immediate = awaitsSecondListing && !lastWasImmediate
        lastWasImmediate = immediate
        return immediate ? 0 : max(delay, min(pollInterval, Self.minimumPause))
    }
}
