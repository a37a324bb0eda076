import EventModel
import IDocXML
import Testing

@Suite("IDoc XML codec: documents")
struct IDocXMLCodecTests {
    @Test("a file of three IDocs yields three records in order, each wrapped in the root")
    func multipleIDocs() throws {
        let input = XMLFixture.file(idocs: [
            XMLFixture.idoc(docnum: "0000000000000001", segments: XMLFixture.segment(belnr: "A-1")),
            XMLFixture.idoc(docnum: "0000000000000002", mestyp: "ORDCHG", segments: XMLFixture.segment(belnr: "B-2")),
            XMLFixture.idoc(docnum: "0000000000000003", segments: XMLFixture.segment(belnr: "C-3")),
        ])
        let outcome = XMLDecoding.decode(input)
        #expect(outcome.rejection == nil)
        try #require(outcome.documents.count == 3)
        #expect(outcome.documents.map(\.ordinal) == [0, 1, 2])
        #expect(outcome.documents.map { $0.control?.docnum } == ["0000000000000001", "0000000000000002", "0000000000000003"])
        #expect(outcome.documents.map { $0.control?.mestyp } == ["ORDERS", "ORDCHG", "ORDERS"])
        for (document, belnr) in zip(outcome.documents, ["A-1", "B-2", "C-3"]) {
            #expect(document.rootName == "ORDERS05")
            #expect(document.contentType == "application/xml")
            #expect(document.text.hasPrefix("<ORDERS05><IDOC BEGIN=\"1\"><EDI_DC40 SEGMENT=\"1\">"))
            #expect(document.text.hasSuffix("</IDOC></ORDERS05>"))
            #expect(document.text.contains("<BELNR>\(belnr)</BELNR>"))
            #expect(document.text.components(separatedBy: "<IDOC ").count == 2, "exactly one IDoc per record")
            #expect(document.control == ControlRecord(
                mandt: "100", docnum: document.control?.docnum ?? "", idoctyp: "ORDERS05", cimtyp: "",
                mestyp: document.control?.mestyp ?? "", sndprn: "SNDCLNT100", rcvprn: "RCVPARTNER",
                credat: "20261126", cretim: "101500"))
        }
    }

    @Test("each record's data is well-formed XML that decodes to the same IDoc again")
    func dataRoundTrips() throws {
        let input = XMLFixture.file(idocs: [
            XMLFixture.idoc(docnum: "11", segments: "<E1TXT SEGMENT=\"1\"><TDLINE>Fish &amp; chips &lt;fresh&gt; \"daily\"</TDLINE></E1TXT>"),
            XMLFixture.idoc(docnum: "12"),
        ])
        let first = XMLDecoding.decode(input)
        try #require(first.documents.count == 2)
        for document in first.documents {
            let again = XMLDecoding.decode(.bytes(document.data))
            #expect(again.rejection == nil)
            try #require(again.documents.count == 1)
            #expect(again.documents[0].control == document.control)
            #expect(again.documents[0].data == document.data)
        }
        #expect(first.documents[0].text.contains("Fish &amp; chips &lt;fresh&gt; \"daily\""))
    }

    @Test("the root's attributes and namespace declarations are reproduced, escaped")
    func rootAttributes() throws {
        let input = "<ORDERS05 xmlns:x=\"urn:example\" note=\"a &amp; b &lt; &quot;c&quot;\">"
            + XMLFixture.idoc(docnum: "7") + "</ORDERS05>"
        let outcome = XMLDecoding.decode(input)
        let document = try #require(outcome.documents.first)
        #expect(document.text.hasPrefix("<ORDERS05 xmlns:x=\"urn:example\" note=\"a &amp; b &lt; &quot;c&quot;\"><IDOC BEGIN=\"1\">"))
        #expect(XMLDecoding.decode(.bytes(document.data)).documents.count == 1)
    }

    @Test("the type comes from the control record; extension and namespaced roots are plain names")
    func namespacedRoot() throws {
        let idoc = "<IDOC BEGIN=\"1\">"
            + XMLFixture.controlRecord(docnum: "64132944", mestyp: "/LUMBERL/VFI_ORDERS", cimtyp: "/LUMBERL/3PL_EXT")
            + "<_-LUMBERL_-ZTERM SEGMENT=\"1\"><ZTERM_TXT>Net 30</ZTERM_TXT></_-LUMBERL_-ZTERM></IDOC>"
        let outcome = XMLDecoding.decode(XMLFixture.file(root: "_-LUMBERL_-3PL_ORDERS05_EXT", idocs: [idoc]))
        let document = try #require(outcome.documents.first)
        #expect(document.rootName == "_-LUMBERL_-3PL_ORDERS05_EXT")
        #expect(document.control?.idoctyp == "ORDERS05")
        #expect(document.control?.cimtyp == "/LUMBERL/3PL_EXT")
        #expect(document.control?.eventType == "sap.idoc.LUMBERL.VFI_ORDERS")
        #expect(document.text.hasPrefix("<_-LUMBERL_-3PL_ORDERS05_EXT><IDOC"))
    }

    @Test("white space, comments and other elements beside the IDocs are skipped")
    func otherRootContent() {
        let input = "<ORDERS05>\n<!-- exported -->\n<HEADER><IDOC>not at IDoc level</IDOC></HEADER>\n"
            + XMLFixture.idoc(docnum: "1") + "\n<?trailer x?>\n" + XMLFixture.idoc(docnum: "2") + "\n</ORDERS05>\n"
        let outcome = XMLDecoding.decode(input)
        #expect(outcome.rejection == nil)
        #expect(outcome.documents.map { $0.control?.docnum } == ["1", "2"])
    }

    @Test("a root without IDocs is refused as no_documents")
    func noIDocs() {
        #expect(XMLDecoding.decode("<ORDERS05><HEADER/></ORDERS05>").rejection?.code == .noDocuments)
        #expect(XMLDecoding.decode("<ORDERS05/>").rejection?.code == .noDocuments)
        #expect(XMLDecoding.decode("").rejection?.code == .noDocuments)
    }

    @Test("an IDoc without EDI_DC40 is refused as no_control_record")
    func missingControlRecord() {
        let input = XMLFixture.file(idocs: [
            XMLFixture.idoc(docnum: "1"),
            "<IDOC BEGIN=\"1\"><E1EDK01 SEGMENT=\"1\"><BELNR>9</BELNR></E1EDK01></IDOC>",
        ])
        let outcome = XMLDecoding.decode(input)
        #expect(outcome.rejection?.code == .noControlRecord)
        #expect(outcome.rejection?.detail.contains("IDoc 2") == true)
    }

    @Test("an error thrown by emit stops decoding and reaches the caller")
    func emitErrorPropagates() {
        struct Stop: Error {}
        var calls = 0
        #expect(throws: Stop.self) {
            try IDocXMLCodec().decode(.bytes(Array(XMLFixture.file(idocs: [XMLFixture.idoc(docnum: "1"), XMLFixture.idoc(docnum: "2")]).utf8)), limits: .default) { _ in
                calls += 1
                throw Stop()
            }
        }
        #expect(calls == 1)
    }

    @Test("format is idoc-xml")
    func format() {
        #expect(IDocXMLCodec().format == .idocXML)
    }
}
