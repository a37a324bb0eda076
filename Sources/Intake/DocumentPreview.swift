import EventModel
import Foundation

/// `outpost parse`: the events a file would produce, without an outbox.
public enum DocumentPreview {
    /// Decodes the file at `path` and calls `emit` with each event's JSON (no `sequence`).
    /// - Throws: ``DocumentRejection`` for input the agent would quarantine, or a
    ///   `POSIXError` when the file cannot be opened.
    public static func events(
        path: String, format: DocumentFormat?, codecs: [DocumentFormat: any DocumentCodec], agentID: String,
        region: String, sourceName: String, limits: CodecLimits = .default, emit: (EncodedEvent) throws -> Void
    ) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        defer { close(fd) }
        let input = DocumentInput.fileDescriptor(fd)
        let sha = try InputHasher.hash(input)
        let codec = try CodecSelection.codec(for: input, configured: format, among: codecs)
        var encoder = CloudEventEncoder(origin: DocumentOrigin(
            agentID: agentID, region: region, sourceName: sourceName,
            fileName: (path as NSString).lastPathComponent, fileSHA256: sha,
            pickupTime: Date().timeIntervalSince1970))
        try input.rewind()
        try codec.decode(input, limits: limits) { record in try emit(encoder.encode(record)) }
    }
}
