import EventModel
import FileSourceSupport

/// What the source remembers about one entry of the drop directory.
struct TrackedFile {
    /// What the source still has to do with a file whose events (or rejection) are committed.
    enum Relocation: Equatable {
        /// Archive or delete it, per `after`.
        case acknowledge
        /// Move it to the error directory with this reason.
        case quarantine(QuarantineReason)
    }

    /// The last `lstat` seen.
    var status: EntryStatus
    /// Monotonic time at which `status` (size, mtime) was first seen.
    var changedAt: Double
    /// inotify saw it created or modified and not closed since.
    var openMark = false
    /// A warning was logged that the open mark holds the file back.
    var openMarkWarned = false
    /// Monotonic time before which the file is not tried again.
    var notBefore = 0.0
    /// Consecutive failed attempts to hand the file over.
    var failures = 0
    /// An "unreadable" error was logged for this file.
    var unreadableReported = false
    /// Set when the file is committed but could not be moved or deleted yet.
    var pendingRelocation: Relocation?
    /// The file as it was read and committed, when `pendingRelocation` is set: only that
    /// file is ever moved or deleted.
    var committedStatus: EntryStatus?

    init(status: EntryStatus, now: Double) {
        self.status = status
        changedAt = now
    }

    /// Records a new `lstat`; a different file under the same name starts afresh.
    /// Returns `false` when the entry is a different file than before.
    @discardableResult
    mutating func observe(_ new: EntryStatus, now: Double) -> Bool {
        guard new.isSameFile(as: status) else {
            self = TrackedFile(status: new, now: now)
            return false
        }
        if !new.isUnchanged(from: status) {
            status = new
            changedAt = now
        }
        return true
    }

    /// Whether size and mtime have been unchanged for `settle` seconds.
    func isSettled(now: Double, settle: Double) -> Bool { now - changedAt >= settle }
}
