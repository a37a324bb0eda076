#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The rule for files that hold a secret (hub token, SFTP password, passphrase and private
/// key, broker credentials, TLS client key): readable by their owner alone. One readable by
/// group or others is refused, with the fix in the message.
public enum SecretFilePermissions {
    /// Why the file at `path` may not hold a secret, or nil when its mode is owner-only (or
    /// it cannot be stat'ed: reading it then fails with its own error).
    /// - Parameter key: the configuration key naming the file, for the message.
    public static func problem(path: String, key: String) -> String? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        let mode = st.st_mode & 0o777
        guard mode & 0o044 != 0 else { return nil }
        let octal = String(mode, radix: 8)
        return "\(key) \(path) is readable by \(mode & 0o004 != 0 ? "others" : "its group") (mode 0\(octal)); "
            + "a secret must be readable by its owner only: run `chmod 600 \(path)` (owned by the user outpost runs as)"
    }
}
