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
    /// Two passes, 16 bytes at a time: the first counts the bytes the escapes add, so that
    /// the output grows once, by exactly what it needs; the second copies each block whole
    /// and, where a block holds an escape, moves on to it, writes it and goes on from the byte
    /// after. No appends per run of plain bytes (an IDoc has an escape every 20 bytes or so:
    /// its line ends and attribute quotes).
    public static func appendEscaped(_ utf8: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        guard let base = utf8.baseAddress, utf8.count > 0 else { return }
        let source = base.assumingMemoryBound(to: UInt8.self)
        let count = utf8.count
        let added = escapesAdd(source, count)
        let start = out.count
        let total = start + count + added
        if out.capacity < total { out.reserveCapacity(max(total, 2 * out.capacity)) }
        // The room, made with copies of the input (a memcpy: the array has no cheaper way to
        // grow), is then written over.
        out.append(contentsOf: UnsafeBufferPointer(start: source, count: count))
        guard added > 0 else { return }
        var owed = added
        while owed > 0 {
            let piece = min(owed, count)
            out.append(contentsOf: UnsafeBufferPointer(start: source, count: piece))
            owed -= piece
        }
        out.withUnsafeMutableBufferPointer { room in
            writeEscaped(source, count, to: room.baseAddress! + start)
        }
    }

    /// The lanes of `block` that JSON escapes: control characters, quotes and backslashes.
    @inline(__always)
    private static func needsEscape(_ block: SIMD16<UInt8>) -> SIMDMask<SIMD16<UInt8>.MaskStorage> {
        (block .< SIMD16(repeating: 0x20)) .| (block .== SIMD16(repeating: 0x22)) .| (block .== SIMD16(repeating: 0x5C))
    }

    /// The bytes escaping adds to `count` bytes: one for each quote, backslash, LF, CR and
    /// tab, five for each other control character.
    private static func escapesAdd(_ source: UnsafePointer<UInt8>, _ count: Int) -> Int {
        let space = SIMD16<UInt8>(repeating: 0x20)
        let newline = SIMD16<UInt8>(repeating: 0x0A)
        let carriageReturn = SIMD16<UInt8>(repeating: 0x0D)
        let tab = SIMD16<UInt8>(repeating: 0x09)
        let zero = SIMD16<UInt8>(repeating: 0)
        let one = SIMD16<UInt8>(repeating: 1)
        let four = SIMD16<UInt8>(repeating: 4)
        var added = 0
        var index = 0
        while index + 16 <= count {
            // Each lane adds at most 5 a block: 50 blocks stay below a byte's 256.
            var sums = zero
            let stop = min(count, index + 16 * 50)
            while index + 16 <= stop {
                let block = UnsafeRawPointer(source + index).loadUnaligned(as: SIMD16<UInt8>.self)
                let control = block .< space
                let escaped = needsEscape(block)
                let short = (block .== newline) .| (block .== carriageReturn) .| (block .== tab)
                sums &+= zero.replacing(with: one, where: escaped) &+ zero.replacing(with: four, where: control .& .!short)
                index += 16
            }
            added += Int(SIMD16<UInt16>(truncatingIfNeeded: sums).wrappedSum())
        }
        while index < count {
            added += escapeLength(source[index]) - 1
            index += 1
        }
        return added
    }

    /// Writes the escaped form of `count` bytes at `destination`, which has room for exactly
    /// that. A block is stored whole before its escape is found: at that point at least the
    /// 16 bytes of input left are still to be written, so the store stays inside the room, and
    /// what it wrote past the escape is written again after it.
    private static func writeEscaped(_ source: UnsafePointer<UInt8>, _ count: Int, to destination: UnsafeMutablePointer<UInt8>) {
        let zero = SIMD16<UInt8>(repeating: 0)
        let marked = SIMD16<UInt8>(repeating: 0xFF)
        var index = 0
        var out = destination
        while true {
            while index + 16 <= count {
                let block = UnsafeRawPointer(source + index).loadUnaligned(as: SIMD16<UInt8>.self)
                UnsafeMutableRawPointer(out).storeBytes(of: block, as: SIMD16<UInt8>.self)
                let marks = unsafeBitCast(
                    zero.replacing(with: marked, where: needsEscape(block)),
                    to: SIMD2<UInt64>.self)
                if marks[0] | marks[1] == 0 {
                    index += 16
                    out += 16
                    continue
                }
                let plain = marks[0] != 0 ? marks[0].trailingZeroBitCount >> 3 : 8 + marks[1].trailingZeroBitCount >> 3
                index += plain
                out = escape(source[index], at: out + plain)
                index += 1
            }
            guard index < count else { return }
            let byte = source[index]
            if escapeLength(byte) == 1 {
                out.pointee = byte
                out += 1
            } else {
                out = escape(byte, at: out)
            }
            index += 1
        }
    }

    /// Writes the escape of `byte` (a quote, backslash or control character) at `out`;
    /// returns where it ends.
    @inline(__always)
    private static func escape(_ byte: UInt8, at out: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        out[0] = 0x5C
        switch byte {
        case 0x22, 0x5C:
            out[1] = byte
        case 0x0A:
            out[1] = UInt8(ascii: "n")
        case 0x0D:
            out[1] = UInt8(ascii: "r")
        case 0x09:
            out[1] = UInt8(ascii: "t")
        default:
            out[1] = UInt8(ascii: "u")
            out[2] = UInt8(ascii: "0")
            out[3] = UInt8(ascii: "0")
            out[4] = hexDigit(byte >> 4)
            out[5] = hexDigit(byte & 0xF)
            return out + 6
        }
        return out + 2
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
