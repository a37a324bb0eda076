/// Appends JSON to a byte buffer without building intermediate values.
public struct JSONWriter: Sendable {
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 4096) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public mutating func reset() { bytes.removeAll(keepingCapacity: true) }

    /// The bytes written, in an array of their own just large enough for them. A writer that
    /// is reset and used again hands each result out this way: handing out ``bytes`` itself
    /// would make the next ``reset()`` allocate a fresh buffer of the whole capacity, and every
    /// result would keep one (an 8 KiB buffer for an event of 3 KiB).
    public var exactBytes: [UInt8] {
        bytes.withUnsafeBufferPointer { written in
            [UInt8](unsafeUninitializedCapacity: written.count) { copy, initialized in
                initialized = copy.initialize(fromContentsOf: written)
            }
        }
    }

    public mutating func raw(_ s: StaticString) {
        s.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    public mutating func raw<C: Collection>(_ c: C) where C.Element == UInt8 { bytes.append(contentsOf: c) }

    /// Writes `"<escaped s>"`.
    public mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { string(UnsafeRawBufferPointer($0)) }
    }

    /// Writes `"<escaped utf8>"` for UTF-8 bytes.
    public mutating func string(_ utf8: UnsafeRawBufferPointer) {
        bytes.append(UInt8(ascii: "\""))
        JSONWriter.appendEscaped(utf8, to: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    /// Writes `,"key":"value"` (the comma only when `comma` is true).
    public mutating func member(_ key: StaticString, _ value: String, comma: Bool = true) {
        if comma { bytes.append(UInt8(ascii: ",")) }
        bytes.append(UInt8(ascii: "\""))
        key.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
        string(value)
    }

    /// Writes a non-negative `value` in decimal (a negative one as 0).
    public mutating func decimal(_ value: Int) {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // room for 24 digits, written from the end
        withUnsafeMutableBytes(of: &digits) { room in
            var rest = UInt64(max(0, value))
            var index = room.count
            repeat {
                index -= 1
                room[index] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            } while rest > 0
            bytes.append(contentsOf: room[index...])
        }
    }

    /// Writes `value` as `digits` lowercase hexadecimal digits (the low ones, zero-padded).
    public mutating func hex(_ value: UInt64, digits: Int) {
        for index in stride(from: digits - 1, through: 0, by: -1) {
            bytes.append(JSONWriter.hexDigit(UInt8(truncatingIfNeeded: value >> UInt64(4 * index)) & 0xF))
        }
    }

    /// JSON string escaping of UTF-8 bytes: quote, backslash and control characters.
    /// Bytes ≥ 0x80 are copied as they are (the input is UTF-8).
    ///
    /// Room for the input and an eighth more is reserved once (the buffer at least doubles
    /// when it grows); runs of plain bytes are found 16 at a time and appended whole, each
    /// escape after the run before it. Nothing is written twice.
    public static func appendEscaped(_ utf8: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        guard let base = utf8.baseAddress, utf8.count > 0 else { return }
        let source = base.assumingMemoryBound(to: UInt8.self)
        let count = utf8.count
        let needed = out.count + count + count / 8 + 8
        if out.capacity < needed { out.reserveCapacity(max(needed, 2 * out.capacity)) }
        let quote = SIMD16<UInt8>(repeating: 0x22)
        let backslash = SIMD16<UInt8>(repeating: 0x5C)
        let space = SIMD16<UInt8>(repeating: 0x20)
        var index = 0
        var runStart = 0
        while true {
            while index + 16 <= count {
                let block = UnsafeRawPointer(source + index).loadUnaligned(as: SIMD16<UInt8>.self)
                if any((block .< space) .| (block .== quote) .| (block .== backslash)) { break }
                index += 16
            }
            while index < count && escapeLength(source[index]) == 1 { index += 1 }
            if index > runStart { out.append(contentsOf: UnsafeBufferPointer(start: source + runStart, count: index - runStart)) }
            guard index < count else { return }
            let byte = source[index]
            out.append(0x5C)
            switch byte {
            case 0x22, 0x5C: out.append(byte)
            case 0x0A: out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(UInt8(ascii: "r"))
            case 0x09: out.append(UInt8(ascii: "t"))
            default:
                out.append(UInt8(ascii: "u"))
                out.append(UInt8(ascii: "0"))
                out.append(UInt8(ascii: "0"))
                out.append(hexDigit(byte >> 4))
                out.append(hexDigit(byte & 0xF))
            }
            index += 1
            runStart = index
        }
    }

    /// Bytes a byte takes in a JSON string: 1 when plain, 2 for `\n` and the like, 6 for
    /// `\u0001`.
    @inline(__always)
    private static func escapeLength(_ byte: UInt8) -> Int {
        switch byte {
        case 0x22, 0x5C, 0x0A, 0x0D, 0x09: return 2
        case 0x00..<0x20: return 6
        default: return 1
        }
    }

    @inline(__always)
    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
    }
}
