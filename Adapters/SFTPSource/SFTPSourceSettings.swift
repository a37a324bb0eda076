import EventModel

/// Everything an ``SFTPSource`` needs to know, filled in by the composition root from the
/// `type: sftp` entry of the configuration. Holds file paths of secrets, never the secrets.
public struct SFTPSourceSettings: Sendable, Equatable {
    /// How the server's host key is verified. There is no way to skip the check.
    public enum HostKeyCheck: Sendable, Equatable {
        /// Against an OpenSSH `known_hosts` file (plain, hashed and `[host]:port` entries).
        case knownHosts(file: String)
        /// Against a pinned `SHA256:…` fingerprint, as `ssh-keygen -lf` prints it.
        case fingerprint(String)
    }

    /// What happens to a remote file once its events are committed to the outbox.
    public enum AfterPickup: Sendable, Equatable {
        /// Rename it into this remote directory (created if missing), never overwriting.
        case move(directory: String)
        /// Remove it.
        case delete
    }

    /// The source's `name`; appears in events and logs.
    public var name: String
    public var host: String
    public var port: Int
    public var user: String
    /// Private key (OpenSSH or PEM; ed25519, RSA, ECDSA), tried first when set.
    public var privateKeyFile: String?
    /// File holding the private key's passphrase (one line).
    public var passphraseFile: String?
    /// File holding the password (one line); used when there is no key or the key is refused.
    public var passwordFile: String?
    public var hostKeyCheck: HostKeyCheck
    /// The remote directory polled for files.
    public var remoteDirectory: String
    /// Glob patterns (fnmatch(3)) a file name must match one of to be picked up.
    public var include: [String]
    /// Glob patterns that exclude a file name even when it matches `include`.
    public var exclude: [String]
    /// Whether subdirectories of `remoteDirectory` are polled too (archive and error
    /// directories are always skipped).
    public var recursive: Bool
    /// Seconds between listings.
    public var pollInterval: Double
    /// A file is ready when its size and mtime are unchanged across two listings at least
    /// this many seconds apart (the second listing comes this long after the first, not a
    /// whole `pollInterval` later).
    public var settle: Double
    /// e.g. `.done`: a file `X` is ready as soon as `X.done` exists; the marker is removed
    /// after `X` is acknowledged.
    public var doneMarker: String?
    /// The configured format, `nil` for auto-detection.
    public var format: DocumentFormat?
    public var after: AfterPickup
    /// Where refused files are moved (with a `<name>.reason.json`); when `nil` they are left
    /// in place and remembered so they are not read again.
    public var errorDirectory: String?
    /// Files larger than this many bytes are refused without being downloaded.
    public var maxFileSize: Int64
    /// Local directory for the download in progress (`<data_dir>/staging/<name>`). Owned by
    /// this source: stale files in it are removed at start.
    public var stagingDirectory: String
    /// Seconds to establish the TCP connection.
    public var connectTimeout: Double
    /// Seconds any single SSH or SFTP operation may take before the connection counts as dead.
    public var operationTimeout: Double
    /// Seconds between SSH keepalives while the connection is idle.
    public var keepaliveInterval: Double
    /// First and longest reconnect delay (full-jitter exponential backoff), in seconds.
    public var reconnectInitial: Double
    public var reconnectMax: Double

    public init(
        name: String, host: String, port: Int = 22, user: String, hostKeyCheck: HostKeyCheck,
        remoteDirectory: String, after: AfterPickup, stagingDirectory: String,
        privateKeyFile: String? = nil, passphraseFile: String? = nil, passwordFile: String? = nil,
        include: [String] = ["*"], exclude: [String] = ["*.tmp", "*.part", ".*"], recursive: Bool = false,
        pollInterval: Double = 10, settle: Double = 2, doneMarker: String? = nil, format: DocumentFormat? = nil,
        errorDirectory: String? = nil, maxFileSize: Int64 = 256 << 20, connectTimeout: Double = 10,
        operationTimeout: Double = 30, keepaliveInterval: Double = 30, reconnectInitial: Double = 1,
        reconnectMax: Double = 60
    ) {
        self.name = name
        self.host = host
        self.port = port
        self.user = user
        self.hostKeyCheck = hostKeyCheck
        self.remoteDirectory = remoteDirectory
        self.after = after
        self.stagingDirectory = stagingDirectory
        self.privateKeyFile = privateKeyFile
        self.passphraseFile = passphraseFile
        self.passwordFile = passwordFile
        self.include = include
        self.exclude = exclude
        self.recursive = recursive
        self.pollInterval = pollInterval
        self.settle = settle
        self.doneMarker = doneMarker
        self.format = format
        self.errorDirectory = errorDirectory
        self.maxFileSize = maxFileSize
        self.connectTimeout = connectTimeout
        self.operationTimeout = operationTimeout
        self.keepaliveInterval = keepaliveInterval
        self.reconnectInitial = reconnectInitial
        self.reconnectMax = reconnectMax
    }

    /// `user@host:port/remote_dir`, for service descriptions and logs (no secrets).
    public var endpointDescription: String { "\(user)@\(host):\(port)\(remoteDirectory.hasPrefix("/") ? "" : "/")\(remoteDirectory)" }
}
