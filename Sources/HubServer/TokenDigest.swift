import Crypto
import EventModel

/// The SHA-256 of a bearer token, as configured in `token_sha256` / `read_token_sha256`.
///
/// The hub keeps only digests, never tokens, and compares them in constant time.
public struct TokenDigest: Sendable, Hashable, CustomStringConvertible {
    private let bytes: [UInt8]

    /// Parses 64 hex digits (either case); `nil` for anything else.
    public init?(hex: String) {
        guard let bytes = Hex.decode(hex, count: SHA256.byteCount) else { return nil }
        self.bytes = bytes
    }

    /// The digest of `token` (its UTF-8 bytes).
    public init(of token: String) {
        bytes = Array(SHA256.hash(data: Array(token.utf8)))
    }

    /// Lowercase hex, the form to write in the hub configuration.
    public var hex: String { Hex.encode(bytes) }

    public var description: String { hex }

    /// Equality that takes the same time wherever the digests differ.
    public func matchesInConstantTime(_ other: TokenDigest) -> Bool {
        guard bytes.count == other.bytes.count else { return false }
        var difference: UInt8 = 0
        for index in bytes.indices {
            difference |= bytes[index] ^ other.bytes[index]
        }
        return difference == 0
    }
}
