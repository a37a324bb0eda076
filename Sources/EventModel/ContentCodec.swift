/// An HTTP `Content-Encoding` (`gzip`, `zstd`): compresses a whole request body on the agent,
/// and decompresses one on the hub with a bound on the output, so a small body that expands
/// to gigabytes (a decompression bomb) is refused before it can fill memory.
///
/// The implementations live in the ContentCoding adapter; the hub and the HTTP sink are given
/// the ones to use by their composition roots.
public protocol ContentCodec: Sendable {
    /// The `Content-Encoding` token, lowercase.
    var name: String { get }
    /// The whole of `bytes`, compressed.
    func compress(_ bytes: [UInt8]) throws(ContentCodecError) -> [UInt8]
    /// `bytes` decompressed; throws ``ContentCodecError/tooLarge(limit:)`` as soon as the output
    /// would exceed `limit` bytes (never holding more than that), ``ContentCodecError/corrupt(_:)``
    /// when `bytes` is not one complete, valid stream.
    func decompress(_ bytes: UnsafeRawBufferPointer, limit: Int) throws(ContentCodecError) -> [UInt8]
}

/// Why a body could not be compressed or decompressed.
public enum ContentCodecError: Error, Equatable, CustomStringConvertible {
    /// The decompressed body would be larger than the limit.
    case tooLarge(limit: Int)
    /// The compressed body is truncated, has trailing data or is not in the format.
    case corrupt(String)

    public var description: String {
        switch self {
        case .tooLarge(let limit): "decompressed body exceeds \(limit) bytes"
        case .corrupt(let reason): "compressed body is invalid: \(reason)"
        }
    }
}
