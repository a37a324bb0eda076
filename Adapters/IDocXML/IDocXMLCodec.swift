#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
internal import CLibXML2
import EventModel

/// Reads SAP IDoc XML files: one ``DocumentRecord`` per `<IDOC>` child of the root element.
///
/// Each record's `data` is that IDoc wrapped in the file's root element
/// (`<ORDERS05 …><IDOC BEGIN="1">…</IDOC></ORDERS05>`), as UTF-8 without an XML declaration,
/// whatever the input's encoding (UTF-8 with or without BOM, ISO-8859-1, …). The control
/// record comes from the IDoc's `EDI_DC40` child.
///
/// A UTF-8 input (the usual case) is read by ``PlainIDocScanner`` in one pass, or, when the
/// scanner is unsure (not plain XML, or something wrong), checked by libxml2's SAX parser;
/// either way each IDoc's bytes are copied as they are, root start tag included: `data` is
/// byte for byte what the file holds. An input in another encoding goes through libxml2's
/// streaming reader, each IDoc's subtree is expanded and written out again as UTF-8. Every
/// way streams the input: only one IDoc (and what is read ahead) is held in memory at a time.
/// Hostile input is refused: any document type declaration (so no entity is ever expanded
/// and nothing outside the input is read), nesting beyond ``CodecLimits/maxDepth``, an IDoc
/// beyond ``CodecLimits/maxDocumentBytes``. Safe to use from several threads at once.
public struct IDocXMLCodec: DocumentCodec {
    /// Whether UTF-8 inputs take the fast path (their IDocs' bytes copied as they are); when
    /// false every input goes through libxml2's tree and serialiser (tests compare the two).
    var copiesUTF8Input = true
    /// Whether UTF-8 inputs are first read by ``PlainIDocScanner`` (libxml2 only when it is
    /// unsure); when false libxml2 reads every one (tests compare the two).
    var scansPlainXML = true
    /// The scanner's first buffer size (tests use tiny ones to cut markup everywhere).
    var plainScannerBuffer = 256 << 10
    /// Whether the scanner reads an input in memory where it is; when false it copies it into
    /// its buffer chunk by chunk, as it reads a file (tests cut such inputs at every size).
    var scansInPlace = true

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
                var skip = 0
                let scans = scansPlainXML && Self.canBeReadTwice(input)
                if scans {
                    var scanner = PlainIDocScanner(input, limits: limits, bufferSize: plainScannerBuffer, inPlace: scansInPlace)
                    try Self.rewind(input)
                    if try scanner.scan(emit: emit) { return }
                    // Not plain XML, or something wrong: libxml2 reads it all again and
                    // decides; the IDocs already emitted are not emitted twice.
                    skip = scanner.emitted
                    try Self.rewind(input)
                }
                let again = scans ? XMLInputFeed(input) : feed
                try IDocSAXReader(feed: again, errors: errors, limits: limits).readIDocs { record in
                    if skip > 0 {
                        skip -= 1
                        return
                    }
                    try emit(record)
                }
            } else {
                try IDocXMLReader(feed: feed, errors: errors).readIDocs(limits: limits, emit: emit)
            }
        }
    }

    /// Whether the input can be read again from its start (bytes, a regular file; not a pipe).
    private static func canBeReadTwice(_ input: DocumentInput) -> Bool {
        guard case .fileDescriptor(let fd) = input else { return true }
        var status = stat()
        return fstat(fd, &status) == 0 && (status.st_mode & S_IFMT) == S_IFREG
    }

    /// Seeks the input back to its start for another reading; a failure refuses it, as a
    /// failed read does.
    private static func rewind(_ input: DocumentInput) throws(DocumentRejection) {
        do {
            try input.rewind()
        } catch {
            throw DocumentRejection(.unreadable, "cannot read the input again: \(String(cString: strerror(error.code.rawValue)))")
        }
    }

    /// `xmlInitParser()`, once per process.
    private static let libraryReady: Void = xmlInitParser()
}
