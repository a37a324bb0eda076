import EventModel
import FileSourceSupport
import Glibc
import Logging

extension FileDropRun {
    /// A file handed to the intake and not yet acknowledged: its descriptor stays open until
    /// ``complete(_:)``.
    struct Pickup {
        let name: String
        let descriptor: Int32
        let opened: EntryStatus
        let submission: PendingSubmission
    }

    /// Opens a settled regular file safely, checks it, and begins its submission.
    func beginPickUp(_ name: String, expected: EntryStatus) async -> Pickup? {
        let path = path(name)
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            await openFailed(name, SystemCallError("open", path), status: expected)
            return nil
        }
        var handedOver = false
        defer { if !handedOver { close(fd) } }
        let opened: EntryStatus
        do {
            opened = try EntryStatus.of(descriptor: fd, path: path)
        } catch {
            handOverFailed(name, error)
            return nil
        }
        guard opened.kind == .regular, opened.isUnchanged(from: expected) else {
            files[name]?.observe(opened, now: SystemTime.monotonic())
            return nil
        }
        guard isFreeOfWriters(name, descriptor: fd, status: opened) else { return nil }
        guard opened.size <= settings.maxFileSize else {
            await quarantineUnread(
                name, opened,
                DocumentRejection(
                    .fileTooLarge, "size \(opened.size) bytes exceeds max_file_size \(settings.maxFileSize) bytes"))
            return nil
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        let submission = intake.begin(IncomingDocument(
            sourceName: settings.name, fileName: name, input: .fileDescriptor(fd), size: opened.size,
            format: settings.format))
        handedOver = true
        return Pickup(name: name, descriptor: fd, opened: opened, submission: submission)
    }

    /// Waits for a pickup's commit, then acknowledges the file (or quarantines it).
    func complete(_ pickup: Pickup) async {
        defer { close(pickup.descriptor) }
        let name = pickup.name
        let result: IntakeResult
        do {
            result = try await pickup.submission.result()
        } catch is InputChangedWhileRead {
            changedWhileReading(name, pickup)
            return
        } catch {
            handOverFailed(name, error)
            return
        }
        if let after = try? EntryStatus.of(descriptor: pickup.descriptor, path: path(name)),
           !after.isUnchanged(from: pickup.opened) {
            changedWhileReading(name, pickup)
            return
        }
        files[name]?.failures = 0
        switch result {
        case .committed(let events, _, _):
            recordPickup(name, events: events, read: pickup.opened)
        case .alreadyCommitted:
            recordPickup(name, events: 0, read: pickup.opened)
        case .rejected(let rejection, let sha256):
            source.updateStatus { $0.filesRejected += 1 }
            relocate(
                name,
                .quarantine(QuarantineReason(
                    rejection: rejection, sha256: sha256, size: pickup.opened.size, rejectedAt: SystemTime.wall())),
                read: pickup.opened)
        }
    }

    /// The file changed while it was read: it is read again once it settles. The intake
    /// rolled back what it read (``InputChangedWhileRead``), or, when it changed only after
    /// the commit, the committed events are those of a whole, unchanged version.
    private func changedWhileReading(_ name: String, _ pickup: Pickup) {
        logger.warning(
            "file.changed_while_reading", metadata: ["file": .string(name), "hint": "read again once it settles"])
        if let after = try? EntryStatus.of(descriptor: pickup.descriptor, path: path(name)) {
            files[name]?.observe(after, now: SystemTime.monotonic())
        }
    }

    /// Commits the rejection event for an entry refused without reading it, then quarantines it.
    func quarantineUnread(_ name: String, _ status: EntryStatus, _ rejection: DocumentRejection) async {
        let plannedPath = settings.errorDirectory + "/"
            + FileRelocator.firstFreeName(in: settings.errorDirectory, name: name, reserving: Self.reasonSuffix)
        do {
            try await intake.reject(
                sourceName: settings.name, fileName: name, size: status.size,
                fingerprint: status.fingerprint(name: name), rejection: rejection, quarantinedAs: plannedPath)
        } catch {
            handOverFailed(name, error)
            return
        }
        source.updateStatus { $0.filesRejected += 1 }
        relocate(
            name,
            .quarantine(QuarantineReason(rejection: rejection, sha256: nil, size: status.size, rejectedAt: SystemTime.wall())),
            read: status)
    }

