/// Sizes and durations as operators write them in the configuration (`256MiB`, `500ms`, `24h`).
///
/// Sizes are binary (`1KiB` = 1024 bytes); a plain integer is a byte count. Decimal units
/// (`KB`, `MB`, …) are refused rather than guessed, so `4MB` never silently means 4,000,000 or
/// 4,194,304. Durations always need a unit: a bare `2` could be seconds or milliseconds.
public enum Units {
    /// Why a size or duration did not parse: what is wrong, and how to write it instead.
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        /// e.g. `'2 seconds' is not a duration`
        public let message: String
        /// e.g. `use a number with ms, s, m, h or d (e.g. 2s)`
        public let fix: String

        /// `message; fix`
        public var description: String { "\(message); \(fix)" }
    }

    /// Accepted size units and their byte multipliers.
    public static let sizeUnits: [(unit: String, bytes: Int64)] = [
        ("B", 1), ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("TiB", 1 << 40),
    ]

    /// Accepted duration units and their length in seconds.
    public static let durationUnits: [(unit: String, seconds: Double)] = [
        ("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400),
    ]

    /// Parses `256MiB`, `1.5GiB`, `512 KiB` or a plain byte count (`1048576`) into bytes.
    public static func parseSize(_ text: String) throws(ParseError) -> Int64 {
        let fix = "use a whole number of bytes or a number with B, KiB, MiB, GiB or TiB (e.g. 256MiB)"
        guard let (number, unit) = splitNumber(text) else {
            throw ParseError(message: "'\(text)' is not a size", fix: fix)
        }
        if unit.isEmpty {
            guard let bytes = Int64(number) else {
                throw ParseError(message: "'\(text)' is not a whole number of bytes", fix: fix)
            }
            return bytes
        }
        guard let multiplier = sizeUnits.first(where: { $0.unit == unit })?.bytes else {
            if let binary = binaryUnit(forDecimal: unit) {
                throw ParseError(
                    message: "'\(text)' uses the decimal unit \(unit), which is not accepted",
                    fix: "write \(number)\(binary) (sizes are binary: 1\(binary) = \(binaryExample(binary)))")
            }
            throw ParseError(message: "'\(text)' is not a size", fix: fix)
        }
        let bytes = (Double(number) ?? .nan) * Double(multiplier)
        guard bytes.isFinite, bytes < 0x1p63 else {
            throw ParseError(message: "'\(text)' is too large", fix: "use a size below 8388608TiB")
        }
        guard bytes == bytes.rounded(.towardZero) else {
            throw ParseError(message: "'\(text)' is not a whole number of bytes", fix: fix)
        }
        return Int64(bytes)
    }

    /// Parses `500ms`, `2s`, `1.5s`, `5m`, `24h` or `7d` into seconds.
    public static func parseDuration(_ text: String) throws(ParseError) -> Double {
        let fix = "use a number with ms, s, m, h or d (e.g. 2s)"
        guard let (number, unit) = splitNumber(text) else {
            throw ParseError(message: "'\(text)' is not a duration", fix: fix)
        }
        if unit.isEmpty {
            throw ParseError(message: "'\(text)' has no unit", fix: "add one of ms, s, m, h or d (e.g. \(number)s)")
        }
        guard let seconds = durationUnits.first(where: { $0.unit == unit })?.seconds,
            let value = Double(number)
        else {
            throw ParseError(message: "'\(text)' is not a duration", fix: fix)
        }
        return value * seconds
    }

    /// Splits `12.5 MiB` into (`12.5`, `MiB`). Nil unless the text starts with an unsigned
    /// decimal number; the unit is whatever follows, with blanks around it removed.
    private static func splitNumber(_ text: String) -> (number: Substring, unit: Substring)? {
        let trimmed = text.drop(while: { $0 == " " })
        let isDigit = { (character: Character) in character.isASCII && character.isNumber }
        let integerPart = trimmed.prefix(while: isDigit)
        guard !integerPart.isEmpty else { return nil }
        var end = integerPart.endIndex
        if end < trimmed.endIndex, trimmed[end] == "." {
            let fraction = trimmed[trimmed.index(after: end)...].prefix(while: isDigit)
            guard !fraction.isEmpty else { return nil }
            end = fraction.endIndex
        }
        var unit = trimmed[end...].drop(while: { $0 == " " })
        while unit.last == " " { unit = unit.dropLast() }
        return (trimmed[..<end], unit)
    }

    private static func binaryUnit(forDecimal unit: Substring) -> String? {
        switch unit.uppercased() {
        case "K", "KB": "KiB"
        case "M", "MB": "MiB"
        case "G", "GB": "GiB"
        case "T", "TB": "TiB"
        default: nil
        }
    }

    private static func binaryExample(_ unit: String) -> String {
        let bytes = sizeUnits.first(where: { $0.unit == unit })?.bytes ?? 0
        return "\(bytes) bytes"
    }
}
