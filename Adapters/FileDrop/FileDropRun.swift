import EventModel
import FileSourceSupport
import Foundation
import Logging

/// The per-file state and the steps of one `run()` of a ``FileDropSource``.
///
/// Owned by the `run()` task alone: every method runs on that task, so the state needs no
/// lock. Each ``step(_:)`` applies inotify changes, rescans when due, and hands over the
/// files that are ready, oldest first.
final class FileDropRun {
    let settings: FileDropSettings
    let intake: any DocumentIntake
    let logger: Logger
    let filter: FileNameFilter
    let watcher: DirectoryWatcher
    let source: FileDropSource

    /// Document candidates (and ignored subdirectories) by name.
    var files: [String: TrackedFile] = [:]
    /// Done markers present in the directory.
    var markers: Set<String> = []
    var watching = false
    var nextRescan = 0.0
    var directoryErrorReported = false
    var watchErrorReported = false
    /// Entries whose names are not UTF-8, waiting to be quarantined (see ``UndecodableName``).
    var undecodableNames: Set<[UInt8]> = []
    var reportedUndecodableNames: Set<[UInt8]> = []
    var intakeFailures = 0
    var intakeRetryAt = 0.0

    init(
        settings: FileDropSettings, intake: any DocumentIntake, logger: Logger,
        watcher: DirectoryWatcher, source: FileDropSource
    ) {
        self.settings = settings
        self.intake = intake
        self.logger = logger
        self.filter = FileNameFilter(
            include: settings.include, exclude: settings.exclude, doneMarker: settings.doneMarker)
        self.watcher = watcher
        self.source = source
    }

    /// One round: apply `pending` inotify changes, rescan when due, hand over ready files.
    func step(_ pending: DirectoryWatcher.Pending) async {
        let now = SystemTime.monotonic()
        if pending.watchLost {
            logger.warning("directory.watch_lost")
            watching = false
            nextRescan = now
        }
        if pending.overflowed {
            logger.warning("directory.watch_overflowed")
            nextRescan = now
        }
        for (name, change) in pending.changes { apply(change, to: name, now: now) }
        if now >= nextRescan { rescan(now: now) }
        publishStatus()
        await quarantineUndecodableNames()
        await handOverReadyFiles()
        publishStatus()
    }

    /// When the next step is due if inotify brings nothing first (seconds on the monotonic
    /// clock): the next rescan, the end of a file's settle window or retry delay, the end of
    /// the intake's back-off. A file waiting for its done marker has no deadline of its own:
    /// the marker's arrival is a change. Never sooner than ``shortestWait`` from `now`, so a
    /// file that stays ready without being taken cannot make the watcher spin.
    func nextWake(now: Double) -> Double {
        var at = nextRescan
        if !undecodableNames.isEmpty { at = min(at, now + Self.undecodableRecheck) }
        for (name, file) in files where file.pendingRelocation == nil && file.status.kind != .directory {
            if let marker = filter.marker(for: name), !markers.contains(marker) { continue }
            at = min(at, max(file.notBefore, file.changedAt + settings.settle, intakeRetryAt))
        }
        return max(at, now + Self.shortestWait)
    }

    /// See ``nextWake(now:)``.
    static let shortestWait = 0.02
    /// How often names that are not UTF-8 are looked at while they settle.
    static let undecodableRecheck = 0.25

    private func publishStatus() {
        let waiting = files.values.count { $0.status.kind != .directory && $0.pendingRelocation == nil }
        source.updateStatus {
            $0.filesWaiting = waiting
            $0.watching = watching
        }
    }

    func path(_ name: String) -> String { settings.directory + "/" + name }

    /// Seconds to wait after the `failures`-th consecutive failure.
    func retryDelay(after failures: Int) -> Double {
        min(settings.retryMax, settings.retryInitial * pow(2, Double(max(0, failures - 1))))
    }

    // MARK: discovery

    private func apply(_ change: DirectoryWatcher.Change, to name: String, now: Double) {
        if filter.isMarker(name) {
            if (try? EntryStatus.of(path: path(name))) != nil { markers.insert(name) } else { markers.remove(name) }
            return
        }
        guard filter.isDocument(name) else { return }
        observe(name, now: now)
        switch change {
        case .written: files[name]?.openMark = true
        case .closed: files[name]?.openMark = false
        case .removed, .touched: break
        }
    }

