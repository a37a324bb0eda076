#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import EventModel

/// The quickest way through a UTF-8 input: one pass over its bytes that checks the XML,
/// copies each IDoc's bytes as written and reads its control record, without libxml2.
///
/// It accepts only *plain* XML, the subset SAP systems write: an optional XML declaration
/// (version 1.0, UTF-8), elements with ASCII names and no namespace prefixes, attributes,
/// text, the five predefined entity references and character references. Anything else
/// (comments, processing instructions, CDATA, a document type declaration, `xmlns`,
/// non-ASCII names) and anything wrong (an error of any kind, a limit reached) makes it
/// *unsure*: it stops, and the caller hands the whole input to libxml2 (``IDocSAXReader``),
/// which decides and words any refusal. So the scanner never refuses anything itself, and
/// must never accept what libxml2 would refuse: every check here is at least as strict as
/// XML 1.0's well-formedness rules for the subset.
///
/// It streams: the input is read in chunks into a buffer that holds the markup being read;
/// only the current IDoc is kept beside it.
///
/// The steps the scanning loops call are `mutating` even where they only read (checking a
/// start tag, an attribute value, a reference, a UTF-8 sequence): called as borrowing
/// methods from mutating ones, they made the compiler copy the whole scanner, about 400
/// bytes, into a temporary on every call, which for IDoc XML came to 16 bytes copied per
/// input byte (docs/BENCHMARKS.md, "Plain XML scanner instead of libxml2").
struct PlainIDocScanner: ~Copyable {
    /// The input offset where the scanner became unsure (tests only; the caller just falls back).
    private(set) var unsureAt: Int?
    /// The size of the scanner's own buffer outside ``scan(emit:)`` (tests only).
    var ownBufferSize: Int { capacity }

    private let limits: CodecLimits
    private let input: DocumentInput
    private let inPlace: Bool
    private var buffer: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    /// `buffer[position..<end]` is read but not yet scanned.
    private var position = 0
    private var end = 0
    /// Bytes dropped from the buffer's front so far (for ``unsureAt``).
    private var consumedBefore = 0
    private var atEOF = false
    /// Bytes of a `.bytes` input copied into the buffer so far.
    private var bytesOffset = 0

    // Elements.
    /// Names of the open elements, back to back; `nameEnds[0..<depth]` marks where each ends.
    private var names: UnsafeMutablePointer<UInt8>
    private var namesCapacity = 4096
    private var nameEnds: UnsafeMutablePointer<Int>
    private let endsCapacity: Int
    private var depth = 0
    /// Attribute names of the start tag being read (start, length), for the duplicate check;
    /// a tag with more attributes than this holds is left to libxml2.
    private var attributeNames: UnsafeMutablePointer<(start: Int, length: Int)>
    private let attributeCapacity = 16
    private var rootClosed = false
    private var rootName: String?
    private var rootStartTag: [UInt8] = []
    private var rootEndTag: [UInt8] = []

    // The IDoc being read.
    private var inIDoc = false
    private var controlSeen = false
    private var inControl = false
    private var control = ControlRecord()
    private var field: ControlRecordFields.Field?
    private var fieldText: [UInt8] = []
    /// The IDoc's bytes so far (after the root's start tag); `buffer[captureFrom..<position]`
    /// is not yet copied in.
    private var captured: [UInt8] = []
    private var captureFrom = 0
    private(set) var emitted = 0

    private static let maxNameLength = 1000
    private static let maxBuffer = 4 << 20
    private static let idocName = Array("IDOC".utf8)
    private static let controlRecordName = Array("EDI_DC40".utf8)

    /// Bytes that end a run of plain text: markup, references, `]` (of `]]>`), control
    /// characters other than tab, LF and CR, and every non-ASCII byte (checked as UTF-8).
    private static let textStops: [Bool] = (0..<256).map { byte in
        switch byte {
        case 0x09, 0x0A, 0x0D: false
        case 0..<0x20: true
        case Int(UInt8(ascii: "<")), Int(UInt8(ascii: "&")), Int(UInt8(ascii: "]")): true
        case 0x80...: true
        default: false
        }
    }

