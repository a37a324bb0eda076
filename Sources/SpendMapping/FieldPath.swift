import EventModel

/// Where a value lies in an IDoc: segment names separated by `/`, each optionally filtered by
/// a field's value in brackets, then the field's name. `E1EDKA1[PARVW=LF]/PARTN` is the
/// `PARTN` field of the first `E1EDKA1` segment whose `PARVW` is `LF`; `E1EDS01[SUMID=010|011]`
/// accepts either value. A path is read from the segment it is given (the IDoc for header
/// fields, one item segment for item fields); `EDI_DC40/DOCNUM` reads the control record.
/// The first segment is looked for at any depth, in document order (some systems write flat
/// IDocs whose header segments nest under `E1EDK01`); each further one is a direct child.
/// Namespaced names are written as XML writes them (`/NS/NAME` as `_-NS_-NAME`).
public struct FieldPath: Sendable, Hashable, CustomStringConvertible {
    public struct Step: Sendable, Hashable {
        public var segment: String
        public var filterField: String?
        public var filterValues: [String]
    }

    public var steps: [Step]
    public var field: String
    public let description: String

    /// Parses `text`; throws a message that says what is wrong with it.
    public init(parsing text: String) throws(FieldPathError) {
        description = text
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard let last = parts.last, !text.isEmpty else { throw FieldPathError("a path is empty") }
        guard Self.isName(last) else {
            throw FieldPathError("'\(text)' does not end in a field name (letters, digits, '_' and '-')")
        }
        field = last
        steps = []
        for part in parts.dropLast() {
            steps.append(try Self.step(part, in: text))
        }
    }

    /// A segment path without a field (an item segment): every part is a step.
    public static func segments(parsing text: String) throws(FieldPathError) -> [Step] {
        guard !text.isEmpty else { throw FieldPathError("a segment path is empty") }
        var result: [Step] = []
        for part in text.split(separator: "/", omittingEmptySubsequences: false) {
            result.append(try step(String(part), in: text))
        }
        return result
    }

    private static func step(_ part: String, in text: String) throws(FieldPathError) -> Step {
        guard let open = part.firstIndex(of: "[") else {
            guard isName(part) else { throw FieldPathError("'\(part)' in '\(text)' is not a segment name") }
            return Step(segment: part, filterField: nil, filterValues: [])
        }
        let name = String(part[..<open])
        guard isName(name), part.hasSuffix("]") else {
            throw FieldPathError("'\(part)' in '\(text)' is not SEGMENT[FIELD=VALUE]")
        }
        let filter = part[part.index(after: open)..<part.index(before: part.endIndex)]
        let pieces = filter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
        guard pieces.count == 2, isName(String(pieces[0])), !pieces[1].isEmpty else {
            throw FieldPathError("the filter '[\(filter)]' in '\(text)' is not [FIELD=VALUE] or [FIELD=VALUE|VALUE]")
        }
        return Step(
            segment: name, filterField: String(pieces[0]),
            filterValues: pieces[1].split(separator: "|").map { $0.trimmingBlanks })
    }

    static func isName(_ text: some StringProtocol) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x5F || byte == 0x2D
        }
    }

    /// The first non-empty value the path finds below `segment`.
    public func value(in segment: IDocSegment) -> String? {
        Self.first(steps[...], in: segment) { found in
            guard let value = found.field(field), !value.isEmpty else { return nil }
            return value
        }
    }

    /// Every segment the steps reach below `segment`, in document order.
    public static func matches(_ steps: [Step], in segment: IDocSegment) -> [IDocSegment] {
        var found: [IDocSegment] = []
        collect(steps[...], in: segment, into: &found)
        return found
    }

    private static func collect(
        _ steps: ArraySlice<Step>, in segment: IDocSegment, anyDepth: Bool = true, into found: inout [IDocSegment]
    ) {
        guard let step = steps.first else {
            found.append(segment)
            return
        }
        for child in segment.children {
            if step.accepts(child) {
                collect(steps.dropFirst(), in: child, anyDepth: false, into: &found)
            } else if anyDepth {
                collect(steps, in: child, anyDepth: true, into: &found)
            }
        }
    }

    private static func first(
        _ steps: ArraySlice<Step>, in segment: IDocSegment, anyDepth: Bool = true, _ read: (IDocSegment) -> String?
    ) -> String? {
        guard let step = steps.first else { return read(segment) }
        for child in segment.children {
            if step.accepts(child) {
                if let value = first(steps.dropFirst(), in: child, anyDepth: false, read) { return value }
            } else if anyDepth, let value = first(steps, in: child, anyDepth: true, read) {
                return value
            }
        }
        return nil
    }

    public static func == (lhs: FieldPath, rhs: FieldPath) -> Bool { lhs.description == rhs.description }
    public func hash(into hasher: inout Hasher) { hasher.combine(description) }
}

extension FieldPath.Step {
    func accepts(_ segment: IDocSegment) -> Bool {
        guard segment.name == self.segment else { return false }
        guard let filterField else { return true }
        guard let value = segment.field(filterField) else { return false }
        return filterValues.contains(value)
    }
}

/// Why a field path could not be parsed.
public struct FieldPathError: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

extension StringProtocol {
    /// The text without leading and trailing blanks (spaces and tabs).
    var trimmingBlanks: String {
        var slice = Substring(self)
        while let first = slice.first, first == " " || first == "\t" { slice.removeFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice.removeLast() }
        return String(slice)
    }
}
