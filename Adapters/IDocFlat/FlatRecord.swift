import EventModel

/// One line of a flat IDoc file, checked and turned into UTF-8.
///
/// Text is read as UTF-8; a line that is not valid UTF-8 is read as ISO-8859-1 (what
/// non-Unicode SAP systems write) and transcoded, so the record is always UTF-8. Control
/// characters (NUL and the other C0 codes except tab) mean the input is not a flat IDoc file.
struct FlatRecord {
    /// The record's UTF-8 bytes, without line end.
    let bytes: UnsafeRawBufferPointer
    /// Length in characters (Unicode scalars): the unit of the fixed-width layout.
    let characterCount: Int
    /// Whether every character is one byte (so character offsets are byte offsets).
    let isASCII: Bool

    private static let controlRecordTag = Array("EDI_DC40".utf8)

    /// Whether this is a control record (`EDI_DC40…`), which starts a new IDoc.
    var isControlRecord: Bool { bytes.starts(with: FlatRecord.controlRecordTag) }

    /// Whether the record holds nothing but blanks.
    var isBlank: Bool { bytes.allSatisfy { $0 == 0x20 || $0 == 0x09 } }

    /// The characters `[offset, offset + width)`, blank-trimmed; empty when the record is shorter.
    func field(at offset: Int, width: Int) -> String {
        let range: Range<Int>
        if isASCII {
            range = min(offset, bytes.count)..<min(offset + width, bytes.count)
        } else {
            range = byteRange(ofCharacters: offset..<(offset + width))
        }
        var slice = bytes[range]
        while let first = slice.first, first == 0x20 || first == 0x09 { slice = slice.dropFirst() }
        while let last = slice.last, last == 0x20 || last == 0x09 { slice = slice.dropLast() }
        return String(decoding: slice, as: UTF8.self)
    }

    private func byteRange(ofCharacters characters: Range<Int>) -> Range<Int> {
        var character = 0
        var lower = bytes.count
        for (index, byte) in bytes.enumerated() where byte & 0xC0 != 0x80 {
            if character == characters.lowerBound { lower = index }
            if character == characters.upperBound { return lower..<index }
            character += 1
        }
        return lower..<bytes.count
    }
}

extension FlatRecord {
    /// Checks a raw line and calls `body` with it as a UTF-8 record.
    ///
    /// - Parameter scratch: reused for transcoding ISO-8859-1 lines.
    static func withRecord<Result>(
        line raw: UnsafeRawBufferPointer, number: Int, scratch: inout [UInt8],
        _ body: (FlatRecord) throws -> Result
    ) throws -> Result {
        var line = raw
        if line.last == 0x0D { line = UnsafeRawBufferPointer(rebasing: line.dropLast()) }
        if number == 1 && line.starts(with: [0xEF, 0xBB, 0xBF]) { line = UnsafeRawBufferPointer(rebasing: line.dropFirst(3)) }
        var nonASCII = 0
        var continuations = 0
        for (column, byte) in line.enumerated() {
            if byte < 0x20 && byte != 0x09 || byte == 0x7F {
                throw DocumentRejection(
                    .malformedFlat,
                    "line \(number), byte \(column + 1) is the control character 0x\(String(byte, radix: 16)); a flat IDoc file holds text records only")
            }
            if byte >= 0x80 {
                nonASCII += 1
                if byte & 0xC0 == 0x80 { continuations += 1 }
            }
        }
        if nonASCII == 0 {
            return try body(FlatRecord(bytes: line, characterCount: line.count, isASCII: true))
        }
        if isValidUTF8(line) {
            return try body(FlatRecord(bytes: line, characterCount: line.count - continuations, isASCII: false))
        }
        scratch.removeAll(keepingCapacity: true)
        for byte in line {
            if byte < 0x80 {
                scratch.append(byte)
            } else {
                scratch.append(0xC0 | byte >> 6)
                scratch.append(0x80 | byte & 0x3F)
            }
        }
        return try scratch.withUnsafeBytes {
            try body(FlatRecord(bytes: $0, characterCount: line.count, isASCII: false))
        }
    }

    /// Whether `bytes` is well-formed UTF-8 (no overlong forms, surrogates or values past U+10FFFF).
    static func isValidUTF8(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var index = 0
        while index < bytes.count {
            let lead = bytes[index]
            let length: Int
            var secondRange: ClosedRange<UInt8> = 0x80...0xBF
            switch lead {
            case 0x00...0x7F: index += 1; continue
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; secondRange = 0xA0...0xBF
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; secondRange = 0x80...0x9F
            case 0xF0: length = 4; secondRange = 0x90...0xBF
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; secondRange = 0x80...0x8F
            default: return false
            }
            guard index + length <= bytes.count, secondRange.contains(bytes[index + 1]) else { return false }
            for offset in 2..<max(2, length) where bytes[index + offset] & 0xC0 != 0x80 { return false }
            index += length
        }
        return true
    }
}
