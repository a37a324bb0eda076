import EventModel

/// Why a file went to the error directory: the content of its `<name>.reason.json`.
struct QuarantineReason: Equatable {
    var rejection: DocumentRejection
    /// SHA-256 of the content when it was read, else `nil`.
    var sha256: String?
    var size: Int64
    /// Seconds since 1970.
    var rejectedAt: Double

    /// `{"source":…,"file":…,"reason":…,"detail":…,"sha256":…|null,"size":…,"rejected_at":…}`
    func json(source: String, file: String) -> [UInt8] {
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
