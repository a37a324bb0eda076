/// Where and when a document was picked up: the part of every event that comes from the
/// agent and the source rather than from the document itself.
public struct DocumentOrigin: Sendable, Equatable {
    /// `agent.id` from the configuration.
    public var agentID: String
    /// `agent.region` from the configuration.
    public var region: String
    /// The source's `name`.
    public var sourceName: String
    /// File name (no directory) or message id the document came in.
    public var fileName: String
    /// Lowercase hex SHA-256 of the whole input.
    public var fileSHA256: String
    /// Pickup time, seconds since 1970.
    public var pickupTime: Double
    /// W3C trace context handed over by the source, if it had one.
    public var traceparent: String?
    /// Extension attributes from the source, written onto every event (see ``ExtensionAttributes``).
    public var attributes: [String: String]

    public init(
        agentID: String, region: String, sourceName: String, fileName: String,
        fileSHA256: String, pickupTime: Double, traceparent: String? = nil, attributes: [String: String] = [:]
    ) {
        self.agentID = agentID
        self.region = region
        self.sourceName = sourceName
        self.fileName = fileName
        self.fileSHA256 = fileSHA256
        self.pickupTime = pickupTime
        self.traceparent = traceparent
        self.attributes = attributes
    }

    /// The CloudEvents `source`: `outpost://<agent>/<source>`.
    public var eventSource: String { "outpost://\(agentID)/\(sourceName)" }
}
