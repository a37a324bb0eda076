internal import CLibXML2
import EventModel

/// Reads SAP IDoc XML files: one ``DocumentRecord`` per `<IDOC>` child of the root element.
///
/// Each record's `data` is that IDoc wrapped in the file's root element
/// (`<ORDERS05 …><IDOC BEGIN="1">…</IDOC></ORDERS05>`), as UTF-8 without an XML declaration,
/// whatever the input's encoding (UTF-8 with or without BOM, ISO-8859-1, …). The control
/// record comes from the IDoc's `EDI_DC40` child.
///
/// A UTF-8 input (the usual case) is checked by libxml2's SAX parser while each IDoc's bytes
/// are copied as they are, root start tag included: `data` is byte for byte what the file
/// holds. An input in another encoding goes through libxml2's streaming reader, each IDoc's
/// subtree is expanded and written out again as UTF-8. Either way the input is streamed:
/// only one IDoc (and what libxml2 reads ahead) is held in memory at a time.
/// Hostile input is refused: any document type declaration (so no entity is ever expanded
/// and nothing outside the input is read), nesting beyond ``CodecLimits/maxDepth``, an IDoc
/// beyond ``CodecLimits/maxDocumentBytes``. Safe to use from several threads at once.
public struct IDocXMLCodec: DocumentCodec {
    /// Whether UTF-8 inputs take the fast path (their IDocs' bytes copied as they are); when
    /// false every input goes through libxml2's tree and serialiser (tests compare the two).
    var copiesUTF8Input = true

    /// A codec; it holds no state, so one value may serve any number of inputs and threads.
    public init() {}

    /// `idoc-xml`.
    public var format: DocumentFormat { .idocXML }

    /// Decodes `input`, calling `emit` once per IDoc in file order; throws
    /// ``DocumentRejection`` when the input is refused.
    public func decode(
        _ input: DocumentInput, limits: CodecLimits, emit: (DocumentRecord) throws -> Void
    ) throws {
        IDocXMLCodec.libraryReady
        let errors = XMLErrorLog()
        var handler: xmlStructuredErrorFunc? = XMLErrorLog.handler
        var context: UnsafeMutableRawPointer? = Unmanaged.passUnretained(errors).toOpaque()
        cxml_swap_thread_error_handler(&handler, &context)
        defer { cxml_swap_thread_error_handler(&handler, &context) }
        try withExtendedLifetime(errors) {
            let feed = XMLInputFeed(input)
            if copiesUTF8Input && feed.withPrefix(XMLInputEncoding.isUTF8) {
                try IDocSAXReader(feed: feed, errors: errors, limits: limits).readIDocs(emit: emit)
            } else {
                try IDocXMLReader(feed: feed, errors: errors).readIDocs(limits: limits, emit: emit)
            }
        }
    }

    /// `xmlInitParser()`, once per process.
    private static let libraryReady: Void = xmlInitParser()
}
