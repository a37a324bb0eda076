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
