import ContentCoding
import EventModel
import OutpostConfig

extension AgentAssembly {
    /// The codec for `hub.compression`, or nil for `none`.
    static func contentCodec(_ compression: HubSinkConfiguration.Compression) -> (any ContentCodec)? {
        switch compression {
        case .gzip: GzipCodec()
        case .zstd: ZstdCodec()
        case .none: nil
        }
    }
}
