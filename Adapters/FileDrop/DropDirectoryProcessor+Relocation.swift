import EventModel
import Logging

extension DropDirectoryProcessor {
    /// Archives, deletes or quarantines a committed file. When that fails the file is kept in
    /// mind as committed (so it is not submitted again) and the move is retried on rescans.
    func relocate(_ name: String, _ relocation: TrackedFile.Relocation) {
        guard var file = files[name] else { return }
        do {
            let destination = try perform(relocation, name: name)
            files[name] = nil
            removeMarker(of: name)
            logger.info(
                "file.acknowledged",
                metadata: ["file": .string(name), "destination": .string(destination ?? "deleted")])
        } catch {
            file.pendingRelocation = relocation
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

    /// Retries the moves that failed before, for files still present.
    func retryPendingRelocations() {
        for (name, file) in files {
            guard let relocation = file.pendingRelocation else { continue }
            relocate(name, relocation)
        }
    }

    /// Returns the final path, or `nil` when the file was deleted.
    private func perform(_ relocation: TrackedFile.Relocation, name: String) throws(SystemCallError) -> String? {
        switch (relocation, settings.after) {
        case (.acknowledge, .delete):
            try FileRelocator.remove(path(name))
            return nil
        case (.acknowledge, .archive(let archive)):
            let day = archive + "/" + String(RFC3339.format(SystemTime.wall()).prefix(10))
            try FileRelocator.ensureDirectory(day)
            return try FileRelocator.move(path(name), into: day, name: name)
        case (.quarantine(let reason), _):
            let destination = try FileRelocator.move(
                path(name), into: settings.errorDirectory, name: name, reserving: Self.reasonSuffix)
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
