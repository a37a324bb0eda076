import EventModel
import IDocXML
import Testing

@Suite("IDoc XML codec: hostile and broken input")
struct IDocXMLHostileInputTests {
    private static let body = "<ORDERS05>" + XMLFixture.idoc(docnum: "1") + "</ORDERS05>"

    @Test("a DOCTYPE with an internal entity is refused before anything is emitted")
    func internalEntity() {
        let input = "<?xml version=\"1.0\"?>\n<!DOCTYPE ORDERS05 [<!ENTITY who \"SENDER\">]>\n"
            + "<ORDERS05><IDOC BEGIN=\"1\"><EDI_DC40><DOCNUM>&who;</DOCNUM></EDI_DC40></IDOC></ORDERS05>"
        let outcome = XMLDecoding.decode(input)
        #expect(outcome.rejection?.code == .dtdForbidden)
        #expect(outcome.documents.isEmpty)
    }

    @Test("billion laughs is refused as dtd_forbidden")
    func billionLaughs() {
        var entities = "<!ENTITY lol0 \"lol\">"
        for level in 1...9 {
            entities += "<!ENTITY lol\(level) \"" + String(repeating: "&lol\(level - 1);", count: 10) + "\">"
        }
        let input = "<?xml version=\"1.0\"?><!DOCTYPE ORDERS05 [\(entities)]><ORDERS05><IDOC BEGIN=\"1\">"
            + XMLFixture.controlRecord(docnum: "1") + "<E1TXT>&lol9;</E1TXT></IDOC></ORDERS05>"
        let outcome = XMLDecoding.decode(input)
        #expect(outcome.rejection?.code == .dtdForbidden)
        #expect(outcome.documents.isEmpty)
    }

    @Test("external entities (file and http) are refused without reading them")
    func externalEntities() {
        for system in ["file:///etc/passwd", "http://127.0.0.1:9/secret"] {
            let input = "<?xml version=\"1.0\"?><!DOCTYPE ORDERS05 [<!ENTITY x SYSTEM \"\(system)\">]><ORDERS05><IDOC BEGIN=\"1\">"
                + XMLFixture.controlRecord(docnum: "1") + "<E1TXT>&x;</E1TXT></IDOC></ORDERS05>"
            let outcome = XMLDecoding.decode(input)
            #expect(outcome.rejection?.code == .dtdForbidden, "\(system)")
            #expect(outcome.documents.isEmpty)
            #expect(!outcome.documents.contains { $0.text.contains("root:") })
            #expect(outcome.rejection?.detail.contains("root:") == false)
        }
        let externalSubset = "<!DOCTYPE ORDERS05 SYSTEM \"file:///etc/passwd\">" + IDocXMLHostileInputTests.body
        #expect(XMLDecoding.decode(externalSubset).rejection?.code == .dtdForbidden)
    }

    @Test("a DOCTYPE after comments and processing instructions is still found")
    func doctypeAfterComments() {
        let input = "<?xml version=\"1.0\"?><!-- a -- comment --><?pi <!DOCTYPE?>\n<!DOCTYPE ORDERS05>" + IDocXMLHostileInputTests.body
        #expect(XMLDecoding.decode(input).rejection?.code == .dtdForbidden)
    }

    @Test("a comment that merely mentions <!DOCTYPE is fine")
    func doctypeInComment() {
        let input = "<?xml version=\"1.0\"?><!-- no <!DOCTYPE here -->" + IDocXMLHostileInputTests.body
        let outcome = XMLDecoding.decode(input)
        #expect(outcome.rejection == nil)
        #expect(outcome.documents.count == 1)
    }

    @Test("a DOCTYPE in UTF-16 (not ASCII-compatible) is refused by the reader's own check")
    func doctypeInUTF16() {
        let text = "<?xml version=\"1.0\" encoding=\"UTF-16\"?><!DOCTYPE ORDERS05 [<!ENTITY e \"x\">]>" + IDocXMLHostileInputTests.body
        var bytes: [UInt8] = [0xFF, 0xFE]
        for unit in text.utf16 { bytes += [UInt8(unit & 0xFF), UInt8(unit >> 8)] }
        let outcome = XMLDecoding.decode(.bytes(bytes))
        #expect(outcome.rejection?.code == .dtdForbidden)
        #expect(outcome.documents.isEmpty)
    }

