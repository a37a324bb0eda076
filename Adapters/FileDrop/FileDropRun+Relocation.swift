import EventModel
import FileSourceSupport
import Glibc
import Logging

extension FileDropRun {
    /// Archives, deletes or quarantines a committed file: the file `read` describes (the
    /// descriptor the intake read), never whatever else carries its name by now. When that
    /// fails the file is kept in mind as committed (so it is not submitted again) and the
    /// move is retried on rescans.
    ///
    /// The file is first renamed to a private claim name (``ClaimName``) and checked there:
    /// only when the claimed entry is the file read (same device and inode, same size and
    /// mtime) is it moved or removed. A file a writer renamed over the name meanwhile is
    /// given its name back and picked up as a new file; the file read, replaced, has no name
    /// left to act on. Checking the name before the rename alone would leave a window in
    /// which a writer's rename makes the move take the new file.
    func relocate(_ name: String, _ relocation: TrackedFile.Relocation, read: EntryStatus) {
        guard var file = files[name] else { return }
        do throws(SystemCallError) {
            guard let claim = try claim(name, read: read) else {
                logger.warning(
                    "file.replaced_before_acknowledge",
                    metadata: [
                        "file": .string(name),
                        "hint": "the file read is committed; the file now under its name is picked up as a new one",
                    ])
                files[name] = nil
                observe(name, now: SystemTime.monotonic())
                return
            }
            let destination: String?
            do throws(SystemCallError) {
                destination = try perform(relocation, claim: claim, name: name)
            } catch {
                giveBack(claim, name: name)
                throw error
            }
            files[name] = nil
            removeMarker(of: name)
            logger.info(
                "file.acknowledged",
                metadata: ["file": .string(name), "destination": .string(destination ?? "deleted")])
        } catch {
            file.pendingRelocation = relocation
            file.committedStatus = read
            file.failures += 1
            files[name] = file
            let metadata: Logger.Metadata = [
                "file": .string(name), "error": .string(error.description),
                "hint": "fix the permissions or free space of the named path; retrying on rescans",
            ]
            let message: Logger.Message = "file.relocation_failed"
            if file.failures == 1 { logger.error(message, metadata: metadata) } else { logger.debug(message, metadata: metadata) }
        }
    }

    /// Renames the file `read` describes to a claim name and returns that path; nil when the
    /// name no longer holds that file unchanged (gone, replaced or modified), in which case
    /// whatever holds the name is left there (or given its name back).
    private func claim(_ name: String, read: EntryStatus) throws(SystemCallError) -> String? {
        guard let current = try EntryStatus.of(path: path(name)), current.isUnchanged(from: read) else { return nil }
        source.beforeClaim?(name)
        for attempt in 0..<100 {
            let claim = path(ClaimName.of(name, attempt: attempt))
            guard try FileRelocator.rename(path(name), to: claim) else { continue }
            if let claimed = try EntryStatus.of(path: claim), claimed.isUnchanged(from: read) { return claim }
            // A writer put another file (or a changed one) under the name between the check
            // and the rename: it is not the file read. Its name back, and nothing done to it.
            giveBack(claim, name: name)
            return nil
        }
        throw SystemCallError("rename (no free claim name)", path(name), code: EEXIST)
    }

    /// Renames a claimed file back to `name`; when the name is taken again, the claim stays
    /// and a rescan gives the name back later (``restoreClaims(_:)``).
    private func giveBack(_ claim: String, name: String) {
        do {
            if try !FileRelocator.rename(claim, to: path(name)) {
                logger.warning(
                    "file.claim_kept",
                    metadata: ["file": .string(name), "claim": .string(claim), "hint": "renamed back once the name is free"])
            }
        } catch {
            logger.error(
                "file.claim_kept",
                metadata: ["file": .string(name), "claim": .string(claim), "error": .string(error.description)])
        }
    }

    /// Gives claimed files found in the directory (a crash or a failed rename back) their
    /// names back, so that they are read again or recognised by their receipt.
    func restoreClaims(_ names: [String]) {
        for claimName in names {
            guard let name = ClaimName.original(of: claimName) else { continue }
            do {
                if try FileRelocator.rename(path(claimName), to: path(name)) {
                    logger.info("file.claim_restored", metadata: ["file": .string(name)])
                }
            } catch {
                logger.warning(
                    "file.claim_restore_failed",
                    metadata: ["file": .string(claimName), "error": .string(error.description)])
            }
        }
    }

    /// Retries the moves that failed before, for files still present.
    func retryPendingRelocations() {
        for (name, file) in files {
            guard let relocation = file.pendingRelocation, let read = file.committedStatus else { continue }
            relocate(name, relocation, read: read)
        }
    }

    /// Moves or removes the claimed file; returns the final path, or `nil` when it was deleted.
    private func perform(
        _ relocation: TrackedFile.Relocation, claim: String, name: String
    ) throws(SystemCallError) -> String? {
        switch (relocation, settings.after) {
        case (.acknowledge, .delete):
            try FileRelocator.remove(claim)
            return nil
        case (.acknowledge, .archive(let archive)):
            let day = archive + "/" + String(RFC3339.format(SystemTime.wall()).prefix(10))
            try FileRelocator.ensureDirectory(day)
            return try FileRelocator.move(claim, into: day, name: name)
        case (.quarantine(let reason), _):
            let destination = try FileRelocator.move(
                claim, into: settings.errorDirectory, name: name, reserving: Self.reasonSuffix)
            recordQuarantine(of: name, at: destination, reason: reason)
            return destination
        }
    }

    /// Writes `<destination>.reason.json` beside a file just moved into the error directory,
    /// and logs the quarantine.
    func recordQuarantine(of name: String, at destination: String, reason: QuarantineReason) {
        do {
            try FileRelocator.writeNewFile(
                destination + Self.reasonSuffix, bytes: reason.json(source: settings.name, file: name))
        } catch {
            logger.error(
                "file.reason_file_failed",
                metadata: [
                    "file": .string(name), "reason": .string(reason.rejection.code.rawValue),
                    "error": .string(error.description),
                ])
        }
        logger.warning(
            "file.quarantined",
            metadata: [
                "file": .string(name), "reason": .string(reason.rejection.code.rawValue),
                "detail": .string(reason.rejection.detail),
            ])
    }

    private func removeMarker(of name: String) {
        guard let marker = filter.marker(for: name) else { return }
        markers.remove(marker)
        do {
            try FileRelocator.remove(path(marker))
        } catch {
            logger.warning(
                "file.done_marker_remove_failed",
                metadata: ["file": .string(marker), "error": .string(error.description)])
        }
    }
}
