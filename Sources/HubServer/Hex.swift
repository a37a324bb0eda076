/// Lowercase hex text of digests (tokens, documents), and its parsing.
enum Hex {
    /// `bytes` as lowercase hex digits.
    static func encode(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(2 * bytes.count)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// The bytes of exactly `2 * count` hex digits (either case); `nil` for anything else.
    static func decode(_ hex: String, count: Int) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count == 2 * count else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        for pair in stride(from: 0, to: digits.count, by: 2) {
            guard let high = JSONByteScanner.hexValue(digits[pair]), let low = JSONByteScanner.hexValue(digits[pair + 1])
            else { return nil }
            bytes.append(high << 4 | low)
        }
        return bytes
    }
}
