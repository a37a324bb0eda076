import EventModel
import Foundation
import TestSupport
import IDocXML
import Testing

/// The real public samples in /work/shared/samples/public.
@Suite("IDoc XML codec: public samples")
struct IDocXMLSampleTests {
    @Test("invoic02-ext-zinv_ardo.xml: one INVOIC02 IDoc with extension ZINV_ARDO, read from a file descriptor")
    func invoiceWithExtension() throws {
        let path = PublicSamples.path("invoic02-ext-zinv_ardo.xml")
        let fd = open(path, O_RDONLY)
        try #require(fd >= 0, "cannot open \(path): the tests need the shared public samples")
        defer { close(fd) }
        let outcome = XMLDecoding.decode(.fileDescriptor(fd))
        #expect(outcome.rejection == nil)
        try #require(outcome.documents.count == 1)
        let document = outcome.documents[0]
        #expect(document.rootName == "ZINV_ARDO")
        #expect(document.control == ControlRecord(
            mandt: "100", docnum: "0000000000182520", idoctyp: "INVOIC02", cimtyp: "ZINV_ARDO", mestyp: "INVOIC",
            sndprn: "PS4CLNT100", rcvprn: "0001005022", credat: "20230418", cretim: "113055"))
        #expect(document.control?.eventType == "sap.idoc.INVOIC")
        #expect(document.text.hasPrefix("<ZINV_ARDO><IDOC BEGIN=\"1\">"))
        #expect(document.text.hasSuffix("</IDOC>\n</ZINV_ARDO>") || document.text.hasSuffix("</IDOC></ZINV_ARDO>"))
        #expect(document.text.contains("<STRAS>JÄRNVIKSVÄGEN 12</STRAS>"))
        #expect(document.text.contains("<BIOCERTIFICATE>BE-BIO-01</BIOCERTIFICATE>"))
    }

    @Test("orders05-namespaced-ext.xml: namespaced message type becomes a dotted event type")
    func namespacedOrders() throws {
        let outcome = XMLDecoding.decode(.bytes(try PublicSamples.bytes("orders05-namespaced-ext.xml")))
        #expect(outcome.rejection == nil)
        let document = try #require(outcome.documents.first)
        #expect(outcome.documents.count == 1)
        #expect(document.rootName == "_-LUMBERL_-3PL_ORDERS05_EXT")
        #expect(document.control?.mestyp == "/LUMBERL/VFI_ORDERS")
        #expect(document.control?.eventType == "sap.idoc.LUMBERL.VFI_ORDERS")
        #expect(document.control?.docnum == "0000000064132944")
        #expect(document.control?.idoctyp == "ORDERS05")
        #expect(document.control?.sndprn == "EQ2CLNT100")
        #expect(document.control?.creationStamp == "20141217T143321")
        #expect(document.text.contains("<_-LUMBERL_-ZTERM_DESCRIPTION SEGMENT=\"1\">"))
    }

    @Test("cremas05-one-line.xml: escaped ampersands stay escaped, so the data is valid XML")
    func oneLineVendor() throws {
        let outcome = XMLDecoding.decode(.bytes(try PublicSamples.bytes("cremas05-one-line.xml")))
        let document = try #require(outcome.documents.first)
        #expect(outcome.documents.count == 1)
        #expect(document.control?.docnum == "0000000129056123")
        #expect(document.control?.eventType == "sap.idoc.LUMBERL.VFI_CREMAS")
        #expect(document.text.contains("<NAME1>WUXI BODA BAMBOO &amp; WOOD INDUSTRIAL</NAME1>"))
        #expect(!document.text.contains("BAMBOO & WOOD"))
        let again = XMLDecoding.decode(.bytes(document.data))
        #expect(again.rejection == nil)
        #expect(again.documents.first?.data == document.data)
    }

    @Test("debmas01-no-control-record.xml: refused as no_control_record")
    func customerWithoutControlRecord() throws {
        let outcome = XMLDecoding.decode(.bytes(try PublicSamples.bytes("debmas01-no-control-record.xml")))
        #expect(outcome.rejection?.code == .noControlRecord)
        #expect(outcome.documents.isEmpty)
    }
}
