/// One event of a batch as the hub needs it: the attributes it indexes and checks, and where
/// the event's JSON object lies in the request body (stored as received, never re-encoded).
public struct DecodedCloudEvent: Sendable, Equatable {
    /// Position of the event within the batch (0-based).
    public var index: Int
    /// The exact bytes of the event's JSON object within the decoded body.
    public var byteRange: Range<Int>

    public var specversion: String?
    public var id: String?
    public var source: String?
    public var type: String?
    public var subject: String?
    public var time: String?
    public var datacontenttype: String?
    public var sequence: String?
    public var agentid: String?
    public var region: String?

    /// `data.reason`, `data.detail` and `data.filename` when `data` is a JSON object
    /// (as in `outpost.document.rejected` events).
    public var dataReason: String?
    public var dataDetail: String?
    public var dataFilename: String?

    /// Where the event's document lies in the body: the value of `data` or `data_base64`, or
    /// `nil` when the event has neither. Its digest tells a re-sent document from another one
    /// under the same id.
    public var data: DataLocation?

    /// Attribute problems found while decoding (an attribute given twice, or not as a string);
    /// such an event is rejected.
    public var attributeProblems: [String] = []

    public init(index: Int, byteRange: Range<Int>) {
        self.index = index
        self.byteRange = byteRange
    }

    /// Why this event cannot be stored, or `nil` when it satisfies CloudEvents 1.0's
    /// required attributes.
    public var validationProblem: String? {
        if let first = attributeProblems.first { return first }
        guard specversion == "1.0" else {
            return specversion.map { "specversion is \"\($0)\"; only \"1.0\" is supported" }
                ?? "specversion is missing; it must be \"1.0\""
        }
        guard let id, !id.isEmpty else { return "id is missing or empty" }
        guard let source, !source.isEmpty else { return "source is missing or empty" }
        guard let type, !type.isEmpty else { return "type is missing or empty" }
        return nil
    }
}

/// Where an event's `data` (or `data_base64`) value lies within the decoded body.
public enum DataLocation: Sendable, Equatable {
    /// A JSON string: the bytes between its quotes, escapes still encoded.
    case string(content: Range<Int>, hasEscapes: Bool, base64: Bool)
    /// Any other JSON value (object, array, number, literal): its exact bytes.
    case json(Range<Int>)
}
