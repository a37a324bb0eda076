import EventModel

/// The content codings Outpost speaks, by `Content-Encoding` token.
public enum ContentCodecs {
    /// gzip and zstd: what the hub accepts.
    public static let all: [any ContentCodec] = [GzipCodec(), ZstdCodec()]

    /// The codec for a `Content-Encoding` token (case-insensitive), or nil.
    public static func named(_ name: String) -> (any ContentCodec)? {
        all.first { $0.name == name.lowercased() }
    }
}
