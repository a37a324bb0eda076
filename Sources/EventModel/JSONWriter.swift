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
        bytes.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
        string(value)
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// JSON string escaping of UTF-8 bytes: quote, backslash and control characters.
    /// Bytes ≥ 0x80 are copied as they are (the input is UTF-8).
    public static func appendEscaped(_ utf8: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        var runStart = 0
        var i = 0
        let n = utf8.count
        out.reserveCapacity(out.count + n + n / 16 + 8)
        while i < n {
            let b = utf8[i]
            if b >= 0x20 && b != 0x22 && b != 0x5C { i += 1; continue }
            if runStart < i { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: utf8[runStart..<i])) }
            switch b {
            case 0x22: out.append(contentsOf: [0x5C, 0x22])
            case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            default:
                out.append(contentsOf: [0x5C, UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                        hex[Int(b >> 4)], hex[Int(b & 0xF)]])
            }
            i += 1
            runStart = i
        }
        if runStart < n { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: utf8[runStart..<n])) }
    }
}
