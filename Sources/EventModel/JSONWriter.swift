/// Appends JSON to a byte buffer without building intermediate values.
public struct JSONWriter: Sendable {
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 4096) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public mutating func reset() { bytes.removeAll(keepingCapacity: true) }

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

    /// Writes `value` as `digits` lowercase hexadecimal digits (the low ones, zero-padded).
    public mutating func hex(_ value: UInt64, digits: Int) {
        for index in stride(from: digits - 1, through: 0, by: -1) {
            bytes.append(JSONWriter.hexDigit(UInt8(truncatingIfNeeded: value >> UInt64(4 * index)) & 0xF))
        }
    }

    /// JSON string escaping of UTF-8 bytes: quote, backslash and control characters.
    /// Bytes ≥ 0x80 are copied as they are (the input is UTF-8).
    ///
    /// The buffer grows once by the input's size plus a quarter, runs of plain bytes are found
    /// 16 at a time and copied whole, and escapes are written in place. Input with more escapes
    /// than that room (rare: a quarter of its bytes) is written again with exact sizing.
    public static func appendEscaped(_ utf8: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        guard let base = utf8.baseAddress, utf8.count > 0 else { return }
        let source = base.assumingMemoryBound(to: UInt8.self)
        let count = utf8.count
        let start = out.count
        let room = count + count / 4 + 8
        grow(&out, by: room)
        let written = out.withUnsafeMutableBufferPointer { buffer -> Int? in
            escape(source, count: count, into: buffer.baseAddress! + start, capacity: room)
        }
        if let written {
            out.removeLast(room - written)
            return
        }
        var needed = 0
        for index in 0..<count { needed += escapeLength(source[index]) }
        out.removeLast(room)
        grow(&out, by: needed)
        _ = out.withUnsafeMutableBufferPointer { buffer in
            escape(source, count: count, into: buffer.baseAddress! + start, capacity: needed)
        }
    }

    /// Zeros a buffer grows by before escapes are written into it in place.
    private static let zeros = [UInt8](repeating: 0, count: 16 << 10)

    /// Appends `count` zeros, copied in blocks (appending a repeated zero goes byte by byte).
    private static func grow(_ out: inout [UInt8], by count: Int) {
        zeros.withUnsafeBufferPointer { zeros in
            var left = count
            while left > 0 {
                let block = min(left, zeros.count)
                out.append(contentsOf: UnsafeBufferPointer(rebasing: zeros[0..<block]))
                left -= block
            }
        }
    }

    /// Writes the escaped bytes; returns how many, or nil when `capacity` is too small.
    private static func escape(
        _ source: UnsafePointer<UInt8>, count: Int, into target: UnsafeMutablePointer<UInt8>, capacity: Int
    ) -> Int? {
        let quote = SIMD16<UInt8>(repeating: 0x22)
        let backslash = SIMD16<UInt8>(repeating: 0x5C)
        let space = SIMD16<UInt8>(repeating: 0x20)
        var written = 0
        var index = 0
        var runStart = 0
        while true {
            while index + 16 <= count {
                let block = UnsafeRawPointer(source + index).loadUnaligned(as: SIMD16<UInt8>.self)
                if !any((block .< space) .| (block .== quote) .| (block .== backslash)) {
                    index += 16
                } else {
                    break
                }
            }
            while index < count && escapeLength(source[index]) == 1 { index += 1 }
            let run = index - runStart
            let escaped = index < count ? escapeLength(source[index]) : 0
            guard written + run + escaped <= capacity else { return nil }
            (target + written).update(from: source + runStart, count: run)
            written += run
            guard index < count else { return written }
            let byte = source[index]
            target[written] = 0x5C
            switch byte {
            case 0x22, 0x5C: target[written + 1] = byte
            case 0x0A: target[written + 1] = UInt8(ascii: "n")
            case 0x0D: target[written + 1] = UInt8(ascii: "r")
            case 0x09: target[written + 1] = UInt8(ascii: "t")
            default:
                target[written + 1] = UInt8(ascii: "u")
                target[written + 2] = UInt8(ascii: "0")
                target[written + 3] = UInt8(ascii: "0")
                target[written + 4] = hexDigit(byte >> 4)
                target[written + 5] = hexDigit(byte & 0xF)
            }
            written += escaped
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
