/// Why an ``SFTPSource`` cannot run, or stopped for good.
public enum SFTPSourceError: Error, CustomStringConvertible, Equatable {
    /// `run()` was called while another `run()` of the same source is active.
    case alreadyRunning(source: String)
    /// The staging directory cannot be created or cleaned.
    case stagingUnavailable(directory: String, detail: String)

    public var description: String {
        switch self {
        case .alreadyRunning(let source):
            "sftp source '\(source)' is already running; run each source once (one Service per source)"
        case .stagingUnavailable(let directory, let detail):
            "cannot prepare the staging directory \(directory): \(detail); give the outpost user write access to its data_dir"
        }
    }
}
