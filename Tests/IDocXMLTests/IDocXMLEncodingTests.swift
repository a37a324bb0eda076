import EventModel
import IDocXML
import Testing

@Suite("IDoc XML codec: encodings and layout")
struct IDocXMLEncodingTests {
    private static let utf8E: [UInt8] = [0xC3, 0xA9]

    private func idocNamed(_ name: String) -> String {
        XMLFixture.idoc(docnum: "42", segments: "<E1EDKA1 SEGMENT=\"1\"><NAME1>\(name)</NAME1></E1EDKA1>")
    }

    @Test("ISO-8859-1 input comes out as UTF-8 characters, not character references")
    func latin1() throws {
        var bytes = Array("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<INVOIC02>".utf8)
        bytes += Array(idocNamed("Caf").utf8)
        let marker = Array("Caf".utf8)
        let position = try #require(bytes.indices.first { bytes[$0...].starts(with: marker) })
        bytes.insert(0xE9, at: position + marker.count)
        bytes += Array("</INVOIC02>".utf8)
        let document = try #require(XMLDecoding.decode(.bytes(bytes)).documents.first)
        #expect(document.data.starts(with: Array("<INVOIC02>".utf8)))
        #expect(document.text.contains("<NAME1>Café</NAME1>"))
        #expect(!document.text.contains("&#"))
        #expect(document.data.contains(0xC3))
    }

    @Test("UTF-8 with a byte order mark")
    func byteOrderMark() throws {
        let bytes: [UInt8] = [0xEF, 0xBB, 0xBF] + Array(XMLFixture.file(idocs: [idocNamed("Café ÄÖÜ 東京")]).utf8)
        let document = try #require(XMLDecoding.decode(.bytes(bytes)).documents.first)
        #expect(document.text.contains("<NAME1>Café ÄÖÜ 東京</NAME1>"))
        #expect(document.data.first == UInt8(ascii: "<"), "no byte order mark in the record")
    }

    @Test("no XML declaration, and an XML 1.1 declaration")
    func declarations() {
        let withoutDeclaration = XMLDecoding.decode(XMLFixture.file(prolog: "", idocs: [idocNamed("Zoë")]))
        #expect(withoutDeclaration.documents.first?.text.contains("Zoë") == true)
        let version11 = XMLDecoding.decode(XMLFixture.file(prolog: "<?xml version=\"1.1\"?>\n", idocs: [idocNamed("x")]))
        #expect(version11.rejection == nil)
        #expect(version11.documents.count == 1)
    }

    @Test("UTF-8 input: non-ASCII attribute values, CDATA and character references stay exactly as written")
    func attributesAndCDATA() throws {
        let idoc = "<IDOC BEGIN=\"1\" NOTE=\"Café\">" + XMLFixture.controlRecord(docnum: "5")
            + "<T><![CDATA[a < b & é]]></T><U>&#233;&#x41;</U></IDOC>"
        let document = try #require(XMLDecoding.decode(XMLFixture.file(prolog: "", idocs: [idoc])).documents.first)
        #expect(document.text == "<ORDERS05>" + idoc + "</ORDERS05>")
    }

    @Test("ISO-8859-1 input: character references and CDATA come out as UTF-8 characters")
    func latin1References() throws {
        let idoc = "<IDOC BEGIN=\"1\" NOTE=\"Caf&#233;\">" + XMLFixture.controlRecord(docnum: "5")
            + "<T><![CDATA[a < b & x]]></T><U>&#233;&#x41;</U></IDOC>"
        let input = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><ORDERS05>" + idoc + "</ORDERS05>"
        let document = try #require(XMLDecoding.decode(input).documents.first)
        #expect(document.text.contains("<IDOC BEGIN=\"1\" NOTE=\"Café\">"))
        #expect(document.text.contains("<T><![CDATA[a < b & x]]></T><U>éA</U>"))
    }

    @Test("CRLF line ends and tabs are fine; field values are trimmed")
    func crlfAndTabs() throws {
        let input = "<?xml version=\"1.0\"?>\r\n<ORDERS05>\r\n\t<IDOC BEGIN=\"1\">\r\n\t\t<EDI_DC40 SEGMENT=\"1\">\r\n"
            + "\t\t\t<MANDT>100</MANDT>\r\n\t\t\t<DOCNUM>\t0000000000000077 </DOCNUM>\r\n\t\t\t<MESTYP>ORDERS</MESTYP>\r\n"
            + "\t\t</EDI_DC40>\r\n\t</IDOC>\r\n</ORDERS05>\r\n"
        let document = try #require(XMLDecoding.decode(input).documents.first)
        #expect(document.control?.docnum == "0000000000000077")
        #expect(document.control?.mandt == "100")
        #expect(document.text.contains("\t\t\t<MANDT>100</MANDT>\r\n"), "white space inside the IDoc is kept as written")
        #expect(document.text.hasPrefix("<ORDERS05><IDOC BEGIN=\"1\">\r\n"))
        #expect(document.text.hasSuffix("\t\t</EDI_DC40>\r\n\t</IDOC></ORDERS05>"))
    }

    @Test("bytes that are not UTF-8 in a UTF-8 document are refused as bad_encoding")
    func lyingEncoding() {
        var bytes = Array(XMLFixture.file(idocs: [idocNamed("Caf_")]).utf8)
        if let index = bytes.firstIndex(of: UInt8(ascii: "_")) { bytes[index] = 0xE9 }
        let rejection = XMLDecoding.decode(.bytes(bytes)).rejection
        #expect(rejection?.code == .badEncoding, "\(String(describing: rejection))")
    }
}
