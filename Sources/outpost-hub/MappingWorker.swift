import EventModel
import HubServer
import IDocFlat
import IDocXML
import Logging
import OutpostConfig
import ServiceLifecycle
import SpendMapping
import Synchronization

/// Runs the hub's `MappingService` with the IDoc readers of the codecs, until shutdown.
final class MappingWorker: Service, Sendable {
    let service: MappingService
    private let layout: CurrentLayout

    /// The flat layouts documents are read with, replaced by a reload.
    private final class CurrentLayout: Sendable {
        let value: Mutex<FlatSegmentLayout>
        init(_ layout: FlatSegmentLayout) { value = Mutex(layout) }
    }

    init(storage: any CanonicalStorage, settings: MappingSettings, logger: Logger) {
        let layout = CurrentLayout(settings.flatLayout)
        self.layout = layout
        service = Self.mappingService(storage: storage, settings: settings, logger: logger) { layout.value.withLock { $0 } }
    }

    /// A service on `settings`; `layout` gives the flat layouts when a document is read.
    static func mappingService(
        storage: any CanonicalStorage, settings: MappingSettings, logger: Logger,
        layout: (@Sendable () -> FlatSegmentLayout)? = nil
    ) -> MappingService {
        let fixed = settings.flatLayout
        let current = layout ?? { fixed }
        return MappingService(
            storage: storage, mapper: DocumentMapper(overrides: settings.overrides), tolerancePercent: settings.tolerancePercent,
            reader: { data, contentType in try read(data, contentType: contentType, layout: current()) }, logger: logger)
    }

    /// Maps later events with the reloaded profiles, tolerance and flat layouts.
    func update(_ settings: MappingSettings) {
        layout.value.withLock { $0 = settings.flatLayout }
        service.update(mapper: DocumentMapper(overrides: settings.overrides), tolerancePercent: settings.tolerancePercent)
    }

    func run() async throws {
        try await cancelWhenGracefulShutdown { await self.service.run() }
    }

    /// An event's document as a segment tree: XML by the XML codec's reader, flat IDocs (the
    /// data begins with `EDI_DC40`) by character offsets.
    static func read(_ data: [UInt8], contentType: String?, layout: FlatSegmentLayout) throws -> (root: String, idoc: IDocSegment)? {
        if data.starts(with: Array("EDI_DC40".utf8)) {
            guard let idoc = FlatSegmentTree.read(data, layout: layout) else { return nil }
            let type = idoc.children.first?.field("IDOCTYP") ?? ""
            return (type, idoc)
        }
        guard contentType?.contains("xml") ?? true else { return nil }
        return try data.withUnsafeBytes { try IDocSegmentReader.read($0) }
    }
}