    /// The bytes of `word` (eight input bytes, the first lowest) that may end a run of text,
    /// each marked by its high bit: control characters (tab, LF and CR too), non-ASCII bytes,
    /// `<`, `&` and `]`. Only the lowest mark is exact (a borrow can mark a byte above a
    /// marked one), which is the only one used.
    @inline(__always)
    static func possibleTextStops(_ word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let high: UInt64 = 0x8080_8080_8080_8080
        func zeroBytes(_ bytes: UInt64) -> UInt64 { (bytes &- ones) & ~bytes & high }
        let control = (word &- 0x20 &* ones) & ~word & high
        return control | (word & high) | zeroBytes(word ^ (0x3C &* ones)) | zeroBytes(word ^ (0x26 &* ones))
            | zeroBytes(word ^ (0x5D &* ones))
    }

    /// Name bytes of the plain subset: bit 1 when the byte may start a name (ASCII letters,
    /// `_`), bit 2 when it may be in one (those, digits, `-`, `.`). Never freed.
    private nonisolated(unsafe) static let nameClassTable: UnsafePointer<UInt8> = {
        let table = UnsafeMutablePointer<UInt8>.allocate(capacity: 256)
        for byte in 0..<256 {
            let start = (byte | 0x20) >= 0x61 && (byte | 0x20) <= 0x7A || byte == 0x5F
            let inside = start || (0x30...0x39).contains(byte) || byte == 0x2D || byte == 0x2E
            table[byte] = (start ? 1 : 0) | (inside ? 2 : 0)
        }
        return UnsafePointer(table)
    }()
    /// ``nameClassTable``, held here so that the hot loops read it with one load.
    private let nameClass = PlainIDocScanner.nameClassTable

    /// - Parameters:
    ///   - bufferSize: the first buffer size (tests use tiny ones to cut the input at every
    ///     place); it grows for markup that does not fit.
    ///   - inPlace: whether an input in memory is scanned where it is (see ``scan(emit:)``)
    ///     rather than copied into the buffer as it is read.
    init(_ input: DocumentInput, limits: CodecLimits, bufferSize: Int = 256 << 10, inPlace: Bool = true) {
        self.input = input
        self.limits = limits
        self.inPlace = inPlace
        // An input scanned where it is never reads into the buffer: a token one, not a
        // quarter-megabyte mapped and unmapped per queue message.
        capacity = Self.scansWhereItIs(input, inPlace: inPlace) ? 16 : max(16, bufferSize)
        buffer = .allocate(capacity: capacity)
        names = .allocate(capacity: namesCapacity)
        endsCapacity = min(max(limits.maxDepth, 1), 1024)
        nameEnds = .allocate(capacity: endsCapacity)
        attributeNames = .allocate(capacity: attributeCapacity)
    }

    deinit {
        buffer.deallocate()
        names.deallocate()
        nameEnds.deallocate()
        attributeNames.deallocate()
    }

    private enum Stop: Error {
        /// Not plain XML, or not well-formed, or a limit: libxml2 must decide.
        case unsure
    }

    /// Scans the whole input, calling `emit` for each IDoc; returns false when unsure (then
    /// `emitted` IDocs were emitted already, and libxml2 must read the input from its start).
    /// Rethrows `emit`'s errors.
    mutating func scan(emit: (DocumentRecord) throws -> Void) throws -> Bool {
        guard Self.scansWhereItIs(input, inPlace: inPlace), case .bytes(let bytes) = input else {
            return try scanBuffered(emit: emit)
        }
        // An input in memory is scanned where it is, not copied into the buffer first: the
        // whole of it is "read", so the buffer never moves or refills (the scanner writes
        // into its buffer only when it fills it). No larger than the buffer may grow, so
        // that the markup accepted is the same either way.
        let own = (buffer, capacity)
        defer { (buffer, capacity) = own }
        return try bytes.withUnsafeBufferPointer { whole in
            buffer = UnsafeMutablePointer(mutating: whole.baseAddress!)
            capacity = whole.count
            end = whole.count
            atEOF = true
            return try scanBuffered(emit: emit)
        }
    }

    /// Whether ``scan(emit:)`` reads `input` where it is rather than through the buffer.
    private static func scansWhereItIs(_ input: DocumentInput, inPlace: Bool) -> Bool {
        guard inPlace, case .bytes(let bytes) = input else { return false }
        return !bytes.isEmpty && bytes.count <= maxBuffer
    }

    private mutating func scanBuffered(emit: (DocumentRecord) throws -> Void) throws -> Bool {
        do {
            try prolog()
            try content(emit: emit)
            return true
        } catch Stop.unsure {
            unsureAt = consumedBefore + position
            return false
        }
    }

