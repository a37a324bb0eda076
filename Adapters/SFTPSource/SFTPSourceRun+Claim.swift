import EventModel
import FileSourceSupport
import Logging

extension SFTPSourceRun {
    /// Renames a ready file to its claim name (``ClaimName``, in the same directory) before
    /// it is downloaded, and tracks it under the claim from then on: the file read is then
    /// the only one the source later moves or deletes, whatever a writer puts under the
    /// original name meanwhile (that file is listed and picked up as a new one).
    ///
    /// Returns the relative path the file is tracked under now (the claim's), the same path
    /// when the server does not let this user rename (the source then checks size and mtime
    /// before it acts, see ``acknowledge(_:)``), or nil when the file is gone or, claims
    /// just found refused, not yet ready without them.
    func claim(_ relativePath: String) async throws(SSHFailure) -> String? {
        guard let file = files[relativePath], file.originalRelativePath == nil else { return relativePath }
        // Unclaimed files wait a second of unchanged listings (``isReady(_:_:now:)``); one
        // found ready before claims were found refused is taken at a later poll.
        if claimsRefused { return isReady(relativePath, file, now: .now) ? relativePath : nil }
        let entry = file.entry
        let directory = Self.directoryPart(of: entry.path)
        let relativeDirectory = Self.directoryPart(of: relativePath)
        for attempt in 0..<10 {
            let name = ClaimName.of(entry.name, attempt: attempt)
            let claimPath = directory + name
            let outcome = try await client.perform { connection, _ throws(SSHFailure) in
                try connection.rename(entry.path, to: claimPath)
            }
            switch outcome {
            case .renamed:
                var claimed = file
                claimed.entry.path = claimPath
                claimed.entry.relativePath = relativeDirectory + name
                claimed.originalRelativePath = relativePath
                files[relativePath] = nil
                files[claimed.entry.relativePath] = claimed
                return claimed.entry.relativePath
            case .taken:
                continue
            case .vanished:
                files[relativePath] = nil
                return nil
            case .refused(let failure):
                claimsRefused = true
                logger.warning(
                    "sftp.claim_refused",
                    metadata: [
                        "file": .string(entry.path), "error": .string(failure.description),
                        "hint": """
                            give the SFTP user permission to rename in the directory; meanwhile each file's size and \
                            mtime are checked before it is moved or deleted
                            """,
                    ])
                return isReady(relativePath, file, now: .now) ? relativePath : nil
            }
        }
        return relativePath
    }

    /// Gives a claimed file that is not to be read now (it changed, is not the file listed,
    /// or cannot be read) its name back, and tracks it under that name again; returns that
    /// relative path. When the name is taken again, the claim stays (a later poll gives the
    /// name back, ``restoreClaims(_:)``), the file is forgotten for now, and nil is returned.
    @discardableResult
    func giveBack(_ relativePath: String) async throws(SSHFailure) -> String? {
        guard var file = files.removeValue(forKey: relativePath), let original = file.originalRelativePath else {
            return nil
        }
        let from = file.entry.path
        let to = file.entry.namedPath
        let outcome = try await client.perform { connection, _ throws(SSHFailure) in try connection.rename(from, to: to) }
        guard outcome == .renamed else {
            if outcome != .vanished {
                logger.warning("file.claim_kept", metadata: ["file": .string(to), "hint": "renamed back once the name is free"])
            }
            return nil
        }
        file.entry.path = to
        file.entry.relativePath = original
        file.originalRelativePath = nil
        files[original] = file
        return original
    }

    /// Gives claimed files this source does not track (left by a crash, or not yet given
    /// back) their names back, so that they are read again or recognised by their receipt.
    func restoreClaims(_ entries: [RemoteEntry]) async throws(SSHFailure) {
        for entry in entries {
            guard let name = ClaimName.original(of: entry.name) else { continue }
            let from = entry.path
            let to = Self.directoryPart(of: entry.path) + name
            let outcome = try await client.perform { connection, _ throws(SSHFailure) in try connection.rename(from, to: to) }
            if outcome == .renamed { logger.info("file.claim_restored", metadata: ["file": .string(to)]) }
        }
    }

    /// `dir/` of `dir/name`; empty for a bare name.
    static func directoryPart(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return String(path[...slash])
    }
}
