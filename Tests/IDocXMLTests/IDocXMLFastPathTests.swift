import EventModel
import Foundation
@testable import IDocXML
import TestSupport
import Testing

/// The fast path for UTF-8 inputs (libxml2's SAX parser plus ``IDocSplitter`` copying bytes)
/// against the tree path (libxml2's reader, each IDoc expanded and serialised), which every
/// input took before: same documents, same control records, same refusals; and `data` that
/// the tree path reads as the very IDoc it produces itself.
@Suite("IDoc XML codec: UTF-8 fast path")
struct IDocXMLFastPathTests {
    private static var treeCodec: IDocXMLCodec {
        var codec = IDocXMLCodec()
        codec.copiesUTF8Input = false
        return codec
    }

    /// Markup where a naive search for `<IDOC` or `</IDOC>` goes wrong.
    private static let tricky: String = {
        let control = XMLFixture.controlRecord(docnum: "9001")
        let first = "<IDOC BEGIN='1' NOTE=\"a > b, /IDOC> is text\" EMPTY=''>" + control
            + "<!-- </IDOC> in a comment --><?pi </IDOC> ?>"
            + "<T><![CDATA[ </IDOC> ]] > ]]]></T><E1 SEGMENT=\"1\"/><E2></E2>"
            + "<IDOC>nested, not at IDoc level</IDOC><U>&lt;/IDOC&gt; &#233;&#x41; &amp;</U>\r\n</IDOC>"
        let second = "<x:IDOC xmlns:x=\"urn:example\" BEGIN=\"1\">" + XMLFixture.controlRecord(docnum: "9002")
            + "<x:E1>\tText\t</x:E1></x:IDOC>"
        let third = "<IDOC\n BEGIN=\"1\"\n>" + XMLFixture.controlRecord(docnum: "9003") + "</IDOC\n>"
        return "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<!-- before > the root -->\n<?app x?>\n"
            + "<ORDERS05 xmlns:y=\"urn:y\" A=\"1 &amp; 2 &lt; 3\" B='\"'>\n<!-- <IDOC> -->\n"
            + "<HEADER><IDOC>not at IDoc level</IDOC></HEADER>\n  " + first + "\n<?between ?>\n" + second + third
            + "\n</ORDERS05>\n<!-- after -->\n"
    }()

    @Test("each record's data is the IDoc's bytes as in the file, inside the root's start tag as written")
    func bytesAsWritten() throws {
        let text = IDocXMLFastPathTests.tricky
        let outcome = XMLDecoding.decode(text)
        #expect(outcome.rejection == nil)
        try #require(outcome.documents.count == 3)
        #expect(outcome.documents.map { $0.control?.docnum } == ["9001", "9002", "9003"])
        let rootStart = "<ORDERS05 xmlns:y=\"urn:y\" A=\"1 &amp; 2 &lt; 3\" B='\"'>"
        let starts = ["<IDOC BEGIN='1'", "<x:IDOC xmlns", "<IDOC\n BEGIN"]
        let ends = ["\r\n</IDOC>", "</x:IDOC>", "</IDOC\n>"]
        for (index, document) in outcome.documents.enumerated() {
            #expect(document.text.hasPrefix(rootStart + starts[index]))
            #expect(document.text.hasSuffix(ends[index] + "</ORDERS05>"))
            let idoc = String(document.text.dropFirst(rootStart.count).dropLast("</ORDERS05>".count))
            #expect(text.contains(idoc), "IDoc \(index + 1) is a verbatim slice of the input")
            #expect(document.rootName == "ORDERS05")
        }
    }

