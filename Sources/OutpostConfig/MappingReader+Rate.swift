/// Transfer rates: a size per second, as in `min_body_rate: 1KiB/s`.
extension MappingReader {
    /// A rate such as `1KiB/s`, in bytes per second, at least `minimum`.
    func rate(_ key: String, minimum: Int64) -> Int64? {
        guard let text = string(key) else { return nil }
        let fix = "write a size per second, e.g. 1KiB/s"
        guard text.hasSuffix("/s") else {
            report(key, "'\(text)' is not a rate", fix: fix)
            return nil
        }
        do {
            let bytes = try Units.parseSize(String(text.dropLast(2)))
            guard bytes >= minimum else {
                report(key, "'\(text)' is too small", fix: "use at least \(minimum) B/s")
                return nil
            }
            return bytes
        } catch {
            report(key, error.message, fix: fix)
            return nil
        }
    }
}
