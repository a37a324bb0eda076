/// The 200 answer to `POST /v1/events`.
public struct IngestResponse: Sendable, Equatable, Codable {
    /// Events stored now.
    public var accepted: Int
    /// Events already stored before (dropped).
    public var duplicates: Int
    /// Events refused for good (invalid); the others of the batch were processed.
    public var rejected: [RejectedEvent]

    public init(accepted: Int, duplicates: Int, rejected: [RejectedEvent]) {
        self.accepted = accepted
        self.duplicates = duplicates
        self.rejected = rejected
    }

    /// An event of the batch the hub will never store, and why.
    public struct RejectedEvent: Sendable, Equatable, Codable {
        /// The event's id, when it has one.
        public var id: String?
        public var reason: String

        public init(id: String?, reason: String) {
            self.id = id
            self.reason = reason
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(id, forKey: .id)  // null, not absent, when the event has no id
            try container.encode(reason, forKey: .reason)
        }
    }
}