    // MARK: Input

    /// Reads more input behind the unscanned bytes; false at the end of the input.
    private mutating func fill() throws(Stop) -> Bool {
        if atEOF { return false }
        if inIDoc { try flushCapture() }
        if position > 0 {
            let keep = end - position
            if keep > 0 { memmove(buffer, buffer + position, keep) }
            consumedBefore += position
            end = keep
            position = 0
            captureFrom = 0
        }
        if end == capacity {
            // Markup longer than the buffer: grow it, up to a bound.
            guard capacity < PlainIDocScanner.maxBuffer else { throw .unsure }
            let larger = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity * 2)
            larger.update(from: buffer, count: end)
            buffer.deallocate()
            buffer = larger
            capacity *= 2
        }
        let count: Int
        switch input {
        case .fileDescriptor(let fd):
            var n: Int
            repeat { n = read(fd, buffer + end, capacity - end) } while n < 0 && errno == EINTR
            guard n >= 0 else { throw .unsure }
            count = n
        case .bytes(let bytes):
            count = min(capacity - end, bytes.count - bytesOffset)
            if count > 0 {
                bytes.withUnsafeBytes { all in _ = memcpy(buffer + end, all.baseAddress! + bytesOffset, count) }
            }
            bytesOffset += count
        }
        if count == 0 {
            atEOF = true
            return false
        }
        end += count
        return true
    }

    /// Makes `count` bytes from `position` available; false when the input ends first.
    private mutating func need(_ count: Int) throws(Stop) -> Bool {
        while end - position < count {
            guard try fill() else { return false }
        }
        return true
    }

    // MARK: Prolog

    private mutating func prolog() throws {
        _ = try need(3)
        if end - position >= 3, buffer[position] == 0xEF, buffer[position + 1] == 0xBB, buffer[position + 2] == 0xBF {
            position += 3
        }
        if try need(5), matches("<?xml") { try declaration() }
        // White space, then the root element.
        while true {
            skipBlanks()
            if position < end { break }
            guard try fill() else { throw Stop.unsure }
        }
        guard buffer[position] == UInt8(ascii: "<") else { throw Stop.unsure }
        try markup(emit: { _ in })
    }

    /// `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>`, encoding and standalone
    /// optional; anything else is left to libxml2.
    private mutating func declaration() throws(Stop) {
        var length = 0
        while true {
            if let close = find("?>", from: position) {
                length = close + 2 - position
                break
            }
            guard end - position < 1024, try fill() else { throw .unsure }
        }
        var cursor = position + 5
        let stop = position + length - 2
        func blanks() -> Bool {
            let start = cursor
            while cursor < stop, XMLSyntax.isBlank(buffer[cursor]) { cursor += 1 }
            return cursor > start
        }
        func attribute(_ name: String) throws(Stop) -> [UInt8] {
            let bytes = Array(name.utf8)
            guard stop - cursor > bytes.count, (0..<bytes.count).allSatisfy({ buffer[cursor + $0] == bytes[$0] }) else { throw .unsure }
            cursor += bytes.count
            _ = blanks()
            guard cursor < stop, buffer[cursor] == UInt8(ascii: "=") else { throw .unsure }
            cursor += 1
            _ = blanks()
            guard cursor < stop else { throw .unsure }
            let quote = buffer[cursor]
            guard quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") else { throw .unsure }
            cursor += 1
            let start = cursor
            while cursor < stop, buffer[cursor] != quote { cursor += 1 }
            guard cursor < stop else { throw .unsure }
            defer { cursor += 1 }
            return Array(UnsafeBufferPointer(start: buffer + start, count: cursor - start))
        }
        guard blanks(), try attribute("version") == Array("1.0".utf8) else { throw .unsure }
        var spaced = blanks()
        if spaced, cursor < stop, buffer[cursor] == UInt8(ascii: "e") {
            let encoding = String(decoding: try attribute("encoding"), as: UTF8.self).lowercased()
            guard encoding == "utf-8" || encoding == "utf8" else { throw .unsure }
            spaced = blanks()
        }
        if spaced, cursor < stop, buffer[cursor] == UInt8(ascii: "s") {
            let standalone = try attribute("standalone")
            guard standalone == Array("yes".utf8) || standalone == Array("no".utf8) else { throw .unsure }
            _ = blanks()
        }
        guard cursor == stop else { throw .unsure }
        position += length
    }

    // MARK: Content

    private mutating func content(emit: (DocumentRecord) throws -> Void) throws {
        let stops = PlainIDocScanner.textStops
        try stops.withUnsafeBufferPointer { stops throws in
            while true {
                if position == end {
                    guard try fill() else { break }
                }
                if rootClosed {
                    skipBlanks()
                    guard position == end else { throw Stop.unsure }
                    continue
                }
                // A run of plain text: eight bytes at a time to the first byte that may end it,
                // then that byte checked against the table.
                var index = position
                while index < end {
                    if index + 8 <= end {
                        let word = UInt64(littleEndian: UnsafeRawPointer(buffer + index).loadUnaligned(as: UInt64.self))
                        let flags = PlainIDocScanner.possibleTextStops(word)
                        if flags == 0 {
                            index += 8
                            continue
                        }
                        index += flags.trailingZeroBitCount >> 3
                    }
                    if stops[Int(buffer[index])] { break }
                    index += 1  // plain, or a tab, LF or CR
                }
                if field != nil { keepFieldText(from: position, to: index) }
                position = index
                guard index < end else { continue }
                switch buffer[index] {
                case UInt8(ascii: "<"):
                    try markup(emit: emit)
                case UInt8(ascii: "&"):
                    try textReference()
                case UInt8(ascii: "]"):
                    // `]]>` may not appear in text.
                    if try need(3), buffer[position + 1] == UInt8(ascii: "]"), buffer[position + 2] == UInt8(ascii: ">") {
                        throw Stop.unsure
                    }
                    if field != nil { fieldText.append(UInt8(ascii: "]")) }
                    position += 1
                case 0x80...:
                    let length = try utf8Sequence()
                    if field != nil { keepFieldText(from: position, to: position + length) }
                    position += length
                default:
                    throw Stop.unsure
                }
            }
        }
        // The end of the input: the root element must be closed, with IDocs in it.
        guard rootClosed, emitted > 0 else { throw Stop.unsure }
    }

    /// Text of a kept control record field; a raw CR is left to libxml2 (it normalises line ends).
    private mutating func keepFieldText(from start: Int, to stop: Int) {
        guard stop > start else { return }
        let slice = UnsafeBufferPointer(start: buffer + start, count: stop - start)
        fieldText.append(contentsOf: slice)
    }

    /// A markup construct at `position` (`<`): a start or end tag; anything else is unsure.
    private mutating func markup(emit: (DocumentRecord) throws -> Void) throws {
        guard try need(2) else { throw Stop.unsure }
        let next = buffer[position + 1]
        if next == UInt8(ascii: "/") {
            try endTag(emit: emit)
        } else if isNameStart(next) {
            try startTag(emit: emit)
        } else {
            throw Stop.unsure
        }
    }

    private mutating func startTag(emit: (DocumentRecord) throws -> Void) throws {
        guard depth > 0 || rootName == nil else { throw Stop.unsure }
        // The whole tag must be in the buffer: read more and start over when it is cut.
        let tag: (nameLength: Int, end: Int, empty: Bool)
        while true {
            if let parsed = try parseStartTag() {
                tag = parsed
                break
            }
            guard try fill() else { throw Stop.unsure }
        }
        let (nameLength, tagEnd, empty) = tag
        let tagStart = position
        position = tagEnd + 1
        try elementStarted(nameStart: tagStart + 1, nameLength: nameLength, tagStart: tagStart)
        if empty { try elementEnded(tagEnd: tagEnd, emit: emit) }
    }

    /// Checks the start tag at `position`: `<` name (S attribute)* S? (`>` | `/>`). Returns
    /// the name's length, where the tag's `>` is and whether the element is empty; nil when
    /// the buffer ends before the tag does.
    private mutating func parseStartTag() throws(Stop) -> (nameLength: Int, end: Int, empty: Bool)? {
        let nameStart = position + 1
        var cursor = nameStart
        while cursor < end, isNameByte(buffer[cursor]) { cursor += 1 }
        let nameLength = cursor - nameStart
        guard nameLength <= PlainIDocScanner.maxNameLength else { throw .unsure }
        var attributeCount = 0
        while true {
            let blankStart = cursor
            while cursor < end, XMLSyntax.isBlank(buffer[cursor]) { cursor += 1 }
            guard cursor < end else { return nil }
            switch buffer[cursor] {
            case UInt8(ascii: ">"):
                return (nameLength, cursor, false)
            case UInt8(ascii: "/"):
                guard cursor + 1 < end else { return nil }
                guard buffer[cursor + 1] == UInt8(ascii: ">") else { throw .unsure }
                return (nameLength, cursor + 1, true)
            default:
                break
            }
            // S name S? = S? quoted value
            guard cursor > blankStart, isNameStart(buffer[cursor]) else { throw .unsure }
            let attributeStart = cursor
            while cursor < end, isNameByte(buffer[cursor]) { cursor += 1 }
            let attributeLength = cursor - attributeStart
            guard attributeLength <= PlainIDocScanner.maxNameLength, !startsWithXMLNS(attributeStart, attributeLength) else {
                throw .unsure
            }
            for index in 0..<attributeCount {
                let other = attributeNames[index]
                if other.length == attributeLength && memcmp(buffer + other.start, buffer + attributeStart, attributeLength) == 0 {
                    throw .unsure
                }
            }
            guard attributeCount < attributeCapacity else { throw .unsure }
            attributeNames[attributeCount] = (attributeStart, attributeLength)
            attributeCount += 1
            while cursor < end, XMLSyntax.isBlank(buffer[cursor]) { cursor += 1 }
            guard cursor < end else { return nil }
            guard buffer[cursor] == UInt8(ascii: "=") else { throw .unsure }
            cursor += 1
            while cursor < end, XMLSyntax.isBlank(buffer[cursor]) { cursor += 1 }
            guard cursor < end else { return nil }
            let quote = buffer[cursor]
            guard quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") else { throw .unsure }
            guard let next = try attributeValue(from: cursor + 1, quote: quote) else { return nil }
            cursor = next
        }
    }

    /// Checks an attribute value from `start` to its closing `quote`; returns the index after
    /// it, or nil when the buffer ends first.
    private mutating func attributeValue(from start: Int, quote: UInt8) throws(Stop) -> Int? {
        var cursor = start
        while true {
            guard cursor < end else { return nil }
            let byte = buffer[cursor]
            if byte == quote { return cursor + 1 }
            switch byte {
            case UInt8(ascii: "<"):
                throw .unsure
            case UInt8(ascii: "&"):
                // A reference is at most 12 bytes; one cut by the buffer's end is read again whole.
                if end - cursor < 12 && !atEOF { return nil }
                cursor += try referenceLength(at: cursor, limit: end).length
            case 0x80...:
                if end - cursor < 4 && !atEOF { return nil }
                cursor += try utf8Length(at: cursor, limit: end)
            case 0x09, 0x0A, 0x0D, 0x20...:
                cursor += 1
            default:
                throw .unsure
            }
        }
    }

    private mutating func endTag(emit: (DocumentRecord) throws -> Void) throws {
        guard depth > 0 else { throw Stop.unsure }
        let expected = depth > 1 ? nameEnds[depth - 2] : 0
        let nameLength = nameEnds[depth - 1] - expected
        // `</` name S? `>`; the usual `</NAME>` first.
        let nameStart = position + 2
        if end - nameStart > nameLength, buffer[nameStart + nameLength] == UInt8(ascii: ">"),
           memcmp(names + expected, buffer + nameStart, nameLength) == 0 {
            position = nameStart + nameLength + 1
            try elementEnded(tagEnd: nameStart + nameLength, emit: emit)
            return
        }
        var cursor = position + 2
        while true {
            if cursor == end {
                let offset = cursor - position
                guard try fill() else { throw Stop.unsure }
                cursor = position + offset
                continue
            }
            let byte = buffer[cursor]
            if byte == UInt8(ascii: ">") { break }
            guard isNameByte(byte) || XMLSyntax.isBlank(byte), cursor - position < PlainIDocScanner.maxNameLength + 64 else { throw Stop.unsure }
            cursor += 1
        }
        var nameEnd = position + 2
        while nameEnd < cursor, isNameByte(buffer[nameEnd]) { nameEnd += 1 }
        for index in nameEnd..<cursor where !XMLSyntax.isBlank(buffer[index]) { throw Stop.unsure }
        guard nameEnd - (position + 2) == nameLength, memcmp(names + expected, buffer + position + 2, nameLength) == 0 else {
            throw Stop.unsure
        }
        position = cursor + 1
        try elementEnded(tagEnd: cursor, emit: emit)
    }

    // MARK: What the elements mean (as IDocSAXReader reads them)

    private mutating func elementStarted(nameStart: Int, nameLength: Int, tagStart: Int) throws(Stop) {
        guard depth < limits.maxDepth, depth < endsCapacity else { throw Stop.unsure }
        let namesEnd = depth > 0 ? nameEnds[depth - 1] : 0
        if namesEnd + nameLength > namesCapacity {
            let larger = UnsafeMutablePointer<UInt8>.allocate(capacity: 2 * (namesEnd + nameLength))
            larger.update(from: names, count: namesEnd)
            names.deallocate()
            names = larger
            namesCapacity = 2 * (namesEnd + nameLength)
        }
        (names + namesEnd).update(from: buffer + nameStart, count: nameLength)
        nameEnds[depth] = namesEnd + nameLength
        depth += 1
        let name = UnsafeBufferPointer(start: buffer + nameStart, count: nameLength)
        switch depth {
        case 1:
            rootName = String(decoding: name, as: UTF8.self)
            rootStartTag = Array(UnsafeBufferPointer(start: buffer + tagStart, count: position - tagStart))
            rootEndTag = Array("</".utf8) + name + [UInt8(ascii: ">")]
        case 2:
            guard XMLName.matches(name, PlainIDocScanner.idocName) else { return }
            inIDoc = true
            controlSeen = false
            control = ControlRecord()
            captured.removeAll(keepingCapacity: true)
            captured += rootStartTag
            captureFrom = tagStart
        case 3:
            guard inIDoc, !controlSeen, XMLName.matches(name, PlainIDocScanner.controlRecordName) else { return }
            controlSeen = true
            inControl = true
        case 4:
            guard inControl else { return }
            field = ControlRecordFields.field(named: name)
            fieldText.removeAll(keepingCapacity: true)
        default:
            break
        }
    }

    private mutating func elementEnded(tagEnd: Int, emit: (DocumentRecord) throws -> Void) throws {
        switch depth {
        case 1:
            rootClosed = true
        case 2:
            if inIDoc {
                inIDoc = false
                try idocEnded(tagEnd: tagEnd, emit: emit)
            }
        case 3:
            inControl = false
        case 4:
            if let field {
                guard !fieldText.contains(0x0D) else { throw Stop.unsure }
                field.set(ControlRecordFields.trimmed(fieldText), in: &control)
                self.field = nil
            }
        default:
            break
        }
        depth -= 1
    }

    private mutating func idocEnded(tagEnd: Int, emit: (DocumentRecord) throws -> Void) throws {
        guard controlSeen else { throw Stop.unsure }
        captured.append(contentsOf: UnsafeBufferPointer(start: buffer + captureFrom, count: tagEnd + 1 - captureFrom))
        captured += rootEndTag
        guard captured.count <= limits.maxDocumentBytes else { throw Stop.unsure }
        try captured.withUnsafeBytes { bytes in
            try emit(DocumentRecord(
                ordinal: emitted, control: control, rootName: rootName, contentType: "application/xml", data: bytes))
        }
        emitted += 1
    }

    /// Copies the scanned part of the current IDoc out of the buffer (before it moves).
    private mutating func flushCapture() throws(Stop) {
        guard position > captureFrom else { return }
        captured.append(contentsOf: UnsafeBufferPointer(start: buffer + captureFrom, count: position - captureFrom))
        captureFrom = position
        guard captured.count <= limits.maxDocumentBytes else { throw .unsure }
    }

    // MARK: Characters

    /// A reference in text at `position`: checked, decoded into a kept field's text.
    private mutating func textReference() throws(Stop) {
        _ = try need(12)
        let (length, scalar) = try referenceLength(at: position, limit: end)
        if field != nil { UTF8.encode(scalar) { fieldText.append($0) } }
        position += length
    }

    /// The length and value of the reference at `index` (`&name;`, `&#N;`, `&#xH;`), within
    /// `buffer[index..<limit]`.
    private mutating func referenceLength(at index: Int, limit: Int) throws(Stop) -> (length: Int, scalar: Unicode.Scalar) {
        var cursor = index + 1
        guard cursor < limit else { throw .unsure }
        var value: UInt32 = 0
        if buffer[cursor] == UInt8(ascii: "#") {
            cursor += 1
            let hex = cursor < limit && buffer[cursor] == UInt8(ascii: "x")
            if hex { cursor += 1 }
            let digitsStart = cursor
            while cursor < limit, cursor - digitsStart < 8 {
                let byte = buffer[cursor]
                let digit: UInt32
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f") where hex: digit = UInt32(byte - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F") where hex: digit = UInt32(byte - UInt8(ascii: "A") + 10)
                default: digit = 99
                }
                if digit == 99 { break }
                value = value * (hex ? 16 : 10) + digit
                cursor += 1
            }
            guard cursor > digitsStart, cursor < limit, buffer[cursor] == UInt8(ascii: ";"), isXMLChar(value),
                  let scalar = Unicode.Scalar(value)
            else { throw .unsure }
            return (cursor + 1 - index, scalar)
        }
        let nameStart = cursor
        while cursor < limit, cursor - nameStart < 5, buffer[cursor] != UInt8(ascii: ";") { cursor += 1 }
        guard cursor < limit, buffer[cursor] == UInt8(ascii: ";") else { throw .unsure }
        let name = UnsafeBufferPointer(start: buffer + nameStart, count: cursor - nameStart)
        let scalar: Unicode.Scalar
        switch String(decoding: name, as: UTF8.self) {
        case "lt": scalar = "<"
        case "gt": scalar = ">"
        case "amp": scalar = "&"
        case "apos": scalar = "'"
        case "quot": scalar = "\""
        default: throw .unsure
        }
        return (cursor + 1 - index, scalar)
    }

    /// The length of the UTF-8 sequence at `position` in text (reading more when it is cut).
    private mutating func utf8Sequence() throws(Stop) -> Int {
        _ = try need(4)
        return try utf8Length(at: position, limit: end)
    }

    /// The length of the well-formed UTF-8 sequence at `index` that encodes an XML character
    /// (no surrogates, no U+FFFE or U+FFFF, nothing above U+10FFFF, no overlong forms).
    private mutating func utf8Length(at index: Int, limit: Int) throws(Stop) -> Int {
        let lead = buffer[index]
        let length: Int
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; low = 0xA0
        case 0xE1...0xEC, 0xEE, 0xEF: length = 3
        case 0xED: length = 3; high = 0x9F
        case 0xF0: length = 4; low = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; high = 0x8F
        default: throw .unsure
        }
        guard limit - index >= length else { throw .unsure }
        let second = buffer[index + 1]
        guard second >= low, second <= high else { throw .unsure }
        for offset in 2..<max(2, length) where buffer[index + offset] & 0xC0 != 0x80 { throw .unsure }
        if lead == 0xEF, second == 0xBF, buffer[index + 2] >= 0xBE { throw .unsure }  // U+FFFE, U+FFFF
        return length
    }

    private func isXMLChar(_ value: UInt32) -> Bool {
        switch value {
        case 0x09, 0x0A, 0x0D, 0x20...0xD7FF, 0xE000...0xFFFD, 0x10000...0x10FFFF: true
        default: false
        }
    }

    // MARK: Bytes

    /// ASCII name start characters (letters and `_`); `:` and non-ASCII names are left to libxml2.
    private func isNameStart(_ byte: UInt8) -> Bool { nameClass[Int(byte)] & 1 != 0 }

    /// Name characters other than the first: ASCII letters, digits, `_`, `-`, `.`.
    private func isNameByte(_ byte: UInt8) -> Bool { nameClass[Int(byte)] & 2 != 0 }

    /// `xmlns` declares a namespace: left to libxml2.
    private func startsWithXMLNS(_ start: Int, _ length: Int) -> Bool {
        length >= 5 && memcmp(buffer + start, "xmlns", 5) == 0
    }

    private mutating func skipBlanks() {
        while position < end, XMLSyntax.isBlank(buffer[position]) { position += 1 }
    }

    private func matches(_ text: StaticString) -> Bool {
        let count = text.utf8CodeUnitCount
        return end - position >= count && memcmp(buffer + position, text.utf8Start, count) == 0
    }

    private func find(_ text: StaticString, from: Int) -> Int? {
        let count = text.utf8CodeUnitCount
        var index = from
        while index + count <= end {
            if memcmp(buffer + index, text.utf8Start, count) == 0 { return index }
            index += 1
        }
        return nil
    }
}
