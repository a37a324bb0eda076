/// Misuse of a ``FileDropSource``.
public enum FileDropError: Error, CustomStringConvertible, Equatable {
    /// `run()` was called while another `run()` of the same source is active.
    case alreadyRunning(source: String)

    public var description: String {
        switch self {
        case .alreadyRunning(let source):
            "file drop source '\(source)' is already running; run each source once (one Service per source)"
        }
    }
}
