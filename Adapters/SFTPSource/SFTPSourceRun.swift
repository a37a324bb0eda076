import EventModel
import FileSourceSupport
import Logging

/// The per-file state and the steps of one `run()` of an ``SFTPSource``.
///
/// Owned by the `run()` task alone, so its state needs no lock. Each ``poll()`` lists the
/// remote directory, retries pending acknowledgements, and hands over the files that are
/// ready, oldest first. A failure that breaks the connection is thrown to `run()`, which
/// reconnects with backoff; every other failure is handled per file.
final class SFTPSourceRun {
    let settings: SFTPSourceSettings
    let intake: any DocumentIntake
    let logger: Logger
    let client: SFTPClient
    let staging: StagingArea
    let filter: FileNameFilter
    let source: SFTPSource
    /// Remote directories never descended into (archive and error directories).
    let skippedDirectories: Set<String>

    /// Candidate documents by path below `remote_dir`.
    var files: [String: TrackedRemoteFile] = [:]
    /// Done markers present, by path below `remote_dir`.
    var markers: Set<String> = []
    /// Per staging slot: the file whose bytes are (partly) in it, as it was when they were read.
    var staged: [StagedFile?] = Array(repeating: nil, count: StagingArea.slots)
    /// Removals sent whose reply is still to be read: relative path by remote path.
    var removalsAwaitingReply: [String: String] = [:]
    var reportedUndecodableNames: Set<String> = []
    var reportedUnreadableDirectories: Set<String> = []
    var wasConnected = false
    /// The server refused to let this user rename a file to its claim name: files are not
    /// claimed, their attributes are checked before they are moved or deleted.
    var claimsRefused = false
    var schedule: ListingSchedule

    /// Seconds before a file the server refuses to open is tried again.
    var unreadableRetry: Double { max(60, settings.pollInterval) }

    init(settings: SFTPSourceSettings, intake: any DocumentIntake, logger: Logger, client: SFTPClient, source: SFTPSource) {
        self.settings = settings
        self.intake = intake
        self.logger = logger
        self.client = client
        self.source = source
        schedule = ListingSchedule(pollInterval: settings.pollInterval, settle: settings.settle)
        staging = StagingArea(directory: settings.stagingDirectory)
        filter = FileNameFilter(include: settings.include, exclude: settings.exclude, doneMarker: settings.doneMarker)
        var skipped: Set<String> = []
        if case .move(let archive) = settings.after { skipped.insert(SSHConnection.trimmed(archive)) }
        if let errorDirectory = settings.errorDirectory { skipped.insert(SSHConnection.trimmed(errorDirectory)) }
        skippedDirectories = skipped
    }

    /// One round: wait for intake, list, retry acknowledgements, hand over ready files.
    func poll() async throws(SSHFailure) {
        guard await waitForIntake() else { return }
        let directory = settings.remoteDirectory
        let recursive = settings.recursive
        let skipping = skippedDirectories
        let listing = try await client.perform { connection, _ throws(SSHFailure) in
            try connection.list(directory, recursive: recursive, skipping: skipping)
        }
        if !wasConnected {
            logger.info("sftp.connected", metadata: ["outpost.server": .string(settings.endpointDescription)])
            wasConnected = true
        }
        let unclaimed = apply(listing, now: .now)
        source.updateStatus {
            $0.connected = true
            $0.lastError = nil
            $0.lastPollAt = SFTPSource.wallClock()
        }
        publishStatus()
        try await restoreClaims(unclaimed)
        try await retryPendingAcknowledgements()
        try await handOverReadyFiles()
        try await finishRemoval()
        publishStatus()
    }

    /// Called by `run()` when the connection failed. A removal whose reply was not read is
    /// retried on the next polls (a file already gone counts as removed).
    func connectionLost() {
        wasConnected = false
        removalsAwaitingReply = [:]
    }

