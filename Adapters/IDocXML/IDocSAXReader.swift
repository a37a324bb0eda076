internal import CLibXML2
import EventModel

/// The fast way through a UTF-8 input: libxml2's SAX parser checks the XML and reads each
/// IDoc's control record, while ``IDocSplitter`` copies each IDoc's bytes as they are in the
/// input. No tree is built and nothing is serialised again.
///
/// Used only for inputs in UTF-8 (see ``XMLInputEncoding``), where the input's bytes already
/// are what a record's `data` must be.
final class IDocSAXReader {
    private let feed: XMLInputFeed
    private let errors: XMLErrorLog
    private let splitter: IDocSplitter
    private let limits: CodecLimits
    private var context: xmlParserCtxtPtr?
    private var emit: ((DocumentRecord) throws -> Void)?

    /// Depth of the element being read (the root is 1).
    private var depth = 0
    private var rootName: String?
    private var ordinal = 0
    private var inIDoc = false
    private var idocLine: Int32 = 0
    private var controlSeen = false
    private var inControl = false
    private var control = ControlRecord()
    /// The control record field being read, and its text so far.
    private var field: ControlRecordFields.Field?
    private var fieldText: [UInt8] = []
    /// What stopped the parse from inside a callback (a rejection, or `emit`'s own error).
    private var failure: (any Error)?

    private static let options = Int32(XML_PARSE_NONET.rawValue)
    private static let idocName = Array("IDOC".utf8)
    private static let controlRecordName = Array("EDI_DC40".utf8)

    init(feed: XMLInputFeed, errors: XMLErrorLog, limits: CodecLimits) {
        self.feed = feed
        self.errors = errors
        self.limits = limits
        splitter = IDocSplitter(limit: limits.maxDocumentBytes)
        feed.splitter = splitter
    }

    /// Reads the input to its end, calling `emit` for each IDoc.
    func readIDocs(emit: (DocumentRecord) throws -> Void) throws {
        var handler = IDocSAXReader.makeHandler()
        let me = Unmanaged.passUnretained(self).toOpaque()
        let feedContext = Unmanaged.passUnretained(feed).toOpaque()
        guard let context = xmlCreateIOParserCtxt(&handler, me, XMLInputFeed.readCallback, nil, feedContext, XML_CHAR_ENCODING_NONE) else {
            throw XMLFailure(feed: feed, errors: errors, parserOffset: nil, rootSeen: false).rejection()
        }
        self.context = context
        defer {
            xmlFreeParserCtxt(context)
            self.context = nil
        }
        xmlCtxtUseOptions(context, IDocSAXReader.options)
        withoutActuallyEscaping(emit) { emit in
            self.emit = emit
            defer { self.emit = nil }
            xmlParseDocument(context)
        }
        if let failure { throw failure }
        if splitter.oversized {
            throw DocumentRejection(.documentTooLarge, "IDoc \(splitter.idocsFound + 1) is larger than \(limits.maxDocumentBytes) bytes; the limit is codec max_document_size")
        }
        if context.pointee.wellFormed == 0 || errors.first != nil || feed.foundDoctype || feed.readErrno != nil {
            throw XMLFailure(
                feed: feed, errors: errors, parserOffset: nil, rootSeen: rootName != nil
            ).rejection()
        }
        guard ordinal > 0 else {
            let detail = rootName.map { "the root element <\($0)> holds no <IDOC> element" } ?? "the input holds no XML element"
            throw DocumentRejection(.noDocuments, detail)
        }
        guard splitter.idocsFound == ordinal else {
            throw DocumentRejection(.malformedXML, IDocSAXReader.disagreement)
        }
    }

    private static let disagreement = "the IDoc splitter and libxml2 disagree on where the IDocs are (a bug in Outpost: please report it with the file)"

    private var line: Int32 {
        guard let input = context?.pointee.input else { return 0 }
        return input.pointee.line
    }

    private func stop(_ error: any Error) {
        guard failure == nil else { return }
        failure = error
        if let context { xmlStopParser(context) }
    }

