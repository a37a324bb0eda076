internal import CLibXML2
import EventModel

/// Collects the first error libxml2 reports while one input is parsed.
///
/// Installed as the reader's structured error handler (and, for errors raised without a
/// parser, as the thread's), so libxml2 never prints to stderr. One log per decode: no
/// state is shared between threads.
final class XMLErrorLog {
    /// The first error (warnings are ignored).
    struct Entry {
        var code: Int32
        var domain: Int32
        var message: String
        var line: Int32
        /// Bytes the parser had not yet read from its input buffer when it raised the error
        /// (nil when the error did not come from a parser); 0 with the whole input fed means
        /// the input ended where the parser stopped.
        var bytesLeft: Int?
    }

    private(set) var first: Entry?

    func record(_ error: xmlErrorPtr) {
        guard first == nil, error.pointee.level.rawValue >= XML_ERR_ERROR.rawValue else { return }
        let text = error.pointee.message.map { String(cString: $0) } ?? "unknown error"
        first = Entry(
            code: error.pointee.code, domain: error.pointee.domain,
            message: text.trimmingBlanks(), line: error.pointee.line, bytesLeft: XMLErrorLog.bytesLeft(error))
    }

    private static func bytesLeft(_ error: xmlErrorPtr) -> Int? {
        let domain = error.pointee.domain
        guard domain == Int32(XML_FROM_PARSER.rawValue) || domain == Int32(XML_FROM_NAMESPACE.rawValue),
              let context = error.pointee.ctxt?.assumingMemoryBound(to: xmlParserCtxt.self),
              let input = context.pointee.input, let cur = input.pointee.cur, let end = input.pointee.end
        else { return nil }
        return end - cur
    }

    /// The C callback: `context` is an unretained `XMLErrorLog`.
    static let handler: xmlStructuredErrorFunc = { context, error in
        guard let context, let error else { return }
        Unmanaged<XMLErrorLog>.fromOpaque(context).takeUnretainedValue().record(error)
    }
}
