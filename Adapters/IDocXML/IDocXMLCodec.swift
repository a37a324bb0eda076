internal import CLibXML2
import EventModel

/// Reads SAP IDoc XML files: one ``DocumentRecord`` per `<IDOC>` child of the root element.
///
/// Each record's `data` is that IDoc wrapped in the file's root element
/// (`<ORDERS05 …><IDOC BEGIN="1">…</IDOC></ORDERS05>`), as UTF-8 without an XML declaration,
/// whatever the input's encoding (UTF-8 with or without BOM, ISO-8859-1, …). The control
/// record comes from the IDoc's `EDI_DC40` child.
///
/// The input is streamed with libxml2's reader: only one IDoc is held in memory at a time.
/// Hostile input is refused: any document type declaration (so no entity is ever expanded
/// and nothing outside the input is read), nesting beyond ``CodecLimits/maxDepth``, an IDoc
/// beyond ``CodecLimits/maxDocumentBytes``. Safe to use from several threads at once.
public struct IDocXMLCodec: DocumentCodec {
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
            let reader = try IDocXMLReader(input, errors: errors)
            try reader.readIDocs(limits: limits, emit: emit)
        }
    }

    /// `xmlInitParser()`, once per process.
    private static let libraryReady: Void = xmlInitParser()
}
