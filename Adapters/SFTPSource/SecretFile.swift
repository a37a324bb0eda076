import EventModel
import Foundation

/// Reads one-line secrets (passphrase, password) for the moment they are needed.
///
/// The value lives in a `[CChar]` that the caller wipes after use; it is never logged,
/// never kept in settings, and never part of a description.
enum SecretFile {
    /// The file's first line, without its line ending, NUL-terminated.
    static func read(_ path: String, key: String) throws(SSHFailure) -> [CChar] {
        try checkMode(path, key: key)
        guard var data = FileManager.default.contents(atPath: path) else {
            throw .authentication("cannot read \(key) \(path); create it (one line) readable by the outpost user")
        }
        defer { data.resetBytes(in: 0..<data.count) }
        var bytes = [CChar]()
        bytes.reserveCapacity(data.count + 1)
        for byte in data {
            if byte == 0x0A || byte == 0x0D { break }
            bytes.append(CChar(bitPattern: byte))
        }
        bytes.append(0)
        return bytes
    }

    /// Refuses a secret file (or private key) readable by group or others.
    static func checkMode(_ path: String, key: String) throws(SSHFailure) {
        if let problem = SecretFilePermissions.problem(path: path, key: key) { throw .authentication(problem) }
    }

    /// Overwrites the secret's bytes, then drops it.
    static func wipe(_ secret: inout [CChar]?) {
        secret?.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        secret = nil
    }
}

extension Optional where Wrapped == [CChar] {
    /// Calls `body` with the C string, or `nil` when there is no secret.
    func withCString<R>(_ body: (UnsafePointer<CChar>?) -> R) -> R {
        switch self {
        case .some(let bytes): bytes.withUnsafeBufferPointer { body($0.baseAddress) }
        case .none: body(nil)
        }
    }
}