    private func elementStarted(localName: UnsafePointer<xmlChar>, prefix: UnsafePointer<xmlChar>?) {
        guard failure == nil else { return }
        depth += 1
        guard depth <= limits.maxDepth else {
            if inIDoc {
                stop(DocumentRejection(.tooDeep, "IDoc \(ordinal + 1) (line \(idocLine)) nests elements deeper than \(limits.maxDepth) levels; the limit is codec max_depth"))
            } else {
                stop(DocumentRejection(.tooDeep, "elements nest deeper than \(limits.maxDepth) levels (line \(line)); the limit is codec max_depth"))
            }
            return
        }
        switch depth {
        case 1:
            var name = prefix.map { XMLName.bytes($0) + [UInt8(ascii: ":")] } ?? []
            name += XMLName.bytes(localName)
            rootName = String(decoding: name, as: UTF8.self)
            if context?.pointee.input.pointee.buf.pointee.encoder != nil {
                stop(DocumentRejection(.badEncoding, "the input is not UTF-8 although it looked so at its start"))
            }
        case 2:
            guard XMLName.matches(localName, IDocSAXReader.idocName) else { return }
            inIDoc = true
            idocLine = line
            controlSeen = false
            control = ControlRecord()
        case 3:
            guard inIDoc, !controlSeen, XMLName.matches(localName, IDocSAXReader.controlRecordName) else { return }
            controlSeen = true
            inControl = true
        case 4:
            guard inControl else { return }
            field = ControlRecordFields.field(named: localName)
            fieldText.removeAll(keepingCapacity: true)
            if field != nil { wantText(true) }
        default:
            break
        }
    }

    private func elementEnded() {
        guard failure == nil else { return }
        defer { depth -= 1 }
        switch depth {
        case 2:
            guard inIDoc else { return }
            inIDoc = false
            idocEnded()
        case 3:
            inControl = false
        case 4:
            guard let field else { return }
            field.set(ControlRecordFields.trimmed(fieldText), in: &control)
            self.field = nil
            wantText(false)
        default:
            break
        }
    }

    private func text(_ bytes: UnsafePointer<xmlChar>?, _ count: Int32) {
        guard field != nil, let bytes, count > 0 else { return }
        fieldText.append(contentsOf: UnsafeBufferPointer(start: bytes, count: Int(count)))
    }

    private func idocEnded() {
        guard controlSeen else {
            stop(DocumentRejection(.noControlRecord, "IDoc \(ordinal + 1) (line \(idocLine)) has no EDI_DC40 control record; every <IDOC> must start with one"))
            return
        }
        guard let data = splitter.takeCompleted() else {
            stop(DocumentRejection(.malformedXML, IDocSAXReader.disagreement))
            return
        }
        guard data.count <= limits.maxDocumentBytes else {
            stop(XMLFailure.tooLarge(ordinal: ordinal, line: idocLine, limit: limits.maxDocumentBytes))
            return
        }
        do {
            try data.withUnsafeBytes { bytes in
                try emit?(DocumentRecord(
                    ordinal: ordinal, control: control, rootName: rootName, contentType: "application/xml", data: bytes))
            }
            ordinal += 1
        } catch {
            stop(error)
        }
    }


    /// Calls `body` with the reader behind a callback's `context` (the parser's user data),
    /// without retaining it: the reader outlives the parse.
    @inline(__always)
    private static func withReader(_ context: UnsafeMutableRawPointer?, _ body: (IDocSAXReader) -> Void) {
        guard let context else { return }
        Unmanaged<IDocSAXReader>.fromOpaque(context)._withUnsafeGuaranteedRef(body)
    }

    /// Text is wanted only inside the control record fields Outpost keeps: the text callbacks
    /// are installed in the parser's handler there and removed after, so libxml2 does not
    /// call out for the rest of the text (most of an IDoc).
    private func wantText(_ wanted: Bool) {
        guard let sax = context?.pointee.sax else { return }
        sax.pointee.characters = wanted ? IDocSAXReader.textCallback : nil
        sax.pointee.cdataBlock = wanted ? IDocSAXReader.textCallback : nil
    }

    private static let textCallback: charactersSAXFunc = { context, bytes, count in
        IDocSAXReader.withReader(context) { $0.text(bytes, count) }
    }

    /// The SAX2 callbacks: elements and a backstop for a document type declaration (text is
    /// switched on where needed, see ``wantText(_:)``). Everything else is left undone.
    private static func makeHandler() -> xmlSAXHandler {
        var handler = xmlSAXHandler()
        handler.initialized = XML_SAX2_MAGIC
        handler.startElementNs = { context, localName, prefix, _, _, _, _, _, _ in
            guard let localName else { return }
            IDocSAXReader.withReader(context) { $0.elementStarted(localName: localName, prefix: prefix) }
        }
        handler.endElementNs = { context, _, _, _ in
            IDocSAXReader.withReader(context) { $0.elementEnded() }
        }
        handler.internalSubset = { context, _, _, _ in
            IDocSAXReader.withReader(context) { $0.stop(DocumentRejection(.dtdForbidden, XMLFailure.doctypeDetail)) }
        }
        return handler
    }
}
