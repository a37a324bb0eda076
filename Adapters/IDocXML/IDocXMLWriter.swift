internal import CLibXML2

/// Serialises one expanded `<IDOC>` subtree, wrapped in its file's root element, into a
/// reusable UTF-8 buffer.
///
/// libxml2 writes the subtree with encoding UTF-8, so characters stay characters (no
/// `&#x…;` references) while `&`, `<` and `>` in text stay escaped.
final class IDocXMLWriter {
    private let buffer: xmlBufferPtr
    private let startTag: [UInt8]
    private let endTag: [UInt8]

    /// - Parameters:
    ///   - startTag: the root element's start tag, `<NAME attrs…>`.
    ///   - endTag: the root element's end tag, `</NAME>`.
    init?(startTag: [UInt8], endTag: [UInt8]) {
        guard let buffer = xmlBufferCreateSize(16 << 10) else { return nil }
        self.buffer = buffer
        self.startTag = startTag
        self.endTag = endTag
    }

    deinit { xmlBufferFree(buffer) }

    /// Writes `<ROOT …><IDOC …>…</IDOC></ROOT>`; the bytes stay valid until the next call.
    /// Returns nil when libxml2 cannot serialise the node (out of memory).
    func write(_ idoc: xmlNodePtr, of document: xmlDocPtr?) -> UnsafeRawBufferPointer? {
        // Without a declared encoding libxml2 writes non-ASCII attribute characters as
        // `&#x…;`; telling it the document is UTF-8 (which its tree always is) keeps them.
        if let document, document.pointee.encoding == nil {
            document.pointee.encoding = UnsafePointer(xmlCharStrdup("UTF-8"))
        }
        xmlBufferEmpty(buffer)
        guard append(startTag), xmlNodeDump(buffer, document, idoc, 0, 0) >= 0, append(endTag),
              let content = xmlBufferContent(buffer)
        else { return nil }
        return UnsafeRawBufferPointer(start: content, count: Int(xmlBufferLength(buffer)))
    }

    private func append(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer { xmlBufferAdd(buffer, $0.baseAddress, Int32($0.count)) == 0 }
    }
}
