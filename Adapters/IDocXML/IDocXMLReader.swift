internal import CLibXML2
import EventModel

/// One pass of libxml2's streaming reader over one input in an encoding other than UTF-8:
/// each IDoc is expanded into a subtree and written out again as UTF-8.
final class IDocXMLReader {
    private let reader: xmlTextReaderPtr
    private let feed: XMLInputFeed
    private let errors: XMLErrorLog
    private var root: RootElement?

    /// Parser options: no network, compact text nodes. Deliberately without `NOENT`,
    /// `DTDLOAD` and `HUGE`, so libxml2's own limits stay in force.
    private static let options = Int32(XML_PARSE_NONET.rawValue | XML_PARSE_COMPACT.rawValue)
    /// Slack over the document limit for bytes libxml2 reads ahead of the IDoc's end.
    private static let readAheadAllowance = 256 << 10
    private static let idocName = Array("IDOC".utf8)

    init(feed: XMLInputFeed, errors: XMLErrorLog) throws {
        let context = Unmanaged.passUnretained(feed).toOpaque()
        guard let reader = xmlReaderForIO(XMLInputFeed.readCallback, nil, context, nil, nil, IDocXMLReader.options) else {
            throw XMLFailure(feed: feed, errors: errors, parserOffset: nil, rootSeen: false).rejection()
        }
        self.reader = reader
        self.feed = feed
        self.errors = errors
        xmlTextReaderSetStructuredErrorHandler(reader, XMLErrorLog.handler, Unmanaged.passUnretained(errors).toOpaque())
    }

    deinit { xmlFreeTextReader(reader) }

    /// Reads the input to its end, calling `emit` for each IDoc.
    func readIDocs(limits: CodecLimits, emit: (DocumentRecord) throws -> Void) throws {
        var writer: IDocXMLWriter?
        var ordinal = 0
        var status = xmlTextReaderRead(reader)
        while status == 1 {
            let type = xmlTextReaderNodeType(reader)
            if type == Int32(XML_READER_TYPE_DOCUMENT_TYPE.rawValue) || type == Int32(XML_READER_TYPE_ENTITY_REFERENCE.rawValue) {
                throw DocumentRejection(.dtdForbidden, XMLFailure.doctypeDetail)
            }
            guard type == Int32(XML_READER_TYPE_ELEMENT.rawValue) else {
                status = xmlTextReaderRead(reader)
                continue
            }
            let depth = Int(xmlTextReaderDepth(reader))
            guard depth < limits.maxDepth else {
                throw DocumentRejection(.tooDeep, "elements nest deeper than \(limits.maxDepth) levels (line \(xmlTextReaderGetParserLineNumber(reader))); the limit is codec max_depth")
            }
            if depth == 0 {
                let root = RootElement(reading: reader)
                self.root = root
                writer = IDocXMLWriter(startTag: root.startTag, endTag: root.endTag)
            } else if depth == 1, let writer, XMLName.matches(xmlTextReaderConstLocalName(reader), IDocXMLReader.idocName) {
                try emitIDoc(ordinal: ordinal, writer: writer, limits: limits, emit: emit)
                ordinal += 1
                status = xmlTextReaderNext(reader)
                continue
            }
            status = xmlTextReaderRead(reader)
        }
        if status < 0 || errors.first != nil {
            throw rejection()
        }
        guard ordinal > 0 else {
            let detail = root.map { "the root element <\($0.name)> holds no <IDOC> element" } ?? "the input holds no XML element"
            throw DocumentRejection(.noDocuments, detail)
        }
    }

    /// Expands the IDoc the reader stands on, checks it, and hands it to `emit`.
    private func emitIDoc(
        ordinal: Int, writer: IDocXMLWriter, limits: CodecLimits, emit: (DocumentRecord) throws -> Void
    ) throws {
        let line = xmlTextReaderGetParserLineNumber(reader)
        let (allowance, overflow) = limits.maxDocumentBytes.multipliedReportingOverflow(by: 2)
        feed.budget = overflow ? .max : feed.bytesFed.addingSaturating(allowance).addingSaturating(IDocXMLReader.readAheadAllowance)
        let expanded = xmlTextReaderExpand(reader)
        feed.budget = .max
        guard let idoc = expanded else {
            throw rejection(documentLimit: limits.maxDocumentBytes)
        }
        let tree = IDocTree(idoc: idoc)
        if tree.nests(deeperThan: limits.maxDepth - 2) {
            throw DocumentRejection(.tooDeep, "IDoc \(ordinal + 1) (line \(line)) nests elements deeper than \(limits.maxDepth) levels; the limit is codec max_depth")
        }
        guard let control = tree.controlRecord() else {
            throw DocumentRejection(.noControlRecord, "IDoc \(ordinal + 1) (line \(line)) has no EDI_DC40 control record; every <IDOC> must start with one")
        }
        guard let data = writer.write(idoc, of: idoc.pointee.doc) else {
            throw DocumentRejection(.malformedXML, "IDoc \(ordinal + 1) (line \(line)) could not be serialised (out of memory)")
        }
        guard data.count <= limits.maxDocumentBytes else {
            throw XMLFailure.tooLarge(ordinal: ordinal, line: line, limit: limits.maxDocumentBytes)
        }
        try emit(DocumentRecord(
            ordinal: ordinal, control: control, rootName: root?.name, contentType: "application/xml", data: data))
    }

    /// Why the reader stopped.
    private func rejection(documentLimit: Int? = nil) -> DocumentRejection {
        let failure = XMLFailure(
            feed: feed, errors: errors, parserOffset: Int(xmlTextReaderByteConsumed(reader)), rootSeen: root != nil)
        return failure.rejection(documentLimit: documentLimit)
    }

}

extension Int {
    fileprivate func addingSaturating(_ other: Int) -> Int {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? .max : sum
    }
}
