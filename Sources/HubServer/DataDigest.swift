import Crypto
import EventModel
import Foundation

/// The SHA-256 of an event's document: the value of its `data` (a JSON string's characters
/// with escapes resolved, any other JSON value's bytes as sent) or of its `data_base64` text.
///
/// The envelope is left out on purpose: `time` and `sequence` differ between two sends of the
/// same document, the document does not. Same id and same digest is a re-send (a duplicate);
/// same id and another digest is a conflict.
public struct DataDigest: Sendable, Hashable, CustomStringConvertible {
    /// The 32 digest bytes.
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) {
        precondition(bytes.count == SHA256.byteCount, "a SHA-256 digest has 32 bytes")
        self.bytes = bytes
    }

    /// The digest of the document of an event decoded from `body`.
    /// - Parameter location: where the event's `data` lies (`nil`: the event has none).
    init(of location: DataLocation?, in body: UnsafeRawBufferPointer) {
        var hasher = SHA256()
        switch location {
        case nil:
            hasher.update(data: [UInt8(ascii: "n")])
        case .json(let range):
            hasher.update(data: [UInt8(ascii: "j")])
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: body[range]))
        case .string(let content, let hasEscapes, let base64):
            hasher.update(data: [UInt8(ascii: base64 ? "b" : "s")])
            let raw = UnsafeRawBufferPointer(rebasing: body[content])
            if hasEscapes {
                JSONByteScanner.unescape(raw) { hasher.update(bufferPointer: $0) }
            } else {
                hasher.update(bufferPointer: raw)
            }
        }
        bytes = Array(hasher.finalize())
    }

    /// The digest of the document of a stored event's JSON (for events stored before the hub
    /// kept digests); the whole JSON stands for the document if it does not decode.
    init(ofStoredEvent json: Data) {
        let batch = Array("[".utf8) + Array(json) + Array("]".utf8)
        self = batch.withUnsafeBytes { body in
            guard let event = try? CloudEventBatchDecoder().decode(body).first else {
                return DataDigest(of: .json(1..<(body.count - 1)), in: body)
            }
            return DataDigest(of: event.data, in: body)
        }
    }

    /// Parses 64 hex digits; `nil` for anything else.
    public init?(hex: String) {
        guard let bytes = Hex.decode(hex, count: SHA256.byteCount) else { return nil }
        self.bytes = bytes
    }

    /// Lowercase hex.
    public var hex: String { Hex.encode(bytes) }

    public var description: String { hex }
}