    /// Layers 2 and 3 of the writer check (layer 1, the inotify mark, is `openMark`);
    /// see ``OpenWriterProbe``. Returns whether the file may be picked up now.
    private func isFreeOfWriters(_ name: String, descriptor fd: Int32, status: EntryStatus) -> Bool {
        let now = SystemTime.monotonic()
        let openMark = files[name]?.openMark ?? false
        let verdict = OpenWriterProbe.check(descriptor: fd, device: status.device, inode: status.inode)
        if verdict.allowsPickup(inotifyOpenMark: openMark) {
            if openMark {
                logger.debug("file.writer_gone", metadata: ["file": .string(name)])
                files[name]?.openMark = false
            }
            return true
        }
        if verdict == .writing {
            logger.debug("file.open_for_writing", metadata: ["file": .string(name)])
        } else if let file = files[name], !file.openMarkWarned, now - file.changedAt >= settings.rescanInterval {
            logger.warning(
                "file.maybe_open_for_writing",
                metadata: [
                    "file": .string(name),
                    "hint": """
                        created or modified without close; grant outpost CAP_LEASE or run it as the files' owner \
                        so writers can be checked exactly
                        """,
                ])
            files[name]?.openMarkWarned = true
        }
        files[name]?.notBefore = now + settings.settle
        return false
    }

    private func openFailed(_ name: String, _ error: SystemCallError, status: EntryStatus) async {
        switch error.code {
        case ENOENT:
            files[name] = nil
            logger.debug("file.vanished", metadata: ["file": .string(name)])
        case ELOOP:
            // Replaced by a symlink since the last lstat: classify it afresh.
            files[name] = nil
        case EACCES, EPERM:
            // Once, it may be a writer that sets the permissions after closing: retried at the
            // next rescan. Still unreadable then: quarantined, so that it shows at the hub.
            if files[name]?.unreadableReported == true {
                await quarantineUnread(
                    name, status,
                    DocumentRejection(
                        .unreadable,
                        "the agent's user cannot read the file (\(error.description)); give it read permission "
                            + "(check the writer's umask) and move the file back into the drop directory"))
                return
            }
            logger.error(
                "file.unreadable",
                metadata: [
                    "file": .string(name), "error": .string(error.description),
                    "hint": "give the outpost user read permission; tried again at the next rescan, then quarantined",
                ])
            files[name]?.unreadableReported = true
            files[name]?.notBefore = SystemTime.monotonic() + settings.rescanInterval
        default:
            handOverFailed(name, error)
        }
    }

    /// A step before the commit failed: the file stays in place and is retried with backoff.
    private func handOverFailed(_ name: String, _ error: any Error) {
        if error is CancellationError || Task.isCancelled {
            logger.debug("file.pickup_interrupted", metadata: ["file": .string(name)])
            return
        }
        guard var file = files[name] else { return }
        file.failures += 1
        let delay = retryDelay(after: file.failures)
        file.notBefore = SystemTime.monotonic() + delay
        files[name] = file
        logger.error(
            "file.handover_failed",
            metadata: [
                "file": .string(name), "error": .string(String(describing: error)),
                "retry_in_s": .stringConvertible(delay),
            ])
    }

    private func recordPickup(_ name: String, events: Int, read: EntryStatus) {
        let now = SystemTime.wall()
        source.updateStatus {
            $0.filesPickedUp += 1
            $0.lastPickupAt = now
        }
        logger.info("file.committed", metadata: ["file": .string(name), "events": .stringConvertible(events)])
        relocate(name, .acknowledge, read: read)
    }

    static let reasonSuffix = QuarantineReason.fileSuffix
}
