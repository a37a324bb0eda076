import EventModel
import FileSourceSupport
import Glibc
import Logging

/// A remote file's bytes in a staging slot, as the file was when they were read.
struct StagedFile {
    let relativePath: String
    let attributes: RemoteAttributes
    /// The whole file when it was downloaded into memory; nil when its bytes are in the
    /// slot's staging file.
    var bytes: [UInt8]? = nil
}

/// A downloaded file whose submission runs while later files download.
struct InFlightFile {
    let entry: RemoteEntry
    let slot: Int
    /// What intake reads: the staged bytes, or the staging file (closed once settled).
    let input: DocumentInput
    let submission: PendingSubmission
}

extension SFTPSourceRun {
    /// Hands over every ready file, oldest mtime first.
    ///
    /// Files overlap: while intake hashes, decodes and commits the earlier ones (each read
    /// from its own staging slot), the next downloads into a free slot; each file is
    /// acknowledged after its own commit, in order. Whatever happens, no submission is left
    /// running on return, and every file committed here is acknowledged (or, when that
    /// fails, remembered for the next poll).
    ///
    /// While every slot is busy, a file committed is acknowledged only when the source next
    /// waits for a commit, not before the next download: an SFTP server answers its requests
    /// one after the other, and a removal can keep it busy for a millisecond or more (ext4
    /// with `discard` frees the file's blocks before it replies), so a removal sent first
    /// held up the next file's requests behind it. Sent just before a wait, it is done while
    /// the source would wait anyway (docs/BENCHMARKS.md, "SFTP: fewer requests and round trips"). So at most one committed
    /// file waits for its acknowledgement at a time, remembered like any other (also while
    /// intake backpressure pauses the loop before the next download).
    func handOverReadyFiles() async throws(SSHFailure) {
        let now = ContinuousClock.now
        let ready = files.filter { isReady($0.key, $0.value, now: now) }
            .sorted { ($0.value.entry.attributes.mtime, $0.key) < ($1.value.entry.attributes.mtime, $1.key) }
            .map(\.key)
        var inFlight: [InFlightFile] = []
        var committed: [String] = []
        do throws(SSHFailure) {
            for path in ready {
                guard !Task.isCancelled else { break }
                guard await waitForIntake() else { break }
                guard let next = try await download(path, busySlots: inFlight.map(\.slot)) else { continue }
                inFlight.append(next)
                if inFlight.count == StagingArea.slots {
                    try await acknowledge(&committed)
                    let oldest = inFlight.removeFirst()
                    if await settle(oldest) { committed.append(oldest.entry.relativePath) }
                }
            }
            try await acknowledge(&committed)
            while !inFlight.isEmpty { try await finish(inFlight.removeFirst()) }
        } catch {
            for file in inFlight { await settle(file) }
            throw error
        }
    }

    /// Acknowledges the committed files listed in `paths` and empties the list.
    private func acknowledge(_ paths: inout [String]) async throws(SSHFailure) {
        defer { paths = [] }
        for path in paths { try await acknowledge(path) }
    }

