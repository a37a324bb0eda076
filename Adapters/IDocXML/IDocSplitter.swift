#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Cuts the raw bytes of a UTF-8 XML input into IDocs: it finds the root element's start tag
/// and every `<IDOC>` child of the root, and queues each IDoc's bytes, exactly as they are in
/// the input, wrapped in the root's start and end tags.
///
/// It is a tokenizer, not a parser. libxml2 parses the same bytes in the same order and
/// refuses whatever is not well-formed; the splitter only has to be right for well-formed
/// XML, and its output is dropped whenever libxml2 reports an error. It knows just enough
/// of the syntax not to be fooled by markup characters where they are text: quoted attribute
/// values, comments, CDATA sections and processing instructions. It runs ahead of the parser
/// (it sees each slice before libxml2 does), so when libxml2 reports the end of IDoc *n*,
/// IDoc *n* is already queued.
final class IDocSplitter {
    private enum State {
        case text
        case markupOpen
        case startTagName
        case startTag
        case quoted(UInt8)
        case endTag
        case bang
        case commentOpen
        case comment(dashes: Int)
        case cdata(brackets: Int)
        case processingInstruction(afterQuestionMark: Bool)
        case declaration
    }

    /// What an element start at the current markup is to the splitter.
    private enum Candidate {
        case none
        case root
        case idoc
    }

    private static let idocName = Array("IDOC".utf8)

    /// Largest IDoc (with the root's tags around it) that is queued; a larger one stops the split.
    private let limit: Int

    private var state = State.text
    /// Element depth outside the current markup: 0 before the root, 1 inside it.
    private var depth = 0
    private var rootClosed = false
    /// The markup being read may start the root (depth 0) or an IDoc (depth 1).
    private var candidate = Candidate.none
    /// The element name being read, while it is a candidate's.
    private var name: [UInt8] = []
    /// Whether the byte before the current one in a start tag was `/` (an empty element).
    private var slash = false
    /// Whether bytes are being copied into `current` (a candidate's markup or an open IDoc).
    private var capturing = false
    private var idocOpen = false
    private var current: [UInt8] = []

    /// `<ROOT …>` exactly as in the input, once seen.
    private(set) var rootStartTag: [UInt8] = []
    private var rootEndTag: [UInt8] = []
    /// IDocs read but not yet taken, oldest first.
    /// (A few at most: the splitter runs ahead of the parser by one read of libxml2's.)
    private var completed: [[UInt8]] = []
    /// IDocs found so far.
    private(set) var idocsFound = 0
    /// Set when an IDoc (or the root's start tag) outgrew `limit`; nothing is split after it.
    private(set) var oversized = false

    init(limit: Int) {
        self.limit = limit
    }

    /// The oldest IDoc not yet taken, `<ROOT …><IDOC …>…</IDOC></ROOT>`.
    func takeCompleted() -> [UInt8]? {
        completed.isEmpty ? nil : completed.removeFirst()
    }