    @Test("fast and tree path agree: documents, control records, and data up to serialisation")
    func agreesWithTreePath() throws {
        var inputs: [(String, [UInt8])] = [
            ("tricky", Array(IDocXMLFastPathTests.tricky.utf8)),
            ("typical", Array(XMLFixture.file(idocs: (0..<50).map { XMLFixture.idoc(docnum: "\($0)", segments: XMLFixture.typicalSegments) }).utf8)),
            ("bom", [0xEF, 0xBB, 0xBF] + Array(XMLFixture.file(prolog: "", idocs: [XMLFixture.idoc(docnum: "1", segments: "<N>Zoë 東京</N>")]).utf8)),
        ]
        for name in ["cremas05-one-line.xml", "orders05-namespaced-ext.xml", "invoic02-ext-zinv_ardo.xml"] {
            inputs.append((name, try PublicSamples.bytes(name)))
        }
        for (name, bytes) in inputs {
            let fast = XMLDecoding.decode(.bytes(bytes))
            let tree = CodecHarness.decode(IDocXMLFastPathTests.treeCodec, .bytes(bytes), limits: .default)
            #expect(fast.rejection == nil && tree.rejection == nil, "\(name)")
            try #require(fast.documents.count == tree.documents.count, "\(name)")
            for (mine, theirs) in zip(fast.documents, tree.documents) {
                #expect(mine.ordinal == theirs.ordinal)
                #expect(mine.control == theirs.control, "\(name)")
                #expect(mine.rootName == theirs.rootName, "\(name)")
                let reserialised = CodecHarness.decode(IDocXMLFastPathTests.treeCodec, .bytes(mine.data), limits: .default)
                #expect(reserialised.documents.first?.data == theirs.data, "\(name): IDoc \(mine.ordinal + 1)")
            }
        }
    }

    @Test("an input cut anywhere is refused as truncated (the tree path's reader calls some cuts malformed)")
    func everyCutIsTruncated() {
        let whole = Array(XMLFixture.file(idocs: [XMLFixture.idoc(docnum: "1"), XMLFixture.idoc(docnum: "2")]).utf8)
        for length in 1..<(whole.count - 1) {
            let rejection = XMLDecoding.decode(.bytes(Array(whole.prefix(length)))).rejection
            #expect(rejection?.code == .truncated, "cut after \(length) bytes: \(String(describing: rejection))")
        }
    }

