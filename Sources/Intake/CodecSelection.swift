import EventModel

/// Picks the codec for an input: the configured format, or the one its first bytes show.
public enum CodecSelection {
    /// - Throws: ``DocumentRejection`` `.unknownFormat` when the format cannot be told or
    ///   this agent has no codec for it.
    public static func codec(
        for input: DocumentInput, configured: DocumentFormat?, among codecs: [DocumentFormat: any DocumentCodec]
    ) throws -> any DocumentCodec {
        let format: DocumentFormat
        if let configured {
            format = configured
        } else {
            let prefix = try InputReader.prefix(input, count: 4096)
            guard let detected = DocumentFormat.detect(prefix: prefix) else {
                throw DocumentRejection(
                    .unknownFormat, "neither IDoc XML nor an IDoc flat file (first bytes: \(InputReader.excerpt(prefix)))")
            }
            format = detected
        }
        guard let codec = codecs[format] else {
            throw DocumentRejection(.unknownFormat, "no codec for format \(format.rawValue) in this agent")
        }
        return codec
    }
}
