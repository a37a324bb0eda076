/// A `tls:` file the hub cannot use; names the key, the file and the fix.
public struct HubTLSError: Error, CustomStringConvertible {
    /// The configuration key, e.g. `tls.cert_file`.
    public let key: String
    public let path: String
    public let reason: String

    public var description: String {
        "key `\(key)`: cannot use \(path) (\(reason)); point it at a readable PEM file"
    }
}
