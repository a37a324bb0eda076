import Crypto

/// The SHA-256 of a bearer token, as configured in `token_sha256` / `read_token_sha256`.
///
/// The hub keeps only digests, never tokens, and compares them in constant time.
public struct TokenDigest: Sendable, Hashable, CustomStringConvertible {
    private let bytes: [UInt8]

    /// Parses 64 hex digits (either case); `nil` for anything else.
    public init?(hex: String) {
        let digits = Array(hex.utf8)
        guard digits.count == 2 * SHA256.byteCount else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(SHA256.byteCount)
        for pair in stride(from: 0, to: digits.count, by: 2) {
            guard let high = JSONByteScanner.hexValue(digits[pair]), let low = JSONByteScanner.hexValue(digits[pair + 1])
            else { return nil }
            bytes.append(high << 4 | low)
        }
        self.bytes = bytes
    }

    /// The digest of `token` (its UTF-8 bytes).
    public init(of token: String) {
        bytes = Array(SHA256.hash(data: Array(token.utf8)))
    }

    /// Lowercase hex, the form to write in the hub configuration.
    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

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
