import Foundation

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
