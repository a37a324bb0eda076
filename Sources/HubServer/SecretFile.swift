import Foundation

/// Reads a file that holds a secret (a password): refused when group or others may read it.
enum SecretFile {
    /// The file's first line.
    /// - Throws: `PostgresStorageError` naming `key`, the file and the fix.
    static func read(_ path: String, key: String) throws -> String {
        var status = stat()
        guard stat(path, &status) == 0 else {
            throw PostgresStorageError("\(key): cannot read \(path): \(String(cString: strerror(errno)))")
        }
        guard status.st_mode & 0o077 == 0 else {
            throw PostgresStorageError(
                "\(key): \(path) holds a secret but group or others may read it (mode \(String(status.st_mode & 0o777, radix: 8))); "
                    + "run chmod 600 \(path)")
        }
        guard let text = FileManager.default.contents(atPath: path).map({ String(decoding: $0, as: UTF8.self) }) else {
            throw PostgresStorageError("\(key): cannot read \(path)")
        }
        return String(text.prefix { $0 != "\n" && $0 != "\r\n" && $0 != "\r" })
    }
}
