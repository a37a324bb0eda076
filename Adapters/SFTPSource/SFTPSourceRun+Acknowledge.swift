import EventModel
import FileSourceSupport
import Logging

extension SFTPSourceRun {
    /// Moves, deletes or quarantines a handled file on the server. When that fails the file
    /// stays remembered (so it is not ingested again) and the acknowledgement is retried on
    /// the next polls; a broken connection is rethrown.
    ///
    /// A plain delete does not wait for the server's reply: the next download goes ahead
    /// and the reply is read before the next removal or at the end of the poll
    /// (``finishRemoval()``); until then the file counts as still to be acknowledged.
    func acknowledge(_ relativePath: String) async throws(SSHFailure) {
        guard let file = files[relativePath], let handled = file.handled else { return }
        guard handled.disposition != .leave else {
            // Refused and left on the server: under its own name, where the partner sees it.
            if file.originalRelativePath != nil { try await giveBack(relativePath) }
            return
        }
        let entry = file.entry
        let marker = filter.marker(for: entry.namedPath)
        let claimed = file.originalRelativePath != nil
        source.beforeAcknowledge?(entry.namedPath)
        if handled.disposition == .acknowledge, case .delete = settings.after, marker == nil, claimed {
            let path = entry.path
            removalsAwaitingReply[path] = relativePath
            apply(try await client.perform { connection, _ throws(SSHFailure) in try connection.sendRemoval(path) })
            return
        }
        try await finishRemoval()
        let after = settings.after
        let errorDirectory = settings.errorDirectory
        let sourceName = settings.name
        let outcome: (destination: String?, warning: String?)?
        do {
            outcome = try await client.perform { connection, _ throws(SSHFailure) in
                // Not claimed (the server refused the rename): the file under the name is
                // checked first. SFTP v3 mtimes are whole seconds, so a file renamed over the
                // name is told apart by its size or its mtime second. Without claims a file
                // is read only after its size and mtime stayed the same across listings at
                // least one second apart (``isReady``), so a file written after that has a
                // later mtime second; only a writer that sets the old mtime back (cp -p,
                // rsync -t) on a file of the very same size goes unnoticed, which only the
                // claim rules out.
                if !claimed {
                    guard let current = try connection.stat(entry.path), current.isUnchanged(from: entry.attributes)
                    else { return nil }
                }
                return try Self.perform(
                    handled.disposition, on: entry, after: after, errorDirectory: errorDirectory,
                    sourceName: sourceName, marker: marker, connection: connection)
            }
        } catch {
            if error.breaksConnection { throw error }
            acknowledgementFailed(relativePath, error)
            return
        }
        guard let outcome else {
            files[relativePath] = nil
            logger.warning(
                "file.replaced_before_acknowledge",
                metadata: [
                    "file": .string(entry.path),
                    "hint": "the file read is committed; the file now under its name is picked up as a new one",
                ])
            return
        }
        acknowledged(relativePath, destination: outcome.destination, warning: outcome.warning)
    }

    /// Reads the reply to a removal still in flight, if any, and records its outcome. A
    /// removal whose outcome is unknown after that stays to be retried on the next poll.
    func finishRemoval() async throws(SSHFailure) {
        guard !removalsAwaitingReply.isEmpty else { return }
        let outcome = try await client.perform { connection, _ throws(SSHFailure) in try connection.finishRemoval() }
        apply(outcome.map { [$0] } ?? [])
        removalsAwaitingReply = [:]
    }

    private func apply(_ outcomes: [RemovalOutcome]) {
        for outcome in outcomes {
            guard let relativePath = removalsAwaitingReply.removeValue(forKey: outcome.path) else { continue }
            if let failure = outcome.failure {
                acknowledgementFailed(relativePath, failure)
            } else {
                acknowledged(relativePath, destination: nil, warning: nil)
            }
        }
    }

    private func acknowledged(_ relativePath: String, destination: String?, warning: String?) {
        guard let entry = files.removeValue(forKey: relativePath)?.entry else { return }
        if let warning {
            logger.warning("file.acknowledged_with_problem", metadata: ["file": .string(entry.path), "error": .string(warning)])
        }
        logger.info("file.acknowledged", metadata: ["file": .string(entry.path), "destination": .string(destination ?? "deleted")])
    }

    private func acknowledgementFailed(_ relativePath: String, _ error: SSHFailure) {
        guard var file = files[relativePath] else { return }
        file.failures += 1
        files[relativePath] = file
        let metadata: Logger.Metadata = [
            "file": .string(file.entry.path), "error": .string(error.description),
            "hint": "the file is committed; give the SFTP user permission to move or delete it (retried on every poll)",
        ]
        if file.failures == 1 {
            logger.error("file.acknowledge_failed", metadata: metadata)
        } else {
            logger.debug("file.acknowledge_failed", metadata: metadata)
        }
    }

    /// Retries the acknowledgements that failed before, for files still listed unchanged.
    func retryPendingAcknowledgements() async throws(SSHFailure) {
        let pending = files.filter { $0.value.handled.map { $0.disposition != .leave } ?? false }.map(\.key)
        for path in pending { try await acknowledge(path) }
    }

    /// Runs on the session thread. Returns the final path (nil when deleted) and a
    /// non-fatal problem (reason file or marker not written or removed).
    private static func perform(
        _ disposition: TrackedRemoteFile.Disposition, on entry: RemoteEntry, after: SFTPSourceSettings.AfterPickup,
        errorDirectory: String?, sourceName: String, marker: String?, connection: SSHConnection
    ) throws(SSHFailure) -> (destination: String?, warning: String?) {
        switch disposition {
        case .leave:
            return (entry.path, nil)
        case .acknowledge:
            let destination: String?
            switch after {
            case .move(let directory): destination = try connection.move(entry.path, into: directory, name: entry.name)
            case .delete:
                try connection.remove(entry.path)
                destination = nil
            }
            var warning: String?
            if let marker {
                do { try connection.remove(marker) } catch { warning = "done marker not removed: \(error.description)" }
            }
            return (destination, warning)
        case .quarantine(let reason):
            guard let errorDirectory else { return (entry.path, nil) }
            let suffix = QuarantineReason.fileSuffix
            let destination = try connection.move(entry.path, into: errorDirectory, name: entry.name, reserving: suffix)
            var warning: String?
            do {
                try connection.writeNewFile(destination + suffix, bytes: reason.json(source: sourceName, file: entry.name))
            } catch {
                warning = "reason file not written: \(error.description)"
            }
            if let marker {
                do { try connection.remove(marker) } catch { warning = "done marker not removed: \(error.description)" }
            }
            return (destination, warning)
        }
    }
}
