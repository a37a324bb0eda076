/// What a remote listing says about one file, reduced to what the source decides on.
struct RemoteAttributes: Sendable, Equatable {
    enum Kind: Sendable, Equatable { case regular, directory, other }

    var kind: Kind
    var size: Int64
    /// Modification time in seconds since 1970 (SFTP v3 resolution).
    var mtime: Int64

    /// Same size and mtime: the file did not change between two looks.
    func isUnchanged(from other: RemoteAttributes) -> Bool { size == other.size && mtime == other.mtime && kind == other.kind }
}

/// One entry of a remote listing.
struct RemoteEntry: Sendable, Equatable {
    /// Path below `remote_dir` (`name`, or `sub/name` when recursive).
    var relativePath: String
    /// Full remote path.
    var path: String
    /// File name without directory.
    var name: String
    var attributes: RemoteAttributes

    /// The path under the file's own name: `path`, or for a claimed file (whose `path` is
    /// its claim name) the path it had before it was claimed.
    var namedPath: String { SFTPSourceRun.directoryPart(of: path) + name }
}

/// The result of listing `remote_dir` (and its subdirectories when recursive).
struct RemoteListing: Sendable {
    var entries: [RemoteEntry] = []
    /// Names that are not valid UTF-8 (lossily decoded, for a warning).
    var undecodableNames: [String] = []
    /// Subdirectories that could not be listed, with the reason.
    var unreadableDirectories: [String: String] = [:]
}

/// How a download ended when it did not fail.
enum DownloadResult: Sendable, Equatable {
    /// Every byte is in the staging file and the remote file did not change meanwhile.
    case complete(RemoteAttributes)
    /// The remote file is not the one listed (size or mtime differ): observe it afresh.
    case changed(RemoteAttributes)
    /// The remote file is larger than `max_file_size`; nothing was read.
    case tooLarge(RemoteAttributes)
    /// The remote file is gone.
    case vanished
}

/// How a removal sent without waiting ended (see ``SSHConnection/sendRemoval(_:)``).
struct RemovalOutcome: Sendable, Equatable {
    /// The remote path.
    let path: String
    /// The server's refusal; nil when the file is gone (removed, or already gone).
    let failure: SSHFailure?
}

/// Joins remote path components with exactly one `/`.
func remoteJoin(_ directory: String, _ name: String) -> String {
    directory.isEmpty ? name : directory.hasSuffix("/") ? directory + name : directory + "/" + name
}
