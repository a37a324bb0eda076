import EventModel
import Foundation

/// Reads a file that holds a secret (a password): refused when group or others may read it
/// (`SecretFilePermissions`, the agent's rule for its secret files too).
enum SecretFile {
    /// The file's first line.
    /// - Throws: `PostgresStorageError` naming `key`, the file and the fix.
    static func read(_ path: String, key: String) throws -> String {
        if let problem = SecretFilePermissions.problem(path: path, key: key) { throw PostgresStorageError(problem) }
        guard let text = FileManager.default.contents(atPath: path).map({ String(decoding: $0, as: UTF8.self) }) else {
            throw PostgresStorageError("\(key): cannot read \(path); create it (one line) readable by the hub's user")
        }
        return String(text.prefix { $0 != "\n" && $0 != "\r\n" && $0 != "\r" })
    }
}
