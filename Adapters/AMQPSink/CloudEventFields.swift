/// The top-level members of a stored CloudEvent JSON object, read without building a
/// Foundation object: string members decoded, other members (a JSON `data` object) kept raw.
struct CloudEventFields {
    enum Value: Equatable {
        case string(String)
        /// The member's JSON text, as stored.
        case json([UInt8])
    }

    /// Members in the order they appear.
    private(set) var members: [(name: String, value: Value)] = []

    /// Nil when `json` is not a JSON object of the shape the outbox stores.
    init?(json: [UInt8]) {
        var scanner = Scanner(bytes: json)
        guard scanner.consume(UInt8(ascii: "{")) else { return nil }
        scanner.skipSpace()
        if scanner.consume(UInt8(ascii: "}")) { return }
        while true {
            guard let name = scanner.string(), scanner.consume(UInt8(ascii: ":")) else { return nil }
            scanner.skipSpace()
            if scanner.peek == UInt8(ascii: "\"") {
                guard let value = scanner.string() else { return nil }
                members.append((name, .string(value)))
            } else {
                guard let raw = scanner.rawValue() else { return nil }
                members.append((name, .json(raw)))
            }
            if scanner.consume(UInt8(ascii: ",")) { continue }
            guard scanner.consume(UInt8(ascii: "}")) else { return nil }
            return
        }
    }

    /// The string value of member `name`.
    func string(_ name: String) -> String? {
        for member in members where member.name == name {
            if case .string(let s) = member.value { return s }
        }
        return nil
    }

    private struct Scanner {
        let bytes: [UInt8]
        var index = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func skipSpace() {
            while let b = peek, b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 { index += 1 }
        }

        mutating func consume(_ byte: UInt8) -> Bool {
            skipSpace()
            guard peek == byte else { return false }
            index += 1
            return true
        }

        /// A JSON string at the cursor, unescaped.
        mutating func string() -> String? {
            guard consume(UInt8(ascii: "\"")) else { return nil }
            var out = [UInt8]()
            var runStart = index
            while index < bytes.count {
                let b = bytes[index]
                if b == UInt8(ascii: "\"") {
                    out.append(contentsOf: bytes[runStart..<index])
                    index += 1
                    return String(decoding: out, as: UTF8.self)
                }
                if b != UInt8(ascii: "\\") {
                    index += 1
                    continue
                }
                out.append(contentsOf: bytes[runStart..<index])
                index += 1
                guard let escaped = peek else { return nil }
                index += 1
                switch escaped {
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "u"):
                    guard var scalar = hex4() else { return nil }
                    if (0xD800..<0xDC00).contains(scalar), peek == UInt8(ascii: "\\"),
                       index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "u") {
                        index += 2
                        guard let low = hex4(), (0xDC00..<0xE000).contains(low) else { return nil }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    out.append(contentsOf: Array(String(Character(Unicode.Scalar(scalar) ?? "\u{FFFD}")).utf8))
                default: out.append(escaped)
                }
                runStart = index
            }
            return nil
        }

        private mutating func hex4() -> UInt32? {
            guard index + 4 <= bytes.count else { return nil }
            var v: UInt32 = 0
            for b in bytes[index..<(index + 4)] {
                guard let digit = Character(Unicode.Scalar(b)).hexDigitValue else { return nil }
                v = v << 4 | UInt32(digit)
            }
            index += 4
            return v
        }

        /// A non-string JSON value (object, array, number, literal), as its text.
        mutating func rawValue() -> [UInt8]? {
            skipSpace()
            let start = index
            var depth = 0
            var inString = false
            while index < bytes.count {
                let b = bytes[index]
                if inString {
                    if b == UInt8(ascii: "\\") { index += 1 } else if b == UInt8(ascii: "\"") { inString = false }
                } else {
                    switch b {
                    case UInt8(ascii: "\""): inString = true
                    case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                    case UInt8(ascii: "}"), UInt8(ascii: "]"):
                        if depth == 0 { return index > start ? Array(bytes[start..<index]) : nil }
                        depth -= 1
                    case UInt8(ascii: ","):
                        if depth == 0 { return index > start ? Array(bytes[start..<index]) : nil }
                    default: break
                    }
                }
                index += 1
            }
            return nil
        }
    }
}