    /// Reads the next slice of input; false once an IDoc has outgrown the limit.
    func scan(_ slice: UnsafeRawBufferPointer) -> Bool {
        guard !oversized else { return false }
        guard let base = slice.baseAddress, slice.count > 0 else { return true }
        let bytes = base.assumingMemoryBound(to: UInt8.self)
        let count = slice.count
        var index = 0
        var copyFrom = 0
        while index < count {
            let byte = bytes[index]
            switch state {
            case .text:
                index = IDocSplitter.position(of: UInt8(ascii: "<"), in: bytes, from: index, count: count)
                guard index < count else { continue }
                state = .markupOpen
                if !rootClosed && depth <= 1 && !idocOpen {
                    candidate = depth == 0 ? .root : .idoc
                    name.removeAll(keepingCapacity: true)
                    current.removeAll(keepingCapacity: true)
                    if candidate == .idoc { current += rootStartTag }
                    capturing = true
                    copyFrom = index
                }
            case .markupOpen:
                switch byte {
                case UInt8(ascii: "/"): state = .endTag
                case UInt8(ascii: "!"): state = .bang
                case UInt8(ascii: "?"): state = .processingInstruction(afterQuestionMark: false)
                default:
                    state = .startTagName
                    slash = false
                    continue
                }
                if candidate != .none { dropCandidate() }
            case .startTagName:
                var end = index
                while end < count && !IDocSplitter.endsName(bytes[end]) { end += 1 }
                if candidate != .none { name.append(contentsOf: UnsafeBufferPointer(start: bytes + index, count: end - index)) }
                index = end
                guard end < count else { continue }
                state = .startTag
                if candidate == .idoc && !IDocSplitter.isIDocName(name) { dropCandidate() }
                continue
            case .startTag:
                var sawSlash = slash
                var current = byte
                while current != UInt8(ascii: ">") && current != UInt8(ascii: "\"") && current != UInt8(ascii: "'") {
                    sawSlash = current == UInt8(ascii: "/")
                    index += 1
                    guard index < count else { break }
                    current = bytes[index]
                }
                slash = sawSlash
                guard index < count else { continue }
                if current == UInt8(ascii: ">") {
                    state = .text
                    if candidate != .none {
                        save(bytes, from: copyFrom, through: index)
                        copyFrom = index + 1
                        startTagEnded(empty: sawSlash)
                    }
                    if !sawSlash { depth += 1 }
                } else {
                    state = .quoted(current)
                    slash = false
                }
            case .quoted(let quote):
                index = IDocSplitter.position(of: quote, in: bytes, from: index, count: count)
                guard index < count else { continue }
                state = .startTag
            case .endTag:
                index = IDocSplitter.position(of: UInt8(ascii: ">"), in: bytes, from: index, count: count)
                guard index < count else { continue }
                state = .text
                depth -= 1
                if depth == 0 { rootClosed = true }
                if idocOpen && depth == 1 {
                    save(bytes, from: copyFrom, through: index)
                    copyFrom = index + 1
                    finishIDoc()
                }
            case .bang:
                switch byte {
                case UInt8(ascii: "-"): state = .commentOpen
                case UInt8(ascii: "["): state = .cdata(brackets: 0)
                default: state = .declaration
                }
            case .commentOpen:
                state = .comment(dashes: 0)
            case .comment(let dashes):
                if byte == UInt8(ascii: "-") {
                    state = .comment(dashes: dashes + 1)
                } else {
                    state = byte == UInt8(ascii: ">") && dashes >= 2 ? .text : .comment(dashes: 0)
                }
            case .cdata(let brackets):
                if byte == UInt8(ascii: "]") {
                    state = .cdata(brackets: brackets + 1)
                } else {
                    state = byte == UInt8(ascii: ">") && brackets >= 2 ? .text : .cdata(brackets: 0)
                }
            case .processingInstruction(let afterQuestionMark):
                if byte == UInt8(ascii: ">") && afterQuestionMark {
                    state = .text
                } else {
                    state = .processingInstruction(afterQuestionMark: byte == UInt8(ascii: "?"))
                }
            case .declaration:
                if byte == UInt8(ascii: ">") { state = .text }
            }
            index += 1
        }
        if capturing {
            save(bytes, from: copyFrom, through: count - 1)
        }
        return !oversized
    }

    /// Appends `bytes[from...through]` to the capture and checks the limit.
    private func save(_ bytes: UnsafePointer<UInt8>, from: Int, through: Int) {
        guard capturing, from <= through else { return }
        current.append(contentsOf: UnsafeBufferPointer(start: bytes + from, count: through - from + 1))
        if current.count > limit {
            oversized = true
            capturing = false
        }
    }

    private func startTagEnded(empty: Bool) {
        switch candidate {
        case .root:
            rootStartTag = current
            rootEndTag = [UInt8(ascii: "<"), UInt8(ascii: "/")] + name + [UInt8(ascii: ">")]
            candidate = .none
            capturing = false
            if empty { rootClosed = true }
        case .idoc:
            candidate = .none
            idocOpen = true
            if empty { finishIDoc() }
        case .none:
            break
        }
    }

    private func finishIDoc() {
        current += rootEndTag
        idocOpen = false
        capturing = false
        idocsFound += 1
        if current.count > limit {
            oversized = true
            return
        }
        let reserve = current.count
        completed.append(current)
        current = []
        current.reserveCapacity(reserve)
    }

    private func dropCandidate() {
        candidate = .none
        capturing = false
    }

    /// Where `byte` next occurs in `bytes[index..<count]`, or `count`.
    @inline(__always)
    private static func position(of byte: UInt8, in bytes: UnsafePointer<UInt8>, from index: Int, count: Int) -> Int {
        guard let found = memchr(bytes + index, Int32(byte), count - index) else { return count }
        return UnsafePointer(found.assumingMemoryBound(to: UInt8.self)) - bytes
    }

    private static func endsName(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: ">") || byte == UInt8(ascii: "/") || XMLSyntax.isBlank(byte)
    }

    /// `IDOC`, or `prefix:IDOC` (the reader matches local names).
    private static func isIDocName(_ name: [UInt8]) -> Bool {
        guard name.count >= idocName.count else { return false }
        let local = name.lastIndex(of: UInt8(ascii: ":")).map { name.index(after: $0) } ?? 0
        return name[local...].elementsEqual(idocName)
    }
}