    @Test("an input cut off in the middle is refused as truncated")
    func truncated() {
        let whole = XMLFixture.file(idocs: [XMLFixture.idoc(docnum: "1"), XMLFixture.idoc(docnum: "2")])
        for fraction in [0.3, 0.6, 0.95] {
            let cut = String(whole.prefix(Int(Double(whole.count) * fraction)))
            let outcome = XMLDecoding.decode(cut)
            #expect(outcome.rejection?.code == .truncated, "cut at \(fraction): \(String(describing: outcome.rejection))")
        }
    }

    @Test("mismatched tags are refused as malformed_xml with libxml2's message and line")
    func malformed() throws {
        let input = "<ORDERS05>\n<IDOC BEGIN=\"1\">\n" + XMLFixture.controlRecord(docnum: "1") + "\n</IDOCX>\n</ORDERS05>"
        let rejection = try #require(XMLDecoding.decode(input).rejection)
        #expect(rejection.code == .malformedXML)
        #expect(rejection.detail.contains("line 4"))
        #expect(rejection.detail.contains("IDOC"))
    }

    @Test("binary garbage is refused as not_xml")
    func garbage() {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) | 0x80 }
        #expect(XMLDecoding.decode(.bytes(bytes)).rejection?.code == .notXML)
        #expect(XMLDecoding.decode("EDI_DC40  100 not xml at all").rejection?.code == .notXML)
    }

    @Test("100,000 nested elements are refused as too_deep, beside or inside an IDoc")
    func deepNesting() {
        let depth = 100_000
        let nest = String(repeating: "<a>", count: depth) + String(repeating: "</a>", count: depth)
        let beside = "<ORDERS05>" + nest + XMLFixture.idoc(docnum: "1") + "</ORDERS05>"
        #expect(XMLDecoding.decode(beside).rejection?.code == .tooDeep)
        let inside = "<ORDERS05>" + XMLFixture.idoc(docnum: "1", segments: nest) + "</ORDERS05>"
        #expect(XMLDecoding.decode(inside).rejection?.code == .tooDeep)
    }

    @Test("nesting just past the configured limit inside an IDoc is refused; at the limit it is fine")
    func nestingLimit() {
        let limits = CodecLimits(maxDepth: 10, maxDocumentBytes: 1 << 20)
        func input(levels: Int) -> String {
            // root (1) + IDOC (2) + `levels` more
            let nest = String(repeating: "<a>", count: levels) + "x" + String(repeating: "</a>", count: levels)
            return "<ORDERS05>" + XMLFixture.idoc(docnum: "1", segments: nest) + "</ORDERS05>"
        }
        #expect(XMLDecoding.decode(input(levels: 8), limits: limits).rejection == nil)
        #expect(XMLDecoding.decode(input(levels: 9), limits: limits).rejection?.code == .tooDeep)
    }

    @Test("an IDoc larger than max_document_size is refused as document_too_large")
    func documentTooLarge() {
        let limits = CodecLimits(maxDepth: 64, maxDocumentBytes: 4096)
        let small = XMLFixture.idoc(docnum: "1")
        let big = XMLFixture.idoc(docnum: "2", segments: String(repeating: XMLFixture.segment(belnr: "0123456789"), count: 200))
        let outcome = XMLDecoding.decode(XMLFixture.file(idocs: [small, big]), limits: limits)
        #expect(outcome.rejection?.code == .documentTooLarge)
        #expect(outcome.rejection?.detail.contains("IDoc 2") == true)
    }

    @Test("a huge IDoc is refused while it is read, long before it is all in memory")
    func hugeIDocStopsFeeding() {
        let limits = CodecLimits(maxDepth: 64, maxDocumentBytes: 16 << 10)
        let big = XMLFixture.idoc(docnum: "2", segments: String(repeating: XMLFixture.segment(belnr: "0123456789"), count: 200_000))
        let outcome = XMLDecoding.decode(XMLFixture.file(idocs: [big]), limits: limits)
        #expect(outcome.rejection?.code == .documentTooLarge)
    }
}
