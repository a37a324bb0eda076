import EventModel

/// Everything a ``FileDropSource`` needs to know, filled in by the composition root from the
/// `type: file_drop` entry of the configuration.
public struct FileDropSettings: Sendable, Equatable {
    /// What happens to a file once its events are committed to the outbox.
    public enum AfterPickup: Sendable, Equatable {
        /// Move it into `<directory>/YYYY-MM-DD/` (UTC pickup date), never overwriting.
        case archive(directory: String)
        /// Remove it.
        case delete
    }

    /// The source's `name`; appears in events, reason files and logs.
    public var name: String
    /// The drop directory (`path`). Only its top level is read; subdirectories are ignored.
    public var directory: String
    /// Glob patterns (fnmatch(3)) a file name must match one of to be picked up.
    public var include: [String]
    /// Glob patterns that exclude a file name even when it matches `include`.
    public var exclude: [String]
    /// The configured format, `nil` for auto-detection.
    public var format: DocumentFormat?
    /// Seconds a file's size and mtime must stay unchanged before pickup.
    public var settle: Double
    /// e.g. `.done`: a file `X` is picked up only once `X.done` exists; the marker is removed
    /// after `X` is acknowledged. Names ending in the marker are never documents.
    public var doneMarker: String?
    /// What to do with a file after its events are committed.
    public var after: AfterPickup
    /// Where refused files go, each with a `<name>.reason.json` beside it.
    public var errorDirectory: String
    /// Files larger than this many bytes are quarantined without being read.
    public var maxFileSize: Int64
    /// Seconds between full rescans of the directory (besides inotify).
    public var rescanInterval: Double
    /// First delay, in seconds, before a file whose submission failed is tried again.
    public var retryInitial: Double
    /// Longest delay, in seconds, between attempts for a file whose submission keeps failing.
    public var retryMax: Double

    public init(
        name: String, directory: String, after: AfterPickup, errorDirectory: String,
        include: [String] = ["*"], exclude: [String] = ["*.tmp", "*.part", ".*"],
        format: DocumentFormat? = nil, settle: Double = 2, doneMarker: String? = nil,
        maxFileSize: Int64 = 256 << 20, rescanInterval: Double = 30,
        retryInitial: Double = 1, retryMax: Double = 60
    ) {
        self.name = name
        self.directory = directory
        self.after = after
        self.errorDirectory = errorDirectory
        self.include = include
        self.exclude = exclude
        self.format = format
        self.settle = settle
        self.doneMarker = doneMarker
        self.maxFileSize = maxFileSize
        self.rescanInterval = rescanInterval
        self.retryInitial = retryInitial
        self.retryMax = retryMax
    }
}
