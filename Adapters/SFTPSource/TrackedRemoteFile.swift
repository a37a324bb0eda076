import EventModel
import FileSourceSupport

/// What the source remembers about one remote file.
struct TrackedRemoteFile {
    /// What remains to do with a file whose events (or rejection) are committed.
    enum Disposition: Equatable {
        /// Move or delete it, per `after`.
        case acknowledge
        /// Move it to `remote_error_dir` with this reason.
        case quarantine(QuarantineReason)
        /// Refused and no `remote_error_dir`: leave it, and do not read it again while it
        /// keeps its size and mtime.
        case leave
    }

    /// A file handled by intake, remembered (path, size, mtime via `entry`, and content
    /// hash) so that it is never ingested twice while its acknowledgement is retried.
    struct Handled: Equatable {
        var sha256: String?
        var disposition: Disposition
    }

    /// The latest listing of the file.
    var entry: RemoteEntry
    /// When the current size and mtime were first listed.
    var changedAt: ContinuousClock.Instant
    /// Consecutive listings that showed the current size and mtime.
    var listings = 1
    /// Not tried again before this time (failed attempts, unreadable file).
    var notBefore: ContinuousClock.Instant?
    /// Consecutive failed attempts.
    var failures = 0
    /// A permission error was logged for this file.
    var permissionReported = false
    /// Set once intake has committed the file's events or its rejection.
    var handled: Handled?
    /// Set when the file is claimed (renamed to a ``ClaimName``, `entry` names the claim):
    /// the relative path it was listed under before.
    var originalRelativePath: String?

    init(entry: RemoteEntry, now: ContinuousClock.Instant) {
        self.entry = entry
        changedAt = now
    }

    /// Records a new listing; a changed size or mtime starts afresh (a new file).
    mutating func observe(_ attributes: RemoteAttributes, now: ContinuousClock.Instant) {
        if attributes.isUnchanged(from: entry.attributes) {
            listings += 1
        } else {
            var fresh = entry
            fresh.attributes = attributes
            let original = originalRelativePath
            self = TrackedRemoteFile(entry: fresh, now: now)
            originalRelativePath = original
        }
    }

    /// Size and mtime unchanged across two listings at least `settle` apart.
    func isSettled(now: ContinuousClock.Instant, settle: Double) -> Bool {
        listings >= 2 && now - changedAt >= .seconds(settle)
    }
}
