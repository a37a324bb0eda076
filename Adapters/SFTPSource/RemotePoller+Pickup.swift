import EventModel
import Glibc
import Logging

extension RemotePoller {
    /// Hands over every ready file, oldest mtime first.
    func handOverReadyFiles() async throws(SSHFailure) {
        let now = ContinuousClock.now
        let ready = files.filter { isReady($0.key, $0.value, now: now) }
            .sorted { ($0.value.entry.attributes.mtime, $0.key) < ($1.value.entry.attributes.mtime, $1.key) }
            .map(\.key)
        for path in ready {
            guard !Task.isCancelled else { return }
            guard await waitForIntake() else { return }
            try await pickUp(path)
        }
    }

    /// Downloads one file to the staging area, submits it, and acknowledges it remotely.
    private func pickUp(_ relativePath: String) async throws(SSHFailure) {
        guard let file = files[relativePath] else { return }
        let entry = file.entry
        let resuming = staged.map { $0.relativePath == relativePath && $0.attributes.isUnchanged(from: entry.attributes) } ?? false
        let (fd, offset) = try staging.open(resuming: resuming)
        defer { close(fd) }
        if resuming, offset > 0 {
            logger.info("Resuming an interrupted download", metadata: ["file": .string(entry.path), "offset": .stringConvertible(offset)])
        }
        staged = (relativePath, entry.attributes)

        let result: DownloadResult
        do {
            let maxSize = settings.maxFileSize
            result = try await client.perform { connection, isCancelled throws(SSHFailure) in
                try connection.download(
                    entry.path, expected: entry.attributes, into: fd, from: offset, maxSize: maxSize, isCancelled: isCancelled)
            }
        } catch {
            if error.breaksConnection { throw error }
            forgetStaged()
            downloadFailed(relativePath, error)
            return
        }
        switch result {
        case .vanished:
            forgetStaged()
            files[relativePath] = nil
            logger.debug("Remote file vanished before pickup", metadata: ["file": .string(entry.path)])
        case .changed(let attributes):
            forgetStaged()
            files[relativePath]?.observe(attributes, now: .now)
            logger.debug("Remote file changed since it was listed; waiting for it to settle", metadata: ["file": .string(entry.path)])
        case .tooLarge(let attributes):
            forgetStaged()
            try await refuseUnread(relativePath, attributes: attributes)
        case .complete:
            try await submit(relativePath, entry: entry, fd: fd)
        }
    }

    private func submit(_ relativePath: String, entry: RemoteEntry, fd: Int32) async throws(SSHFailure) {
        lseek(fd, 0, SEEK_SET)
        let result: IntakeResult
        do {
            result = try await intake.submit(IncomingDocument(
                sourceName: settings.name, fileName: entry.name, input: .fileDescriptor(fd),
                size: entry.attributes.size, format: settings.format))
        } catch {
            // The staged copy is kept: the retry submits it without downloading again.
            handOverFailed(relativePath, error)
            return
        }
        forgetStaged()
        files[relativePath]?.failures = 0
        switch result {
        case .committed(let events, _, let sha256):
            recordPickup(relativePath, sha256: sha256, events: events)
        case .alreadyCommitted(let sha256):
            recordPickup(relativePath, sha256: sha256, events: 0)
        case .rejected(let rejection, let sha256):
            let reason = QuarantineReason(
                rejection: rejection, sha256: sha256, size: entry.attributes.size, rejectedAt: SFTPSource.wallClock())
            recordRejection(relativePath, sha256: sha256, reason: reason)
        }
        try await acknowledge(relativePath)
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
        logger.info("File committed", metadata: ["file": .string(relativePath), "events": .stringConvertible(events)])
    }

    private func recordRejection(_ relativePath: String, sha256: String?, reason: QuarantineReason) {
        source.updateStatus { $0.filesRejected += 1 }
        let disposition: TrackedRemoteFile.Disposition = settings.errorDirectory == nil ? .leave : .quarantine(reason)
        files[relativePath]?.handled = .init(sha256: sha256, disposition: disposition)
        logger.warning(
            settings.errorDirectory == nil
                ? "File refused; it is left on the server (set remote_error_dir to move refused files away)"
                : "File refused; moving it to the remote error directory",
            metadata: [
                "file": .string(relativePath), "reason": .string(reason.rejection.code.rawValue),
                "detail": .string(reason.rejection.detail),
            ])
    }

    private func forgetStaged() {
        staged = nil
        staging.discard()
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
                "Remote file is not readable by the SFTP user; grant read permission on the server; it is retried later",
                metadata: ["file": .string(relativePath), "error": .string(failure.description)])
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
            "Handing the file over failed; it stays on the server and is retried",
            metadata: [
                "file": .string(relativePath), "error": .string(String(describing: error)),
                "retry_in_s": .stringConvertible(delay),
            ])
    }
}
