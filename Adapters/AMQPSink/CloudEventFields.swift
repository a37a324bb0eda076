/// The top-level members of a stored CloudEvent JSON object, read without building a
/// Foundation object. The object's shape (and every escape in it) is checked once; a value is
/// decoded only when asked for, so a message that needs two attributes for its routing key
/// does not unescape a document of kilobytes it sends as stored.
struct CloudEventFields {
    private let bytes: [UInt8]
    /// Each member's name and where its value is: the text between the quotes of a string,
    /// else the raw JSON text.
    private let spans: [Span]
    private typealias Span = (name: String, value: Range<Int>, isString: Bool)

    /// Nil when `json` is not a JSON object of the shape the outbox stores.
    init?(json: [UInt8]) {
        guard let spans = json.withUnsafeBufferPointer({ Self.members(of: $0) }) else { return nil }
        self.bytes = json
        self.spans = spans
    }

    private static func members(of json: UnsafeBufferPointer<UInt8>) -> [Span]? {
        var spans: [Span] = []
        var scanner = Scanner(bytes: json)
        guard scanner.consume(UInt8(ascii: "{")) else { return nil }
        scanner.skipSpace()
        if scanner.consume(UInt8(ascii: "}")) { return spans }
        while true {
            guard let nameSpan = scanner.stringSpan(), scanner.consume(UInt8(ascii: ":")) else { return nil }
            let name = String(decoding: Scanner.unescape(json, nameSpan), as: UTF8.self)
            scanner.skipSpace()
            if scanner.peek == UInt8(ascii: "\"") {
                guard let value = scanner.stringSpan() else { return nil }
                spans.append((name, value, true))
            } else {
                guard let value = scanner.rawSpan() else { return nil }
                spans.append((name, value, false))
            }
            if scanner.consume(UInt8(ascii: ",")) { continue }
            guard scanner.consume(UInt8(ascii: "}")) else { return nil }
            return spans
        }
    }

    /// How many members the object has.
    var count: Int { spans.count }

    /// The name of member `index` (in the order members appear).
    func name(at index: Int) -> String { spans[index].name }

    /// Whether member `index` is a string (else an object, array, number or literal).
    func isString(at index: Int) -> Bool { spans[index].isString }

    /// The value of member `index` if it is a string.
    func string(at index: Int) -> String? {
        isString(at: index) ? String(decoding: bytes(at: index), as: UTF8.self) : nil
    }

    /// The value of member `index` as bytes: a string unescaped, anything else as its JSON text.
    func bytes(at index: Int) -> [UInt8] {
        let span = spans[index]
        guard span.isString else { return Array(bytes[span.value]) }
        return bytes.withUnsafeBufferPointer { Scanner.unescape($0, span.value) }
    }

    /// The string value of member `name`.
    func string(_ name: String) -> String? {
        guard let index = spans.firstIndex(where: { $0.name == name }) else { return nil }
        return string(at: index)
    }

    /// Reads the stored bytes in place (no reference counting per byte).
    private struct Scanner {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

        init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

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

        /// The text between the quotes of the JSON string at the cursor, its escapes checked.
        mutating func stringSpan() -> Range<Int>? {
            guard consume(UInt8(ascii: "\"")) else { return nil }
            let start = index
            while index < bytes.count {
                let b = bytes[index]
                if b == UInt8(ascii: "\"") {
                    defer { index += 1 }
                    return start..<index
                }
                index += 1
                guard b == UInt8(ascii: "\\") else { continue }
                guard let escaped = peek else { return nil }
                index += 1
                switch escaped {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                     UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    continue
                case UInt8(ascii: "u"):
                    guard hex4() != nil else { return nil }
                default:
                    return nil
                }
            }
            return nil
        }

        /// The UTF-8 of the string whose checked text (between the quotes) is `span`.
        static func unescape(_ bytes: UnsafeBufferPointer<UInt8>, _ span: Range<Int>) -> [UInt8] {
            guard bytes[span].contains(UInt8(ascii: "\\")) else { return Array(bytes[span]) }
            var scanner = Scanner(bytes: bytes)
            scanner.index = span.lowerBound
            var out = [UInt8]()
            out.reserveCapacity(span.count)
            var runStart = span.lowerBound
            while scanner.index < span.upperBound {
                guard bytes[scanner.index] == UInt8(ascii: "\\") else {
                    scanner.index += 1
                    continue
                }
                out.append(contentsOf: bytes[runStart..<scanner.index])
                let escaped = bytes[scanner.index + 1]
                scanner.index += 2
                switch escaped {
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "u"):
                    var scalar = scanner.hex4() ?? 0xFFFD
                    if (0xD800..<0xDC00).contains(scalar), scanner.index + 1 < span.upperBound,
                       bytes[scanner.index] == UInt8(ascii: "\\"), bytes[scanner.index + 1] == UInt8(ascii: "u") {
                        let mark = scanner.index
                        scanner.index += 2
                        if let low = scanner.hex4(), (0xDC00..<0xE000).contains(low) {
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        } else {
                            scanner.index = mark
                        }
                    }
                    out.append(contentsOf: String(Character(Unicode.Scalar(scalar) ?? "\u{FFFD}")).utf8)
                default: out.append(escaped)
                }
                runStart = scanner.index
            }
            out.append(contentsOf: bytes[runStart..<span.upperBound])
            return out
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

        /// Where the non-string JSON value (object, array, number, literal) at the cursor is.
        mutating func rawSpan() -> Range<Int>? {
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
                        if depth == 0 { return index > start ? start..<index : nil }
                        depth -= 1
                    case UInt8(ascii: ","):
                        if depth == 0 { return index > start ? start..<index : nil }
                    default: break
                    }
                }
                index += 1
            }
            return nil
        }
    }
}
