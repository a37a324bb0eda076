import EventModel

extension Hex {
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
