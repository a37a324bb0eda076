import Foundation
import EventModel
import Logging
import SpendMapping
import Synchronization

/// Maps stored events to canonical documents in the background (docs/MAPPING.md): reads the
/// events after the mapping position a page at a time, maps each IDoc with the profile that
/// takes it and applies the page (`CanonicalStorage.applyMapping`). Ingest never waits for it:
/// a document is stored and acknowledged first, and mapped a moment later.
public final class MappingService: Sendable {
    /// Reads an event's document into its root name and `IDOC` segment: `data` is the
    /// document's bytes, `contentType` the event's `datacontenttype`. `nil` when it is not an
    /// IDoc; throws when it is one but cannot be read.
    public typealias DocumentReader = @Sendable (_ data: [UInt8], _ contentType: String?) throws -> (root: String, idoc: IDocSegment)?

    private let storage: any CanonicalStorage
    /// The profiles and tolerance, which a configuration reload replaces.
    private let rules: Mutex<(mapper: DocumentMapper, tolerancePercent: ExactDecimal)>
    private let read: DocumentReader
    private let pageSize: Int
    /// Most bytes of stored JSON one page reads (a page holds at least one event).
    private let pageBytes = 32 << 20
    /// Larger documents are recorded as failed mappings rather than read into memory whole.
    static let largestMappedDocument = 16 << 20
    private let idleWait: Duration
    private let logger: Logger

    public init(
        storage: any CanonicalStorage, mapper: DocumentMapper, tolerancePercent: ExactDecimal, reader: @escaping DocumentReader,
        pageSize: Int = 500, idleWait: Duration = .milliseconds(200), logger: Logger
    ) {
        self.storage = storage
        rules = Mutex((mapper, tolerancePercent))
        self.read = reader
        self.pageSize = pageSize
        self.idleWait = idleWait
        self.logger = logger
    }

    /// Maps later events with these profiles and tolerance (what was mapped stays until
    /// `outpost-hub remap`).
    public func update(mapper: DocumentMapper, tolerancePercent: ExactDecimal) {
        rules.withLock { $0 = (mapper, tolerancePercent) }
    }

    /// While agents' batches arrive, mapping runs at most this share of the time (it waits
    /// after each page for the rest), so that a burst is stored at full speed and mapped after.
    static let shareWhileIngesting = 0.2

    /// Maps until the task is cancelled; a storage failure is logged and retried.
    public func run() async {
        let clock = ContinuousClock()
        while !Task.isCancelled {
            do {
                let started = clock.now
                let mapped = try await mapNextPage()
                if mapped.events == 0 {
                    try await Task.sleep(for: idleWait)
                } else if IngestActivity.shared.isBusy() {
                    let spent = started.duration(to: clock.now)
                    try await Task.sleep(for: spent * ((1 - Self.shareWhileIngesting) / Self.shareWhileIngesting))
                }
            } catch is CancellationError {
                return
            } catch {
                logger.error("hub.mapping.failed", metadata: ["hub.error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// What one page or a whole catch-up did.
    public struct Progress: Sendable, Equatable {
        public var events = 0
        public var mapped = 0
        public var failed = 0

        public init() {}
    }

    /// Maps every stored event after the position (for `outpost-hub remap` and tests).
    public func catchUp() async throws -> Progress {
        var total = Progress()
        while true {
            let page = try await mapNextPage()
            if page.events == 0 { return total }
            total.events += page.events
            total.mapped += page.mapped
            total.failed += page.failed
        }
    }

    /// Maps and applies the next page; `events` 0 when mapping has caught up. A page another
    /// replica applied first is dropped and read again from the new position.
    public func mapNextPage() async throws -> Progress {
        let from = try await storage.mappingPosition()
        // Smaller pages while agents send: the SQLite writer is held for less at a time.
        let limit = IngestActivity.shared.isBusy() ? min(100, pageSize) : pageSize
        let events = try await storage.eventsToMap(after: from, limit: limit, maxBytes: pageBytes)
        guard let last = events.last else { return Progress() }
        var progress = Progress()
        progress.events = events.count
        let (mapper, tolerancePercent) = rules.withLock { $0 }
        let entries = events.map { event -> MappedPage.Entry in
            let outcome = map(event, with: mapper)
            switch outcome {
            case .mapped: progress.mapped += 1
            case .failed: progress.failed += 1
            case .unmapped: break
            }
            return MappedPage.Entry(event: event, outcome: outcome)
        }
        let page = MappedPage(from: from, to: last.position, entries: entries)
        guard try await storage.applyMapping(page, tolerancePercent: tolerancePercent) else { return try await mapNextPage() }
        return progress
    }

    /// Maps one stored event: only IDoc events (`sap.idoc.*`) are read.
    func map(_ event: StoredEvent, with mapper: DocumentMapper) -> MappingOutcome {
        guard event.type.hasPrefix("sap.idoc.") else { return .unmapped }
        let facts = DocumentMapper.EventFacts(eventID: event.id, region: event.region, agent: event.agentID)
        do {
            guard let (contentType, data) = try StoredEventDocument.document(of: event.json) else { return .unmapped }
            guard data.count <= Self.largestMappedDocument else {
                return .failed(profile: "", problems: [MappingProblem(
                    field: "data", reason: "the document is \(data.count) bytes, more than the \(Self.largestMappedDocument) mapping reads")])
            }
            guard let (root, idoc) = try read(data, contentType) else { return .unmapped }
            return mapper.map(idoc, root: root, event: facts)
        } catch {
            // A document the agent accepted but the hub cannot read: recorded, never fatal.
            return .failed(profile: "", problems: [MappingProblem(field: "data", reason: "\(error)")])
        }
    }
}

/// The document inside a stored event's JSON: its `data` (unescaped, or decoded from
/// `data_base64`) and `datacontenttype`.
enum StoredEventDocument {
    static func document(of json: Data) throws -> (contentType: String?, data: [UInt8])? {
        var body = [UInt8]()
        body.reserveCapacity(json.count + 2)
        body.append(UInt8(ascii: "["))
        body.append(contentsOf: json)
        body.append(UInt8(ascii: "]"))
        let decoded = try CloudEventBatchDecoder().decode(body)
        guard let event = decoded.first, let location = event.data else { return nil }
        guard case .string(let content, let hasEscapes, let base64) = location else { return nil }
        var text = [UInt8]()
        body.withUnsafeBytes { bytes in
            let raw = UnsafeRawBufferPointer(rebasing: bytes[content])
            if hasEscapes {
                JSONByteScanner.unescape(raw) { text.append(contentsOf: $0) }
            } else {
                text.append(contentsOf: raw)
            }
        }
        if base64 {
            guard let data = Data(base64Encoded: Data(text)) else {
                throw HubStorageError.unavailable("data_base64 of the stored event is not base64")
            }
            return (event.datacontenttype, Array(data))
        }
        return (event.datacontenttype, text)
    }
}
