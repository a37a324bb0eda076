/// Why the storage cannot take a write now; the hub answers 503 with `Retry-After` and the
/// agent keeps the events in its outbox.
public enum HubStorageError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Another writer holds the database; retry in a moment.
    case busy
    /// The storage failed (disk full, I/O error, closed); `detail` says how.
    case unavailable(String)

    public var description: String {
        switch self {
        case .busy: "storage is busy"
        case .unavailable(let detail): "storage is unavailable: \(detail)"
        }
    }
}
