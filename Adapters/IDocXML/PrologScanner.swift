/// Watches the bytes before the root element for a document type declaration.
///
/// The prolog may hold only white space, the XML declaration, processing instructions,
/// comments and `<!DOCTYPE …>`; so any `<!` there that does not open a comment is refused.
/// Works on ASCII-compatible encodings (UTF-8, ISO-8859-*); for others (UTF-16) the reader's
/// own document-type node is the backstop. Stops looking once the root element starts.
struct PrologScanner {
    private enum State {
        case text
        case markupOpen
        case processingInstruction(afterQuestionMark: Bool)
        case bang(dashes: Int)
        case comment(dashes: Int)
        case rootReached
    }

    private static let utf8ByteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]

    private var state = State.text
    private var bytesSeen = 0
    private var byteOrderMarkBytes = 0
    private(set) var foundDoctype = false
    private(set) var firstSignificantByte: UInt8?

    /// Scans the next slice of input; false when it holds (the start of) a DOCTYPE.
    mutating func admit(_ bytes: UnsafeRawBufferPointer) -> Bool {
        if case .rootReached = state { return true }
        for byte in bytes {
            noteSignificance(of: byte)
            switch state {
            case .text:
                if byte == UInt8(ascii: "<") { state = .markupOpen }
            case .markupOpen:
                switch byte {
                case UInt8(ascii: "?"): state = .processingInstruction(afterQuestionMark: false)
                case UInt8(ascii: "!"): state = .bang(dashes: 0)
                default: state = .rootReached
                }
            case .processingInstruction(let afterQuestionMark):
                if afterQuestionMark && byte == UInt8(ascii: ">") {
                    state = .text
                } else {
                    state = .processingInstruction(afterQuestionMark: byte == UInt8(ascii: "?"))
                }
            case .bang(let dashes):
                guard byte == UInt8(ascii: "-") else {
                    foundDoctype = true
                    return false
                }
                state = dashes == 0 ? .bang(dashes: 1) : .comment(dashes: 0)
            case .comment(let dashes):
                if byte == UInt8(ascii: "-") {
                    state = .comment(dashes: dashes + 1)
                } else if byte == UInt8(ascii: ">") && dashes >= 2 {
                    state = .text
                } else {
                    state = .comment(dashes: 0)
                }
            case .rootReached:
                return true
            }
        }
        return true
    }

    private mutating func noteSignificance(of byte: UInt8) {
        guard firstSignificantByte == nil else { return }
        if byteOrderMarkBytes == bytesSeen && bytesSeen < 3 && byte == PrologScanner.utf8ByteOrderMark[bytesSeen] {
            byteOrderMarkBytes += 1
            bytesSeen += 1
            return
        }
        bytesSeen += 1
        if XMLSyntax.isBlank(byte) { return }
        firstSignificantByte = byte
    }
}
