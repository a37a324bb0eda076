/// A validating forward-only JSON scanner over raw bytes (RFC 8259, strict).
///
/// It never builds a document tree: callers walk the structure they care about and let the
/// scanner skip (and validate) everything else. Every failure is a `BatchDecodingError` with
/// the offending offset; nesting is bounded, numbers are checked but never converted, so no
/// input can exhaust the stack or trap.
struct JSONByteScanner {
    let bytes: UnsafeRawBufferPointer
    /// Deepest container nesting accepted (the outer array counts as 1).
    let maximumDepth: Int
    /// Offset of the next unread byte.
    var index = 0

    init(bytes: UnsafeRawBufferPointer, maximumDepth: Int) {
        self.bytes = bytes
        self.maximumDepth = maximumDepth
    }

    /// A scanned string: the bytes between its quotes (escapes still encoded).
    struct StringToken {
        var content: Range<Int>
        var hasEscapes: Bool
    }

    var isAtEnd: Bool { index >= bytes.count }

    /// The next byte, or `nil` at the end of input.
    var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

    func failure(_ problem: String, at offset: Int? = nil) -> BatchDecodingError {
        BatchDecodingError(problem, at: offset ?? index)
    }

    /// The next byte that is not whitespace (consuming the whitespace).
    mutating func peekAfterWhitespace() -> UInt8? {
        skipWhitespace()
        return peek
    }

    mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case .space, .tab, .newline, .carriageReturn: index += 1
            default: return
            }
        }
    }

    /// Consumes `byte` (after whitespace) or fails with a message naming what was expected.
    mutating func expect(_ byte: UInt8, _ what: String) throws(BatchDecodingError) {
        skipWhitespace()
        guard let next = peek else { throw failure("unexpected end of input, expected \(what)") }
        guard next == byte else { throw failure("expected \(what) but found \(Self.describe(next))") }
        index += 1
    }

    /// After a member or element: consumes `,` (returns true) or `closer` (returns false).
    mutating func continueContainer(closer: UInt8, what: String) throws(BatchDecodingError) -> Bool {
        skipWhitespace()
        guard let next = peek else { throw failure("unexpected end of input, expected ',' or \(what)") }
        index += 1
        if next == .comma { return true }
        if next == closer { return false }
        throw failure("expected ',' or \(what) but found \(Self.describe(next))", at: index - 1)
    }

    /// Compares a scanned string's raw content with an ASCII name.
    func content(_ token: StringToken, equals name: StaticString) -> Bool {
        let count = token.content.count
        guard !token.hasEscapes, count == name.utf8CodeUnitCount else { return false }
        let start = name.utf8Start
        for offset in 0..<count where bytes[token.content.lowerBound + offset] != start[offset] {
            return false
        }
        return true
    }

    /// Scans `"name" :` (after whitespace) and returns the name.
    mutating func scanMemberName() throws(BatchDecodingError) -> StringToken {
        skipWhitespace()
        guard peek == .quote else {
            throw failure(peek.map { "expected a member name but found \(Self.describe($0))" }
                ?? "unexpected end of input, expected a member name")
        }
        let name = try scanString()
        try expect(.colon, "':'")
        return name
    }

    // MARK: strings

    /// Scans a string starting at its opening quote, validating escapes and UTF-8.
    mutating func scanString() throws(BatchDecodingError) -> StringToken {
        let opening = index
        index += 1
        var hasEscapes = false
        let end = bytes.count
        while index < end {
            let byte = bytes[index]
            if byte == .quote {
                index += 1
                return StringToken(content: (opening + 1)..<(index - 1), hasEscapes: hasEscapes)
            } else if byte == .backslash {
                hasEscapes = true
                try scanEscape()
            } else if byte < 0x20 {
                throw failure("unescaped control character 0x\(String(byte, radix: 16)) in a string")
            } else if byte < 0x80 {
                index += 1
            } else {
                try scanMultibyteUTF8()
            }
        }
        throw failure("unterminated string", at: opening)
    }

    private mutating func scanEscape() throws(BatchDecodingError) {
        let escape = index
        guard index + 1 < bytes.count else { throw failure("unterminated escape sequence", at: escape) }
        switch bytes[index + 1] {
        case .quote, .backslash, .slash, .b, .f, .n, .r, .t:
            index += 2
        case .u:
            let unit = try hexUnit(at: index + 2, escape: escape)
            index += 6
            if (0xDC00...0xDFFF).contains(unit) {
                throw failure("unpaired low surrogate \\u\(String(unit, radix: 16)) in a string", at: escape)
            }
            if (0xD800...0xDBFF).contains(unit) {
                guard index + 1 < bytes.count, bytes[index] == .backslash, bytes[index + 1] == .u,
                      (0xDC00...0xDFFF).contains(try hexUnit(at: index + 2, escape: index))
                else {
                    throw failure("high surrogate \\u\(String(unit, radix: 16)) is not followed by a low surrogate", at: escape)
                }
                index += 6
            }
        default:
            throw failure("invalid escape sequence \\\(Self.printable(bytes[index + 1])) in a string", at: escape)
        }
    }

    private func hexUnit(at start: Int, escape: Int) throws(BatchDecodingError) -> UInt16 {
        guard start + 4 <= bytes.count else { throw failure("truncated \\u escape", at: escape) }
        var unit: UInt16 = 0
        for offset in start..<(start + 4) {
            guard let digit = Self.hexValue(bytes[offset]) else {
                throw failure("\\u escape needs four hex digits", at: escape)
            }
            unit = unit << 4 | UInt16(digit)
        }
        return unit
    }

    /// Validates one multi-byte UTF-8 sequence (RFC 3629: no overlongs, no surrogates, ≤ U+10FFFF).
    private mutating func scanMultibyteUTF8() throws(BatchDecodingError) {
        let lead = bytes[index]
        let length: Int
        var secondRange: ClosedRange<UInt8> = 0x80...0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; secondRange = 0xA0...0xBF
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; secondRange = 0x80...0x9F
        case 0xF0: length = 4; secondRange = 0x90...0xBF
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; secondRange = 0x80...0x8F
        default: throw failure("invalid UTF-8 byte 0x\(String(lead, radix: 16)) in a string")
        }
        guard index + length <= bytes.count else { throw failure("truncated UTF-8 sequence in a string") }
        guard secondRange.contains(bytes[index + 1]) else { throw failure("invalid UTF-8 sequence in a string") }
        for offset in 2..<length where !(0x80...0xBF).contains(bytes[index + offset]) {
            throw failure("invalid UTF-8 sequence in a string")
        }
        index += length
    }

    /// The string's value with escapes resolved (the token was validated by `scanString`).
    func decode(_ token: StringToken) -> String {
        let raw = UnsafeRawBufferPointer(rebasing: bytes[token.content])
        guard token.hasEscapes else { return String(decoding: raw, as: UTF8.self) }
        var utf8: [UInt8] = []
        utf8.reserveCapacity(raw.count)
        Self.unescape(raw) { utf8.append(contentsOf: $0) }
        return String(decoding: utf8, as: UTF8.self)
    }

    /// Hands the UTF-8 bytes of a validated string's content (between its quotes) with escapes
    /// resolved to `sink`, in pieces: runs without escapes as they are, each escape decoded.
    static func unescape(_ raw: UnsafeRawBufferPointer, into sink: (UnsafeRawBufferPointer) -> Void) {
        func unit(at offset: Int) -> UInt32 {
            var value: UInt32 = 0
            for byte in raw[offset..<(offset + 4)] { value = value << 4 | UInt32(hexValue(byte) ?? 0) }
            return value
        }
        func emit(_ bytes: some Collection<UInt8>) {
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 4) { buffer in
                var count = 0
                for byte in bytes {
                    buffer[count] = byte
                    count += 1
                }
                sink(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer)[0..<count]))
            }
        }
        var position = 0
        var runStart = 0
        while position < raw.count {
            guard raw[position] == .backslash else {
                position += 1
                continue
            }
            if runStart < position { sink(UnsafeRawBufferPointer(rebasing: raw[runStart..<position])) }
            let escaped = raw[position + 1]
            position += 2
            switch escaped {
            case .b: emit(CollectionOfOne(0x08))
            case .f: emit(CollectionOfOne(0x0C))
            case .n: emit(CollectionOfOne(.newline))
            case .r: emit(CollectionOfOne(.carriageReturn))
            case .t: emit(CollectionOfOne(.tab))
            case .u:
                var scalar = unit(at: position)
                position += 4
                if (0xD800...0xDBFF).contains(scalar) {
                    let low = unit(at: position + 2)
                    position += 6
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                }
                emit(Array(String(Unicode.Scalar(scalar) ?? "\u{FFFD}").utf8))
            default: emit(CollectionOfOne(escaped))  // \" \\ \/
            }
            runStart = position
        }
        if runStart < raw.count { sink(UnsafeRawBufferPointer(rebasing: raw[runStart..<raw.count])) }
    }

    // MARK: other values

    /// Skips one value of any kind (validating it); `depth` is the nesting of its container.
    mutating func skipValue(depth: Int) throws(BatchDecodingError) {
        skipWhitespace()
        guard let next = peek else { throw failure("unexpected end of input, expected a value") }
        if next == .openBrace || next == .openBracket {
            try skipContainer(depth: depth)
        } else {
            try skipScalar()
        }
    }

    private mutating func skipScalar() throws(BatchDecodingError) {
        guard let next = peek else { throw failure("unexpected end of input, expected a value") }
        switch next {
        case .quote: _ = try scanString()
        case .minus, .zero ... .nine: try scanNumber()
        case .t: try scanLiteral("true")
        case .f: try scanLiteral("false")
        case .n: try scanLiteral("null")
        default: throw failure("expected a value but found \(Self.describe(next))")
        }
    }

    /// Consumes `null` if it is next (after whitespace).
    mutating func skipNull() throws(BatchDecodingError) -> Bool {
        skipWhitespace()
        guard peek == .n else { return false }
        try scanLiteral("null")
        return true
    }

    private mutating func scanLiteral(_ literal: StaticString) throws(BatchDecodingError) {
        let count = literal.utf8CodeUnitCount
        let start = literal.utf8Start
        guard index + count <= bytes.count,
              (0..<count).allSatisfy({ bytes[index + $0] == start[$0] })
        else { throw failure("invalid literal, expected \(literal)") }
        index += count
    }

    /// Validates `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?` without converting it.
    private mutating func scanNumber() throws(BatchDecodingError) {
        let start = index
        if peek == .minus { index += 1 }
        guard let first = peek, Self.isDigit(first) else { throw failure("invalid number", at: start) }
        index += 1
        if first != .zero { skipDigits() }
        if peek == .period {
            index += 1
            guard let digit = peek, Self.isDigit(digit) else { throw failure("invalid number: digits must follow '.'", at: start) }
            skipDigits()
        }
        if peek == .e || peek == .E {
            index += 1
            if peek == .plus || peek == .minus { index += 1 }
            guard let digit = peek, Self.isDigit(digit) else { throw failure("invalid number: digits must follow the exponent", at: start) }
            skipDigits()
        }
    }

    private mutating func skipDigits() {
        while let byte = peek, Self.isDigit(byte) { index += 1 }
    }

    /// Skips an object or array starting at its opening bracket, iteratively and depth-bounded.
    private mutating func skipContainer(depth: Int) throws(BatchDecodingError) {
        var open: [UInt8] = []
        var justOpened = true
        func push(_ bracket: UInt8) throws(BatchDecodingError) {
            guard depth + open.count + 1 <= maximumDepth else {
                throw failure("JSON nesting deeper than \(maximumDepth) levels")
            }
            open.append(bracket)
            index += 1
        }
        try push(bytes[index])
        while let innermost = open.last {
            let closer: UInt8 = innermost == .openBrace ? .closeBrace : .closeBracket
            skipWhitespace()
            guard let next = peek else { throw failure("unexpected end of input inside a JSON container") }
            if justOpened {
                justOpened = false
                if next == closer {
                    index += 1
                    open.removeLast()
                    continue
                }
            } else {
                guard try continueContainer(closer: closer, what: closer == .closeBrace ? "'}'" : "']'") else {
                    open.removeLast()
                    continue
                }
            }
            if innermost == .openBrace { _ = try scanMemberName() }
            skipWhitespace()
            if let value = peek, value == .openBrace || value == .openBracket {
                try push(value)
                justOpened = true
            } else {
                try skipScalar()
            }
        }
    }

    // MARK: byte classes

    static func isDigit(_ byte: UInt8) -> Bool { byte >= .zero && byte <= .nine }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case .zero ... .nine: byte - .zero
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    static func printable(_ byte: UInt8) -> String {
        (0x21...0x7E).contains(byte) ? String(UnicodeScalar(byte)) : "0x" + String(byte, radix: 16)
    }

    static func describe(_ byte: UInt8) -> String {
        (0x21...0x7E).contains(byte) ? "'\(String(UnicodeScalar(byte)))'" : "byte 0x\(String(byte, radix: 16))"
    }
}

