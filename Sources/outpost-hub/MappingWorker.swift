import EventModel
import HubServer
import IDocFlat
import IDocXML
import Logging
import OutpostConfig
import ServiceLifecycle
import SpendMapping

/// Runs the hub's `MappingService` with the IDoc readers of the codecs, until shutdown.
struct MappingWorker: Service {
    let service: MappingService

    init(storage: any CanonicalStorage, settings: MappingSettings, logger: Logger) {
        service = Self.mappingService(storage: storage, settings: settings, logger: logger)
    }

    static func mappingService(storage: any CanonicalStorage, settings: MappingSettings, logger: Logger) -> MappingService {
        let layout = settings.flatLayout
        return MappingService(
            storage: storage, mapper: DocumentMapper(overrides: settings.overrides), tolerancePercent: settings.tolerancePercent,
            reader: { data, contentType in try read(data, contentType: contentType, layout: layout) }, logger: logger)
    }

    func run() async throws {
        try await cancelWhenGracefulShutdown { await service.run() }
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
