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
    }

    private(set) var first: Entry?

    func record(_ error: xmlErrorPtr) {
        guard first == nil, error.pointee.level.rawValue >= XML_ERR_ERROR.rawValue else { return }
        let text = error.pointee.message.map { String(cString: $0) } ?? "unknown error"
        first = Entry(
            code: error.pointee.code, domain: error.pointee.domain,
            message: text.trimmingBlanks(), line: error.pointee.line)
    }

    /// The C callback: `context` is an unretained `XMLErrorLog`.
    static let handler: xmlStructuredErrorFunc = { context, error in
        guard let context, let error else { return }
        Unmanaged<XMLErrorLog>.fromOpaque(context).takeUnretainedValue().record(error)
    }
}
