import Foundation
import SpendMapping

/// Where the hub keeps the canonical model it derives from stored events (docs/MAPPING.md):
/// every mapped version of a document, the spend lines of each document's latest version, the
/// spend aggregate, the three-way-match exceptions and the mapping failures. Both storages
/// implement it with the same semantics, checked by one set of tests run against each:
/// - the model is a projection of the event log: `MappingService` reads stored events in
///   arrival order and applies each page with `applyMapping`, which moves the mapping position
///   in the same transaction, so every event is mapped exactly once whatever crashes;
/// - several replicas may map at once: a page is applied only if the position is still where
///   the page began, else it is refused and read again;
/// - `resetMapping` forgets what was mapped from events after a time, so that they are mapped
///   again with the profiles in force (`outpost-hub remap`).
public protocol CanonicalStorage: Sendable {
    /// The arrival position after the last mapped event, or `nil` before the first.
    func mappingPosition() async throws -> EventCursor?

    /// Stored events after `after`, oldest first: at most `limit`, and no more than the first
    /// whose JSON brings the page to `maxBytes` (at least one).
    func eventsToMap(after: EventCursor?, limit: Int, maxBytes: Int) async throws -> [StoredEvent]

    /// Applies a page of mapped events and moves the position to `page.to`, atomically;
    /// `false` (and nothing written) when the position is no longer `page.from`.
    func applyMapping(_ page: MappedPage, tolerancePercent: ExactDecimal) async throws -> Bool

    /// Forgets what was mapped from events that arrived at or after `since` (everything when
    /// `nil`) and moves the position back before them; returns how many versions were dropped.
    func resetMapping(since: Date?, tolerancePercent: ExactDecimal) async throws -> Int

    /// Spend totals per group and currency.
    func spend(_ query: SpendQuery) async throws -> [SpendTotal]

    /// The current spend lines counted against a purchase order (its own, its receipts', its
    /// invoices').
    func lines(forPurchaseOrder number: String) async throws -> [SpendLine]

    /// Open three-way-match exceptions, oldest purchase order first.
    func exceptions(_ query: ExceptionQuery) async throws -> [MatchException]

    /// Every version of the documents of this kind and number, and of the documents that refer
    /// to them (for a purchase order: its changes, receipts and invoices), in arrival order.
    func trail(kind: CanonicalDocument.Kind, number: String) async throws -> [DocumentVersion]

    /// Recorded mapping failures, oldest first, after `after`.
    func mappingFailures(after: EventCursor?, limit: Int) async throws -> [MappingFailure]

    /// Counts for `/v1/stats` and the dashboard.
    func mappingStatistics() async throws -> MappingStatistics
}

/// A stored event as the mapper reads it.
public struct StoredEvent: Sendable {
    public var position: EventCursor
    public var id: String
    public var type: String
    public var region: String
    public var agentID: String
    public var receivedAt: Double
    public var json: Data

    public init(position: EventCursor, id: String, type: String, region: String, agentID: String, receivedAt: Double, json: Data) {
        self.position = position
        self.id = id
        self.type = type
        self.region = region
        self.agentID = agentID
        self.receivedAt = receivedAt
        self.json = json
    }
}

/// A page of events and what mapping each gave.
public struct MappedPage: Sendable {
    public struct Entry: Sendable {
        public var event: StoredEvent
        public var outcome: MappingOutcome

        public init(event: StoredEvent, outcome: MappingOutcome) {
            self.event = event
            self.outcome = outcome
        }
    }

    /// The position the page was read after.
    public var from: EventCursor?
    /// The position of its last event.
    public var to: EventCursor
    public var entries: [Entry]

    public init(from: EventCursor?, to: EventCursor, entries: [Entry]) {
        self.from = from
        self.to = to
        self.entries = entries
    }

    /// The mapped documents with their positions, in arrival order.
    var documents: [(document: CanonicalDocument, event: StoredEvent)] {
        entries.compactMap { entry in
            if case .mapped(let document) = entry.outcome { return (document, entry.event) }
            return nil
        }
    }
}

/// One version of a canonical document, as the trail lists it.
public struct DocumentVersion: Sendable, Encodable {
    public var eventID: String
    public var documentKey: String
    public var kind: String
    public var number: String
    public var region: String
    public var agent: String
    public var receivedAt: String
    /// Whether this is the document's latest version.
    public var current: Bool
    public var document: CanonicalDocument

    enum CodingKeys: String, CodingKey {
        case eventID = "event_id", documentKey = "document_key", kind, number, region, agent
        case receivedAt = "received_at", current, document
    }
}

/// An event a profile takes but could not map.
public struct MappingFailure: Sendable, Encodable, Equatable {
    public var eventID: String
    public var position: String
    public var region: String
    public var agent: String
    public var type: String
    public var profile: String
    public var receivedAt: String
    public var problems: [MappingProblem]

    enum CodingKeys: String, CodingKey {
        case eventID = "event_id", position, region, agent, type, profile, receivedAt = "received_at", problems
    }
}

/// Mapping counts for `/v1/stats` and the dashboard.
public struct MappingStatistics: Sendable, Codable, Equatable {
    public struct Count: Sendable, Codable, Equatable {
        public var region: String
        public var type: String
        public var count: Int
    }

    /// Canonical document versions per kind.
    public var documents: [String: Int] = [:]
    /// Failed mappings by region and event type.
    public var failures: [Count] = []
    /// Open exceptions by region and exception kind.
    public var exceptions: [Count] = []
    /// The arrival position mapping has reached.
    public var position: String?

    public init() {}

    enum CodingKeys: String, CodingKey {
        case documents, failures = "failed_mappings", exceptions, position
    }
}

/// Reads the storage's mapping rows back into documents (the stored JSON of a version).
enum CanonicalJSON {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    static func encode(_ document: CanonicalDocument) throws -> Data { try encoder.encode(document) }

    static func decode(_ data: Data) throws -> CanonicalDocument { try JSONDecoder().decode(CanonicalDocument.self, from: data) }

    static func problems(_ problems: [MappingProblem]) -> Data { (try? encoder.encode(problems)) ?? Data("[]".utf8) }
}