    @Test("fast and tree path refuse the same broken inputs with the same reason")
    func refusalsAgree() {
        let inputs = [
            "<ORDERS05><IDOC><EDI_DC40><DOCNUM>1</DOCNUM></EDI_DC40></IDOCX></ORDERS05>",
            "<ORDERS05><IDOC><E1/></IDOC></ORDERS05>",
            "<ORDERS05><IDOC><EDI_DC40/>&undeclared;</IDOC></ORDERS05>",
            "<ORDERS05 a='1' a='2'><IDOC><EDI_DC40/></IDOC></ORDERS05>",
            "<ORDERS05><IDOC><EDI_DC40/></IDOC></ORDERS05><second/>",
            "<ORDERS05><IDOC><EDI_DC40/></IDOC>\u{1}</ORDERS05>",
            "<ORDERS05><IDOC a='<'><EDI_DC40/></IDOC></ORDERS05>",
            "<ORDERS05></ORDERS05>",
            "<ORDERS05><IDOC><EDI_DC40/></IDOC></ORDERS05>\n<!DOCTYPE x>",
            "<?xml version=\"1.0\"?><ORDERS05><IDOC BEGIN=\"1\">\u{0}\u{0}\u{0}</IDOC></ORDERS05>",
        ]
        for input in inputs {
            let fast = XMLDecoding.decode(input)
            let tree = CodecHarness.decode(IDocXMLFastPathTests.treeCodec, .bytes(Array(input.utf8)), limits: .default)
            #expect(fast.rejection != nil, "\(input)")
            #expect(
                fast.rejection?.code == tree.rejection?.code,
                "\(input): fast \(String(describing: fast.rejection)), tree \(String(describing: tree.rejection))")
        }
        // NUL bytes read as "Premature end" to libxml2, but the input goes on: not a cut.
        let nul = XMLDecoding.decode("<ORDERS05><IDOC BEGIN=\"1\">\u{0}\u{0}</IDOC></ORDERS05>").rejection
        #expect(nul != nil && nul?.code != .truncated, "\(String(describing: nul))")
        // The tree path's reader calls this one truncated.
        let undeclaredPrefix = XMLDecoding.decode("<ORDERS05><IDOC><EDI_DC40/><p:x/></IDOC></ORDERS05>").rejection
        #expect(undeclaredPrefix?.code == .malformedXML)
        #expect(undeclaredPrefix?.detail.contains("Namespace prefix p") == true)
    }

    @Test("the splitter gives the same IDocs however the input is sliced")
    func slicing() throws {
        let bytes = Array(IDocXMLFastPathTests.tricky.utf8)
        let whole = try #require(IDocXMLFastPathTests.split(bytes, sliceSize: bytes.count))
        #expect(whole.count == 3)
        for size in [1, 2, 3, 5, 7, 64, 4000] {
            #expect(IDocXMLFastPathTests.split(bytes, sliceSize: size) == whole, "slices of \(size) bytes")
        }
    }

    @Test("the splitter stops at an IDoc larger than its limit")
    func splitterLimit() {
        let bytes = Array(XMLFixture.file(idocs: [XMLFixture.idoc(docnum: "1", segments: String(repeating: "x", count: 5000))]).utf8)
        let splitter = IDocSplitter(limit: 4096)
        var accepted = true
        var offset = 0
        while accepted && offset < bytes.count {
            let end = min(bytes.count, offset + 1000)
            accepted = bytes[offset..<end].withUnsafeBytes { splitter.scan($0) }
            offset = end
        }
        #expect(!accepted)
        #expect(splitter.oversized)
        #expect(splitter.takeCompleted() == nil)
    }

    @Test("the encoding is told from the first bytes: UTF-8 unless declared or marked otherwise")
    func encodingSniff() {
        func isUTF8(_ bytes: [UInt8]) -> Bool { bytes.withUnsafeBytes { XMLInputEncoding.isUTF8(prefix: $0) } }
        func isUTF8(_ text: String) -> Bool { isUTF8(Array(text.utf8)) }
        #expect(isUTF8("<ORDERS05/>"))
        #expect(isUTF8(""))
        #expect(isUTF8("<?xml version=\"1.0\"?><A/>"))
        #expect(isUTF8("<?xml version=\"1.0\" encoding=\"UTF-8\"?><A/>"))
        #expect(isUTF8("<?xml version='1.0' encoding = 'utf8' ?><A/>"))
        #expect(isUTF8([0xEF, 0xBB, 0xBF] + Array("<?xml version=\"1.0\" encoding=\"UTF-8\"?><A/>".utf8)))
        #expect(!isUTF8("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><A/>"))
        #expect(!isUTF8("<?xml version=\"1.0\" encoding=\"us-ascii\"?><A/>"))
        #expect(!isUTF8("<?xml version=\"1.0\" encoding=\"UTF-8\""), "an unfinished declaration goes the careful way")
        #expect(!isUTF8([0xFF, 0xFE, 0x3C, 0x00]))
        #expect(!isUTF8([0xFE, 0xFF, 0x00, 0x3C]))
        #expect(!isUTF8([0x3C, 0x00, 0x3F, 0x00]), "UTF-16 without a byte order mark")
        #expect(!isUTF8([0x00, 0x3C, 0x00, 0x3F]))
        #expect(!isUTF8([0x4C, 0x6F, 0xA7, 0x94]))
    }

    /// The IDocs ``IDocSplitter`` finds when it gets `bytes` in slices of `sliceSize`.
    private static func split(_ bytes: [UInt8], sliceSize: Int) -> [[UInt8]]? {
        let splitter = IDocSplitter(limit: 1 << 20)
        var found: [[UInt8]] = []
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + sliceSize)
            guard bytes[offset..<end].withUnsafeBytes({ splitter.scan($0) }) else { return nil }
            while let idoc = splitter.takeCompleted() { found.append(idoc) }
            offset = end
        }
        return found
    }
}