extension UInt8 {
    static let space = UInt8(ascii: " ")
    static let tab = UInt8(ascii: "\t")
    static let newline = UInt8(ascii: "\n")
    static let carriageReturn = UInt8(ascii: "\r")
    static let quote = UInt8(ascii: "\"")
    static let backslash = UInt8(ascii: "\\")
    static let slash = UInt8(ascii: "/")
    static let comma = UInt8(ascii: ",")
    static let colon = UInt8(ascii: ":")
    static let minus = UInt8(ascii: "-")
    static let plus = UInt8(ascii: "+")
    static let period = UInt8(ascii: ".")
    static let zero = UInt8(ascii: "0")
    static let nine = UInt8(ascii: "9")
    static let openBrace = UInt8(ascii: "{")
    static let closeBrace = UInt8(ascii: "}")
    static let openBracket = UInt8(ascii: "[")
    static let closeBracket = UInt8(ascii: "]")
    static let b = UInt8(ascii: "b")
    static let e = UInt8(ascii: "e")
    static let E = UInt8(ascii: "E")
    static let f = UInt8(ascii: "f")
    static let n = UInt8(ascii: "n")
    static let r = UInt8(ascii: "r")
    static let t = UInt8(ascii: "t")
    static let u = UInt8(ascii: "u")
}
