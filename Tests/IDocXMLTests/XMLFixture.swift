import EventModel
import Foundation
import TestSupport
import IDocXML

/// Builds small IDoc XML inputs for the tests.
enum XMLFixture {
    static let declaration = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"

    static func controlRecord(
        docnum: String, mestyp: String = "ORDERS", idoctyp: String = "ORDERS05", cimtyp: String = "",
        sndprn: String = "SNDCLNT100", rcvprn: String = "RCVPARTNER"
    ) -> String {
        "<EDI_DC40 SEGMENT=\"1\"><TABNAM>EDI_DC40</TABNAM><MANDT>100</MANDT><DOCNUM>\(docnum)</DOCNUM>"
            + "<IDOCTYP>\(idoctyp)</IDOCTYP>" + (cimtyp.isEmpty ? "" : "<CIMTYP>\(cimtyp)</CIMTYP>")
            + "<MESTYP>\(mestyp)</MESTYP><SNDPRN>\(sndprn)</SNDPRN><RCVPRN>\(rcvprn)</RCVPRN>"
            + "<CREDAT>20261126</CREDAT><CRETIM>101500</CRETIM></EDI_DC40>"
    }

    static func idoc(docnum: String, mestyp: String = "ORDERS", segments: String = segment(belnr: "4711")) -> String {
        "<IDOC BEGIN=\"1\">" + controlRecord(docnum: docnum, mestyp: mestyp) + segments + "</IDOC>"
    }

    static func segment(belnr: String) -> String {
        "<E1EDK01 SEGMENT=\"1\"><BELNR>\(belnr)</BELNR></E1EDK01>"
    }

    static func file(root: String = "ORDERS05", prolog: String = declaration, idocs: [String]) -> String {
        prolog + "<\(root)>\n" + idocs.map { "  " + $0 + "\n" }.joined() + "</\(root)>\n"
    }

    /// About 2.25 KB of segments, the size of a typical order IDoc.
    static let typicalSegments: String = (0..<18).map { index in
        "<E1EDP01 SEGMENT=\"1\"><POSEX>\(String(format: "%05d", index + 1))</POSEX><MENGE>5602.800</MENGE>"
            + "<MENEE>UOM</MENEE><NETWR>10365.18</NETWR></E1EDP01>\n"
    }.joined()
}

enum XMLDecoding {
    static func decode(_ input: DocumentInput, limits: CodecLimits = .default) -> DecodeOutcome {
        CodecHarness.decode(IDocXMLCodec(), input, limits: limits)
    }

    static func decode(_ text: String, limits: CodecLimits = .default) -> DecodeOutcome {
        decode(.bytes(Array(text.utf8)), limits: limits)
    }
}