    /// Downloads one file into a free staging slot and begins its submission; nil when there
    /// is nothing to submit (gone, changed, too large, unreadable).
    private func download(_ listedPath: String, busySlots: [Int]) async throws(SSHFailure) -> InFlightFile? {
        guard files[listedPath] != nil, let relativePath = try await claim(listedPath),
              let file = files[relativePath]
        else { return nil }
        let entry = file.entry
        let resumable = staged.firstIndex {
            $0.map { $0.relativePath == relativePath && $0.attributes.isUnchanged(from: entry.attributes) } ?? false
        }
        if let resumable, let bytes = staged[resumable]?.bytes {
            // A whole copy kept from a submission that failed: submitted again as it is.
            return begin(entry, slot: resumable, input: .bytes(bytes))
        }
        let slot = resumable ?? freeSlot(besides: busySlots)
        let inMemory = resumable == nil && entry.attributes.size <= StagingArea.inMemoryLimit
        let onDisk = inMemory ? nil : try staging.open(slot, resuming: resumable != nil)
        if let onDisk {
            if resumable != nil, onDisk.offset > 0 {
                logger.info("file.download_resumed", metadata: ["file": .string(entry.path), "outpost.offset": .stringConvertible(onDisk.offset)])
            }
            // Staged from the first byte on disk (a cut download resumes); in memory only whole.
            staged[slot] = StagedFile(relativePath: relativePath, attributes: entry.attributes)
        }
        let maxSize = settings.maxFileSize
        let result: DownloadResult
        let input: DocumentInput
        do throws(SSHFailure) {
            (result, input) = try await client.perform { connection, isCancelled throws(SSHFailure) in
                guard let onDisk else {
                    let downloaded = try connection.downloadIntoMemory(
                        entry.path, expected: entry.attributes, maxSize: maxSize, isCancelled: isCancelled)
                    return (downloaded.result, DocumentInput.bytes(downloaded.bytes))
                }
                let result = try connection.download(
                    entry.path, expected: entry.attributes, into: onDisk.fd, from: onDisk.offset, maxSize: maxSize,
                    isCancelled: isCancelled)
                return (result, DocumentInput.fileDescriptor(onDisk.fd))
            }
        } catch {
            if let onDisk { Glibc.close(onDisk.fd) }
            // A broken connection keeps a partial staging file: the next download resumes it.
            if error.breaksConnection { throw error }
            forgetStaged(slot)
            // Not readable now: its name back (a claim would hide it), then retried later.
            let tracked = file.originalRelativePath != nil && !error.isNoSuchFile ? try await giveBack(relativePath) : relativePath
            if let tracked { downloadFailed(tracked, error) }
            return nil
        }
        if case .complete = result {
            switch input {
            case .bytes(let bytes): staged[slot] = StagedFile(relativePath: relativePath, attributes: entry.attributes, bytes: bytes)
            case .fileDescriptor(let fd): lseek(fd, 0, SEEK_SET)
            }
            return begin(entry, slot: slot, input: input)
        }
        forgetStaged(slot)
        close(input)
        switch result {
        case .complete:
            break
        case .vanished:
            files[relativePath] = nil
            logger.debug("file.vanished", metadata: ["file": .string(entry.path)])
        case .changed(let attributes):
            // Claimed, but not the file listed (replaced just before the claim) or still being
            // written: its name back, and it settles afresh.
            let tracked = file.originalRelativePath != nil ? try await giveBack(relativePath) : relativePath
            if let tracked { files[tracked]?.observe(attributes, now: .now) }
            logger.debug("file.changed_while_reading", metadata: ["file": .string(entry.path), "hint": "read again once it settles"])
        case .tooLarge(let attributes):
            try await refuseUnread(relativePath, attributes: attributes)
        }
        return nil
    }

    /// Begins the submission of a file downloaded whole into `slot`.
    private func begin(_ entry: RemoteEntry, slot: Int, input: DocumentInput) -> InFlightFile {
        let submission = intake.begin(IncomingDocument(
            sourceName: settings.name, fileName: entry.name, input: input, size: entry.attributes.size,
            format: settings.format))
        return InFlightFile(entry: entry, slot: slot, input: input, submission: submission)
    }

    /// Closes the staging file an input reads from, if it is one.
    private func close(_ input: DocumentInput) {
        if case .fileDescriptor(let fd) = input { Glibc.close(fd) }
    }

    /// A slot for a new download: never a `busy` one (intake is reading it), preferably an
    /// empty one. A staged copy kept for a retry may be overwritten (the retry then downloads
    /// again).
    private func freeSlot(besides busy: [Int]) -> Int {
        let candidates = (0..<StagingArea.slots).filter { !busy.contains($0) }
        let slot = candidates.first { staged[$0] == nil } ?? candidates[0]
        forgetStaged(slot)
        return slot
    }

    /// Waits for the file's commit, records it, and acknowledges it on the server.
    private func finish(_ file: InFlightFile) async throws(SSHFailure) {
        if await settle(file) { try await acknowledge(file.entry.relativePath) }
    }

    /// Waits for the file's commit and records what became of it; true when it is handled
    /// (committed or rejected). A failed submission keeps the staged copy for the retry.
    @discardableResult
    private func settle(_ file: InFlightFile) async -> Bool {
        defer { close(file.input) }
        let path = file.entry.relativePath
        let result: IntakeResult
        do {
            result = try await file.submission.result()
        } catch {
            // The staged copy is kept: the retry submits it without downloading again.
            handOverFailed(path, error)
            return false
        }
        forgetStaged(file.slot)
        files[path]?.failures = 0
        switch result {
        case .committed(let events, _, let sha256):
            recordPickup(path, sha256: sha256, events: events)
        case .alreadyCommitted(let sha256):
            recordPickup(path, sha256: sha256, events: 0)
        case .rejected(let rejection, let sha256):
            let reason = QuarantineReason(
                rejection: rejection, sha256: sha256, size: file.entry.attributes.size, rejectedAt: SFTPSource.wallClock())
            recordRejection(path, sha256: sha256, reason: reason)
        }
        return true
    }

