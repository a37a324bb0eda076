import Foundation

/// Where a codec reads a document from.
public enum DocumentInput: Sendable {
    /// An open, readable file descriptor positioned at the start; the caller owns and closes it.
    case fileDescriptor(Int32)
    /// A whole document in memory (a queue message, a test fixture).
    case bytes([UInt8])

    /// Seeks a file descriptor back to its start, for a (further) reading from the beginning.
    public func rewind() throws(POSIXError) {
        if case .fileDescriptor(let fd) = self, lseek(fd, 0, SEEK_SET) < 0 {
            throw POSIXError(.init(rawValue: errno) ?? .EIO)
        }
    }
}

/// Limits a codec enforces so that hostile input cannot exhaust the host.
public struct CodecLimits: Sendable, Equatable {
    /// Deepest element nesting accepted (XML).
    public var maxDepth: Int
    /// Largest single document (one IDoc) in bytes.
    public var maxDocumentBytes: Int

    public init(maxDepth: Int = 64, maxDocumentBytes: Int = 64 << 20) {
        self.maxDepth = maxDepth
        self.maxDocumentBytes = maxDocumentBytes
    }

    public static let `default` = CodecLimits()
}

/// Turns one input (a file, a message) into the business documents it holds.
///
/// A codec streams: it never holds more than one document in memory. It calls `emit` for
/// each document, in order, and throws ``DocumentRejection`` when the input is not
/// acceptable; events already emitted for that input must then be discarded by the caller
/// (the outbox commits a file's events in one transaction).
public protocol DocumentCodec: Sendable {
    /// The format this codec reads.
    var format: DocumentFormat { get }
    /// Decodes `input`, calling `emit` once per document in input order.
    func decode(
        _ input: DocumentInput, limits: CodecLimits, emit: (DocumentRecord) throws -> Void
    ) throws
}
