import Foundation

/// IDoc inputs written by the tests: valid XML and flat files, and hostile ones.
enum IDocFixtures {
    static let sender = "E2ECLNT100"
    static let client = "100"

    /// A 16-digit DOCNUM.
    static func docnum(_ number: Int) -> String {
        let digits = String(number)
        return String(repeating: "0", count: max(0, 16 - digits.count)) + digits
    }

    /// The event id the agent gives the IDoc with `docnum` from ``sender``.
    static func eventID(docnum: String, sender: String = sender, client: String = client) -> String {
        "idoc:\(sender):\(client):\(docnum)"
    }

    /// One `<IDOC>` of an ORDERS05 document; `payload` pads the data segment.
    static func xmlIDoc(docnum: String, sender: String = sender, payload: String = "") -> String {
        """
        <IDOC BEGIN="1"><EDI_DC40 SEGMENT="1"><TABNAM>EDI_DC40</TABNAM><MANDT>\(client)</MANDT>\
        <DOCNUM>\(docnum)</DOCNUM><IDOCTYP>ORDERS05</IDOCTYP><MESTYP>ORDERS</MESTYP><SNDPRN>\(sender)</SNDPRN>\
        <RCVPRN>HUB</RCVPRN><CREDAT>20261126</CREDAT><CRETIM>101500</CRETIM></EDI_DC40>
        <E1EDK01 SEGMENT="1"><BELNR>45\(docnum.suffix(8))</BELNR><BSART>\(payload)</BSART></E1EDK01></IDOC>
        """
    }

    /// An ORDERS05 XML file holding one IDoc per DOCNUM, in that order.
    static func xmlFile(docnums: [String], sender: String = sender) -> [UInt8] {
        Array(("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ORDERS05>\n"
            + docnums.map { xmlIDoc(docnum: $0, sender: sender) }.joined(separator: "\n")
            + "\n</ORDERS05>\n").utf8)
    }

    /// A 524-character EDI_DC40 control record (fields at SAP's fixed offsets).
    static func flatControlRecord(docnum: String, sender: String = sender) -> String {
        var record = [Character](repeating: " ", count: 524)
        func put(_ text: String, at offset: Int, width: Int) {
            for (index, character) in text.prefix(width).enumerated() { record[offset + index] = character }
        }
        put("EDI_DC40", at: 0, width: 10)
        put(client, at: 10, width: 3)
        put(docnum, at: 13, width: 16)
        put("740", at: 29, width: 4)
        put("30", at: 33, width: 2)
        put("1", at: 35, width: 1)
        put("INVOIC02", at: 39, width: 30)
        put("INVOIC", at: 99, width: 30)
        put("SAPE2E", at: 148, width: 10)
        put("LS", at: 158, width: 2)
        put(sender, at: 162, width: 10)
        put("HUB", at: 277, width: 10)
        put("20261126", at: 378, width: 8)
        put("101500", at: 386, width: 6)
        return String(record)
    }

    /// A data record: SEGNAM 30, MANDT 3, DOCNUM 16, SEGNUM 6, PSGNUM 6, HLEVEL 2, SDATA.
    static func flatDataRecord(segment: String, docnum: String, number: Int, data: String) -> String {
        func field(_ text: String, _ width: Int) -> String {
            text.padding(toLength: width, withPad: " ", startingAt: 0)
        }
        return field(segment, 30) + client + docnum + String(format: "%06d", number) + "000000" + "02" + data
    }

    /// A flat INVOIC02 file: per DOCNUM a control record and two data records.
    static func flatFile(docnums: [String]) -> [UInt8] {
        var lines: [String] = []
        for docnum in docnums {
            lines.append(flatControlRecord(docnum: docnum))
            lines.append(flatDataRecord(segment: "E2EDK01005", docnum: docnum, number: 1, data: "EUR INVOICE \(docnum)"))
            lines.append(flatDataRecord(segment: "E2EDK02", docnum: docnum, number: 2, data: "009 \(docnum.suffix(10))"))
        }
        return Array((lines.joined(separator: "\r\n") + "\r\n").utf8)
    }

    // MARK: hostile inputs

    /// A DOCTYPE declaring an internal entity that the document uses.
    static let internalEntity = Array("""
        <?xml version="1.0"?>
        <!DOCTYPE ORDERS05 [<!ENTITY company "ACME Corp">]>
        <ORDERS05>\(xmlIDoc(docnum: docnum(990_001), payload: "&company;"))</ORDERS05>
        """.utf8)

    /// Billion laughs: ten levels of tenfold entity expansion.
    static let billionLaughs: [UInt8] = {
        var dtd = "<!ENTITY lol0 \"lol\">"
        for level in 1...9 {
            dtd += "<!ENTITY lol\(level) \"" + String(repeating: "&lol\(level - 1);", count: 10) + "\">"
        }
        return Array("""
            <?xml version="1.0"?>
            <!DOCTYPE ORDERS05 [\(dtd)]>
            <ORDERS05>\(xmlIDoc(docnum: docnum(990_002), payload: "&lol9;"))</ORDERS05>
            """.utf8)
    }()

    /// XXE: an external entity pointing at /etc/passwd.
    static let externalEntity = Array("""
        <?xml version="1.0"?>
        <!DOCTYPE ORDERS05 [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
        <ORDERS05>\(xmlIDoc(docnum: docnum(990_003), payload: "&xxe;"))</ORDERS05>
        """.utf8)

    /// A valid two-IDoc file cut in the middle of the second IDoc.
    static let truncated: [UInt8] = {
        let whole = xmlFile(docnums: [docnum(990_004), docnum(990_005)])
        return Array(whole.prefix(whole.count * 3 / 4))
    }()

    /// Random bytes that start with a control character (so they are neither XML nor flat).
    static let binaryGarbage: [UInt8] = {
        var bytes = (0..<4096).map { _ in UInt8.random(in: 0...255) }
        bytes[0] = 0x01
        return bytes
    }()

    /// An IDoc without its EDI_DC40 control record.
    static let missingControlRecord = Array("""
        <?xml version="1.0"?>
        <ORDERS05><IDOC BEGIN="1"><E1EDK01 SEGMENT="1"><BELNR>4500000001</BELNR></E1EDK01></IDOC></ORDERS05>
        """.utf8)

    /// Elements nested 100,000 deep inside an IDoc.
    static let deepNesting: [UInt8] = {
        let depth = 100_000
        return Array(("<?xml version=\"1.0\"?>\n<ORDERS05><IDOC BEGIN=\"1\">"
            + String(repeating: "<E1DEEP>", count: depth) + String(repeating: "</E1DEEP>", count: depth)
            + "</IDOC></ORDERS05>\n").utf8)
    }()
}