    func publishStatus() {
        let waiting = files.values.count { $0.handled == nil }
        let pending = files.values.count { $0.handled.map { $0.disposition != .leave } ?? false }
        source.updateStatus {
            $0.filesWaiting = waiting
            $0.acknowledgementsPending = pending
        }
    }

    /// Returns when intake accepts documents (backpressure pauses polling too); `false`
    /// when intake failed or the task was cancelled.
    func waitForIntake() async -> Bool {
        do {
            try await intake.waitUntilAccepting()
            return true
        } catch {
            if !Task.isCancelled {
                logger.error("source.intake_unavailable", metadata: ["error": .string(String(describing: error)), "hint": "pickup paused"])
            }
            return false
        }
    }

    // MARK: listing

    /// Records a listing; returns the claimed files found that this source does not track.
    private func apply(_ listing: RemoteListing, now: ContinuousClock.Instant) -> [RemoteEntry] {
        for name in listing.undecodableNames where reportedUndecodableNames.insert(name).inserted {
            logger.warning("file.name_not_utf8", metadata: ["file": .string(name), "hint": "rename it on the server to pick it up"])
        }
        for (directory, reason) in listing.unreadableDirectories where reportedUnreadableDirectories.insert(directory).inserted {
            logger.warning("directory.unreadable", metadata: ["outpost.directory": .string(directory), "error": .string(reason), "hint": "skipped"])
        }
        var present: Set<String> = []
        var unclaimed: [RemoteEntry] = []
        markers = []
        for entry in listing.entries where entry.attributes.kind == .regular {
            if ClaimName.original(of: entry.name) != nil {
                if files[entry.relativePath] == nil {
                    unclaimed.append(entry)
                } else {
                    present.insert(entry.relativePath)
                    files[entry.relativePath]?.observe(entry.attributes, now: now)
                }
                continue
            }
            if filter.isMarker(entry.name) {
                markers.insert(entry.relativePath)
                continue
            }
            guard filter.isDocument(entry.name) else { continue }
            present.insert(entry.relativePath)
            if files[entry.relativePath] == nil {
                files[entry.relativePath] = TrackedRemoteFile(entry: entry, now: now)
            } else {
                files[entry.relativePath]?.observe(entry.attributes, now: now)
            }
        }
        for path in files.keys where !present.contains(path) { files[path] = nil }
        for (slot, file) in staged.enumerated() {
            guard let file, files[file.relativePath].map({ !$0.entry.attributes.isUnchanged(from: file.attributes) }) ?? true
            else { continue }
            forgetStaged(slot)
        }
        return unclaimed
    }

    /// Ready: not yet handled, not held back, and settled or released by its done marker.
    /// Without claims (``claimsRefused``) a file must also have kept its size and mtime for a
    /// second, marker or not: see ``acknowledge(_:)`` for why.
    func isReady(_ path: String, _ file: TrackedRemoteFile, now: ContinuousClock.Instant) -> Bool {
        guard file.handled == nil, file.notBefore.map({ now >= $0 }) ?? true else { return false }
        if claimsRefused, !file.isSettled(now: now, settle: 1) { return false }
        if let marker = filter.marker(for: file.originalRelativePath ?? path) { return markers.contains(marker) }
        return file.isSettled(now: now, settle: settings.settle)
    }

    /// Seconds until the next listing (``ListingSchedule``).
    func nextListingDelay(now: ContinuousClock.Instant) -> Double {
        let settling = files.lazy
            .filter { path, file in
                file.handled == nil && file.notBefore == nil && self.filter.marker(for: file.originalRelativePath ?? path) == nil
            }
            .map { ListingSchedule.SettlingFile(changedAt: $0.value.changedAt, listings: $0.value.listings) }
        return schedule.delay(settling: settling, now: now)
    }

    /// Seconds to wait after the `failures`-th consecutive failure of one file.
    func retryDelay(after failures: Int) -> Double {
        min(settings.reconnectMax, settings.reconnectInitial * Double(1 << min(30, max(0, failures - 1))))
    }
}