    /// Commits the rejection event of a file refused without reading it (too large).
    private func refuseUnread(_ relativePath: String, attributes: RemoteAttributes) async throws(SSHFailure) {
        guard let entry = files[relativePath]?.entry else { return }
        let rejection = DocumentRejection(
            .fileTooLarge, "size \(attributes.size) bytes exceeds max_file_size \(settings.maxFileSize) bytes")
        let plannedPath = settings.errorDirectory.map { remoteJoin($0, entry.name) }
        do {
            try await intake.reject(
                sourceName: settings.name, fileName: entry.name, size: attributes.size,
                fingerprint: "\(entry.path)|\(attributes.size)|\(attributes.mtime)", rejection: rejection,
                quarantinedAs: plannedPath)
        } catch {
            handOverFailed(relativePath, error)
            return
        }
        let reason = QuarantineReason(rejection: rejection, sha256: nil, size: attributes.size, rejectedAt: SFTPSource.wallClock())
        recordRejection(relativePath, sha256: nil, reason: reason)
        try await acknowledge(relativePath)
    }

    private func recordPickup(_ relativePath: String, sha256: String, events: Int) {
        let now = SFTPSource.wallClock()
        source.updateStatus {
            $0.filesPickedUp += 1
            $0.lastPickupAt = now
        }
        files[relativePath]?.handled = .init(sha256: sha256, disposition: .acknowledge)
        logger.info("file.committed", metadata: ["file": .string(relativePath), "events": .stringConvertible(events)])
    }

    private func recordRejection(_ relativePath: String, sha256: String?, reason: QuarantineReason) {
        source.updateStatus { $0.filesRejected += 1 }
        let disposition: TrackedRemoteFile.Disposition = settings.errorDirectory == nil ? .leave : .quarantine(reason)
        files[relativePath]?.handled = .init(sha256: sha256, disposition: disposition)
        var metadata: Logger.Metadata = [
            "file": .string(relativePath), "reason": .string(reason.rejection.code.rawValue),
            "error": .string(reason.rejection.detail),
        ]
        if settings.errorDirectory == nil {
            metadata["hint"] = "left on the server and not read again while unchanged; set remote_error_dir to move refused files away"
            logger.warning("file.refused", metadata: metadata)
        } else {
            logger.warning("file.quarantined", metadata: metadata)
        }
    }

    func forgetStaged(_ slot: Int) {
        staged[slot] = nil
        staging.discard(slot)
    }

    /// The server refused to open or read one file: report it, leave it, carry on.
    private func downloadFailed(_ relativePath: String, _ failure: SSHFailure) {
        if failure.isNoSuchFile {
            files[relativePath] = nil
            return
        }
        guard failure.isPermissionDenied else {
            handOverFailed(relativePath, failure)
            return
        }
        if files[relativePath]?.permissionReported == false {
            logger.error(
                "file.unreadable",
                metadata: [
                    "file": .string(relativePath), "error": .string(failure.description),
                    "hint": "give the SFTP user read permission on the server; tried again later, the other files go on",
                ])
            files[relativePath]?.permissionReported = true
            source.updateStatus { $0.lastError = "\(relativePath): \(failure.description)" }
        }
        files[relativePath]?.notBefore = .now + .seconds(unreadableRetry)
    }

    /// A step before the commit failed: the file stays on the server and is retried with backoff.
    func handOverFailed(_ relativePath: String, _ error: any Error) {
        guard !Task.isCancelled, !(error is CancellationError) else { return }
        guard var file = files[relativePath] else { return }
        file.failures += 1
        let delay = retryDelay(after: file.failures)
        file.notBefore = .now + .seconds(delay)
        files[relativePath] = file
        logger.error(
            "file.handover_failed",
            metadata: [
                "hint": "the file stays on the server and is tried again",
                "file": .string(relativePath), "error": .string(String(describing: error)),
                "outpost.retry_in": "\((delay * 1000).rounded() / 1000)s",
            ])
    }
}
