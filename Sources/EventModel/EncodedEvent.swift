/// An event ready for the outbox: the CloudEvent as JSON bytes plus the columns the outbox
/// indexes. The JSON object carries every attribute except `sequence`, which the outbox
/// assigns and the sink splices in when it sends (see ``CloudEventBatch``).
public struct EncodedEvent: Sendable, Equatable {
    public var id: String
    public var type: String
    public var subject: String
    public var partitionKey: String
    /// The CloudEvent JSON object (`{…}`), UTF-8, without `sequence`.
    public var json: [UInt8]
    /// Position of the document in its input (0 for events that are not documents).
    public var ordinal: Int
    /// The document's IDoc number, when it has one (for logs).
    public var docnum: String

    public init(
        id: String, type: String, subject: String, partitionKey: String, json: [UInt8], ordinal: Int = 0,
        docnum: String = ""
    ) {
        self.ordinal = ordinal
        self.docnum = docnum
        self.id = id
        self.type = type
        self.subject = subject
        self.partitionKey = partitionKey
        self.json = json
    }
}