    /// Full listing: files present at start, missed events, filesystems without inotify.
    private func rescan(now: Double) {
        nextRescan = now + settings.rescanInterval
        if !watching { watchDirectory() }
        var listing: DirectoryListing
        do {
            listing = try DirectoryListing.read(settings.directory)
            directoryErrorReported = false
        } catch {
            if !directoryErrorReported {
                logger.error(
                    "directory.unreadable",
                    metadata: [
                        "error": .string(error.description),
                        "hint": "create it or give the outpost user read and write access",
                    ])
                directoryErrorReported = true
            }
            return
        }
        let claims = listing.names.filter { ClaimName.original(of: $0) != nil }
        if !claims.isEmpty {
            restoreClaims(claims)
            if let again = try? DirectoryListing.read(settings.directory) { listing = again }
        }
        undecodableNames = Set(listing.undecodableNames)
        markers = Set(listing.names.filter(filter.isMarker))
        let documents = Set(listing.names.filter(filter.isDocument))
        for name in documents { observe(name, now: now) }
        for name in files.keys where !documents.contains(name) { files[name] = nil }
        retryPendingRelocations()
    }

    private func watchDirectory() {
        do {
            try watcher.watch(settings.directory)
            watching = true
            watchErrorReported = false
        } catch {
            if !watchErrorReported {
                logger.warning(
                    "directory.watch_failed",
                    metadata: ["error": .string(error.description)])
                watchErrorReported = true
            }
        }
    }

    /// Records the current `lstat` of `name`.
    func observe(_ name: String, now: Double) {
        let status: EntryStatus?
        do {
            status = try EntryStatus.of(path: path(name))
        } catch {
            logger.warning("file.stat_failed", metadata: ["file": .string(name), "error": .string(error.description)])
            return
        }
        guard let status else {
            files[name] = nil
            return
        }
        var file = files[name] ?? TrackedFile(status: status, now: now)
        let isNew = files[name] == nil || !file.observe(status, now: now)
        if isNew, status.kind == .directory {
            logger.info("file.subdirectory_ignored", metadata: ["file": .string(name)])
        }
        files[name] = file
    }

    // MARK: hand-over

    /// Submissions in flight at once: the next file is hashed and decoded while the one
    /// before it is committed (the intake keeps their commits in order).
    static let pipelineDepth = 2

    private func handOverReadyFiles() async {
        let now = SystemTime.monotonic()
        guard now >= intakeRetryAt else { return }
        let ready = files.filter { isReady($0.key, $0.value, now: now) }
            .sorted { ($0.value.status.mtimeNs, $0.key) < ($1.value.status.mtimeNs, $1.key) }
            .map(\.key)
        var inFlight: [Pickup] = []
        for name in ready {
            guard !Task.isCancelled else { break }
            do {
                try await intake.waitUntilAccepting()
                intakeFailures = 0
            } catch {
                guard !Task.isCancelled, !(error is CancellationError) else { break }
                intakeFailures += 1
                let delay = retryDelay(after: intakeFailures)
                intakeRetryAt = SystemTime.monotonic() + delay
                logger.error(
                    "intake.unavailable",
                    metadata: ["error": .string(String(describing: error)), "retry_in_s": .stringConvertible(delay)])
                break
            }
            guard let pickup = await handle(name) else { continue }
            inFlight.append(pickup)
            if inFlight.count >= Self.pipelineDepth { await complete(inFlight.removeFirst()) }
        }
        while !inFlight.isEmpty { await complete(inFlight.removeFirst()) }
    }

    private func isReady(_ name: String, _ file: TrackedFile, now: Double) -> Bool {
        guard file.pendingRelocation == nil, file.status.kind != .directory, now >= file.notBefore,
              file.isSettled(now: now, settle: settings.settle)
        else { return false }
        guard let marker = filter.marker(for: name) else { return true }
        return markers.contains(marker)
    }

    /// Re-checks `name` right before handing it over, then begins its pickup (returned) or
    /// quarantines it.
    private func handle(_ name: String) async -> Pickup? {
        guard let file = files[name] else { return nil }
        let now = SystemTime.monotonic()
        let current: EntryStatus?
        do {
            current = try EntryStatus.of(path: path(name))
        } catch {
            logger.warning("file.stat_failed", metadata: ["file": .string(name), "error": .string(error.description)])
            files[name]?.notBefore = now + settings.rescanInterval
            return nil
        }
        guard let current else {
            files[name] = nil
            logger.debug("file.vanished", metadata: ["file": .string(name)])
            return nil
        }
        guard current.isUnchanged(from: file.status) else {
            files[name]?.observe(current, now: now)
            return nil
        }
        switch current.kind {
        case .directory:
            return nil
        case .symlink:
            await quarantineUnread(
                name, current, DocumentRejection(.symlink, "the entry is a symbolic link; links are never followed"))
        case .special:
            await quarantineUnread(
                name, current,
                DocumentRejection(.notRegularFile, "the entry is not a regular file (FIFO, socket or device)"))
        case .regular where current.linkCount > 1:
            await quarantineUnread(
                name, current,
                DocumentRejection(
                    .hardLink,
                    "the file has \(current.linkCount) hard links; another name may lie outside the drop directory, "
                        + "so a linked file is never read (writers should rename or copy files in, not link them)"))
        case .regular:
            return await beginPickUp(name, expected: current)
        }
        return nil
    }
}
