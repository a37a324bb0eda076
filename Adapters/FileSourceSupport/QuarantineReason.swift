import EventModel
/// Why a file went to a source's error directory: the content of the `<name>.reason.json`
/// written beside it (local `error_dir` or remote `remote_error_dir`).
public struct QuarantineReason: Sendable, Equatable {
    public var rejection: DocumentRejection
    /// SHA-256 of the content when it was read, else `nil`.
    public var sha256: String?
    public var size: Int64
    /// Seconds since 1970.
    public var rejectedAt: Double

    public init(rejection: DocumentRejection, sha256: String?, size: Int64, rejectedAt: Double) {
        self.rejection = rejection
        self.sha256 = sha256
        self.size = size
        self.rejectedAt = rejectedAt
    }

    /// The suffix of the reason file written beside a quarantined file.
    public static let fileSuffix = ".reason.json"

    /// `{"source":…,"file":…,"reason":…,"detail":…,"sha256":…|null,"size":…,"rejected_at":…}`
    public func json(source: String, file: String) -> [UInt8] {
        var writer = JSONWriter(capacity: 512)
        writer.raw("{")
        writer.member("source", source, comma: false)
        writer.member("file", file)
        writer.member("reason", rejection.code.rawValue)
        writer.member("detail", rejection.detail)
        if let sha256 {
            writer.member("sha256", sha256)
        } else {
            writer.raw(",\"sha256\":null")
        }
        writer.raw(",\"size\":")
        writer.raw(Array(String(size).utf8))
        writer.member("rejected_at", RFC3339.format(rejectedAt))
        writer.raw("}\n")
        return writer.bytes
    }
}
