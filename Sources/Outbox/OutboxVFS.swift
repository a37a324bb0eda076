import COutboxVFS
import Foundation

/// How the outbox names its database file to SQLite: through the outbox VFS (`COutboxVFS`),
/// which writes each commit's log frames with one write call instead of two per 4 KiB page
/// (a 1 MB document: ~550 calls become ~20), or as the plain path when this SQLite
/// cannot take it. The same file either way; only the number of write calls differs.
enum OutboxVFS {
    /// The VFS's name once registered; nil when SQLite could not take it.
    static let name: String? = outpost_outbox_vfs_register().map { String(cString: $0) }

    /// Log write calls that reached the file since the process started (tests).
    static var logWrites: Int64 { outpost_outbox_vfs_log_writes() }

    /// Syncs of a log since the process started (tests).
    static var logSyncs: Int64 { outpost_outbox_vfs_log_syncs() }

    /// What to open for the database at `path`: a `file:` URI naming the VFS, or `path`.
    /// An absolute path gets an empty authority (`file:///…`), so that one beginning with
    /// `//` is not read as a host name.
    static func sqliteName(forPath path: String) -> String {
        guard let name else { return path }
        return (path.hasPrefix("/") ? "file://" : "file:") + uriEscaped(path) + "?vfs=" + name
    }

    /// `path` with every byte but unreserved ones and `/` percent-encoded (SQLite decodes
    /// `%HH` in a URI's path; `?`, `#` and `%` would otherwise end or change it).
    static func uriEscaped(_ path: String) -> String {
        path.addingPercentEncoding(withAllowedCharacters: kept) ?? path
    }

    private static let kept = CharacterSet(
        charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-~")
}
