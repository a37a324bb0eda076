internal import CLibXML2
import EventModel

/// What was known when libxml2's reader stopped, turned into a ``DocumentRejection``.
struct XMLFailure {
    let feed: XMLInputFeed
    let errors: XMLErrorLog
    /// Where the reader's parser stood in the input, when a reader existed (libxml2's reader
    /// parses ahead of the node it reports, so the offset says whether the input ran out); nil
    /// for the SAX parser, whose errors carry their own position (``XMLErrorLog/Entry/bytesLeft``).
    let parserOffset: Int?
    let rootSeen: Bool

    static let doctypeDetail =
        "the input has a DOCTYPE (document type declaration); IDoc XML must not declare one, because entities and external references are refused"

    static func tooLarge(ordinal: Int, line: Int32, limit: Int) -> DocumentRejection {
        DocumentRejection(.documentTooLarge, "IDoc \(ordinal + 1) (line \(line)) is larger than \(limit) bytes; the limit is codec max_document_size")
    }

    /// - Parameter documentLimit: the size limit, when the reader stopped inside an IDoc.
    func rejection(documentLimit: Int? = nil) -> DocumentRejection {
        if feed.foundDoctype { return DocumentRejection(.dtdForbidden, XMLFailure.doctypeDetail) }
        if feed.exhaustedBudget, let documentLimit {
            return DocumentRejection(.documentTooLarge, "an IDoc is larger than \(documentLimit) bytes; the limit is codec max_document_size")
        }
        if let errno = feed.readErrno {
            return DocumentRejection(.unreadable, "reading the input failed (errno \(errno))")
        }
        guard let error = errors.first else {
            return DocumentRejection(.malformedXML, "libxml2 stopped without reporting an error")
        }
        if feed.firstSignificantByte == nil {
            return DocumentRejection(.noDocuments, "the input is empty or only white space")
        }
        let detail = "line \(error.line): \(error.message)"
        if error.code == Int32(XML_ERR_INTERNAL_ERROR.rawValue) && error.message.contains("Excessive depth") {
            return DocumentRejection(.tooDeep, "\(detail); elements nest too deep")
        }
        if isEncodingError(error) { return DocumentRejection(.badEncoding, detail) }
        if !rootSeen && feed.firstSignificantByte != UInt8(ascii: "<") {
            return DocumentRejection(.notXML, "the input does not start with XML markup (\(detail))")
        }
        if isPrematureEnd(error) {
            return DocumentRejection(.truncated, "the input ends in the middle of the document (\(detail)); was it copied completely?")
        }
        return DocumentRejection(.malformedXML, detail)
    }

    private func isEncodingError(_ error: XMLErrorLog.Entry) -> Bool {
        if error.domain == Int32(XML_FROM_I18N.rawValue) { return true }
        let codes: [xmlParserErrors] = [XML_ERR_INVALID_ENCODING, XML_ERR_UNSUPPORTED_ENCODING, XML_ERR_UNKNOWN_ENCODING]
        if codes.contains(where: { Int32($0.rawValue) == error.code }) { return true }
        // "Input is not proper UTF-8, indicate encoding !" shares its code with invalid characters.
        return error.code == Int32(XML_ERR_INVALID_CHAR.rawValue) && error.message.contains("encoding")
    }

    /// The parser ran out of input: it stopped at the very end of a completely read input
    /// (a mismatched end tag there is a real error, not a cut).
    private func isPrematureEnd(_ error: XMLErrorLog.Entry) -> Bool {
        guard feed.reachedEnd else { return false }
        let mismatch = error.code == Int32(XML_ERR_TAG_NAME_MISMATCH.rawValue)
        if let parserOffset {
            if error.message.contains("Premature end") { return true }
            return parserOffset >= feed.bytesFed && !mismatch
        }
        // The SAX parser: it stopped where the input ends, or earlier (a NUL byte reads as
        // "Premature end" too, but with input left after it).
        guard !mismatch else { return false }
        if let bytesLeft = error.bytesLeft { return bytesLeft == 0 }
        return error.message.contains("Premature end")
    }
}
