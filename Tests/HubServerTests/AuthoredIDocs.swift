import Foundation

/// Small IDocs written for the canonical-model tests: a purchase order, its change, goods
/// receipts, invoices and a supplier master, each as the `data` an agent would send.
enum AuthoredIDocs {
    struct Item {
        var number: String
        var quantity: String
        var net: String?
        var plant = "1000"
        var poNumber: String? = nil
        var poItem: String? = nil
        var extra = ""
    }

    static func control(_ type: String, _ message: String, docnum: String, sender: String = "PRDCLNT100", cimtyp: String = "") -> String {
        "<EDI_DC40 SEGMENT=\"1\"><TABNAM>EDI_DC40</TABNAM><MANDT>100</MANDT><DOCNUM>\(docnum)</DOCNUM><IDOCTYP>\(type)</IDOCTYP>"
            + (cimtyp.isEmpty ? "" : "<CIMTYP>\(cimtyp)</CIMTYP>")
            + "<MESTYP>\(message)</MESTYP><SNDPRN>\(sender)</SNDPRN><RCVPRN>HUB</RCVPRN></EDI_DC40>"
    }

    static func order(
        _ number: String, supplier: String = "V100", currency: String = "EUR", items: [Item], docnum: String,
        message: String = "ORDERS", date: String = "20261201", root: String = "ORDERS05", cimtyp: String = "", header: String = ""
    ) -> String {
        let net = items.compactMap { $0.net.flatMap { Decimal(string: $0) } }.reduce(0, +)
        var xml = "<\(root)><IDOC BEGIN=\"1\">" + control("ORDERS05", message, docnum: docnum, cimtyp: cimtyp)
        xml += "<E1EDK01 SEGMENT=\"1\"><CURCY>\(currency)</CURCY><BELNR>\(number)</BELNR>\(header)</E1EDK01>"
        xml += "<E1EDK14 SEGMENT=\"1\"><QUALF>011</QUALF><ORGID>1000</ORGID></E1EDK14>"
        xml += "<E1EDK14 SEGMENT=\"1\"><QUALF>014</QUALF><ORGID>EU01</ORGID></E1EDK14>"
        xml += "<E1EDK03 SEGMENT=\"1\"><IDDAT>012</IDDAT><DATUM>\(date)</DATUM></E1EDK03>"
        xml += "<E1EDKA1 SEGMENT=\"1\"><PARVW>LF</PARVW><PARTN>\(supplier)</PARTN></E1EDKA1>"
        for item in items {
            xml += "<E1EDP01 SEGMENT=\"1\"><POSEX>\(item.number)</POSEX><MENGE>\(item.quantity)</MENGE><MENEE>PCE</MENEE>"
            if let value = item.net { xml += "<NETWR>\(value)</NETWR>" }
            xml += "<WERKS>\(item.plant)</WERKS>\(item.extra)</E1EDP01>"
        }
        xml += "<E1EDS01 SEGMENT=\"1\"><SUMID>002</SUMID><SUMME>\(net)</SUMME><SUNIT>\(currency)</SUNIT></E1EDS01>"
        return xml + "</IDOC></\(root)>"
    }

    static func receipt(_ number: String, order: String, items: [Item], docnum: String, movement: String = "101") -> String {
        var xml = "<WMMBID02><IDOC BEGIN=\"1\">" + control("WMMBID02", "WMMBXY", docnum: docnum, sender: "WMSBRE01")
        xml += "<E1MBXYH SEGMENT=\"1\"><BLDAT>20261205</BLDAT><XBLNR>\(number)</XBLNR></E1MBXYH>"
        for item in items {
            xml += "<E1MBXYI SEGMENT=\"1\"><MATNR>MAT-\(item.number)</MATNR><WERKS>\(item.plant)</WERKS><BWART>\(movement)</BWART>"
            xml += "<ERFMG>\(item.quantity)</ERFMG><ERFME>PCE</ERFME><EBELN>\(order)</EBELN><EBELP>\(item.number)</EBELP></E1MBXYI>"
        }
        return xml + "</IDOC></WMMBID02>"
    }

    static func invoice(
        _ number: String, supplier: String = "V100", order: String?, currency: String = "EUR", items: [Item], docnum: String,
        net: String? = nil
    ) -> String {
        var xml = "<INVOIC02><IDOC BEGIN=\"1\">" + control("INVOIC02", "INVOIC", docnum: docnum, sender: supplier)
        xml += "<E1EDK01 SEGMENT=\"1\"><CURCY>\(currency)</CURCY><BELNR>\(number)</BELNR></E1EDK01>"
        xml += "<E1EDKA1 SEGMENT=\"1\"><PARVW>LF</PARVW><PARTN>\(supplier)</PARTN></E1EDKA1>"
        if let order { xml += "<E1EDK02 SEGMENT=\"1\"><QUALF>001</QUALF><BELNR>\(order)</BELNR></E1EDK02>" }
        xml += "<E1EDK02 SEGMENT=\"1\"><QUALF>009</QUALF><BELNR>\(number)</BELNR></E1EDK02>"
        xml += "<E1EDK03 SEGMENT=\"1\"><IDDAT>012</IDDAT><DATUM>20261210</DATUM></E1EDK03>"
        for item in items {
            xml += "<E1EDP01 SEGMENT=\"1\"><POSEX>\(item.number)</POSEX><MENGE>\(item.quantity)</MENGE><MENEE>PCE</MENEE>"
            if let value = item.net { xml += "<NETWR>\(value)</NETWR>" }
            if let order = item.poNumber ?? order {
                xml += "<E1EDP02 SEGMENT=\"1\"><QUALF>001</QUALF><BELNR>\(order)</BELNR><ZEILE>\(item.poItem ?? item.number)</ZEILE></E1EDP02>"
            }
            xml += "</E1EDP01>"
        }
        let total = net ?? "\(items.compactMap { $0.net.flatMap { Decimal(string: $0) } }.reduce(0, +))"
        xml += "<E1EDS01 SEGMENT=\"1\"><SUMID>010</SUMID><SUMME>\(total)</SUMME><WAERQ>\(currency)</WAERQ></E1EDS01>"
        return xml + "</IDOC></INVOIC02>"
    }

    /// A supplier with bank details and a tax number, which must never reach the canonical model.
    static let secretBankAccount = "DE89370400440532013000"
    static let secretTaxNumber = "TAXNO-778899"

    static func supplier(_ number: String, docnum: String) -> String {
        "<CREMAS05><IDOC BEGIN=\"1\">" + control("CREMAS05", "CREMAS", docnum: docnum)
            + "<E1LFA1M SEGMENT=\"1\"><LIFNR>\(number)</LIFNR><NAME1>Kessler Antriebstechnik GmbH</NAME1><LAND1>DE</LAND1>"
            + "<ORT01>Bremen</ORT01><STCD1>\(secretTaxNumber)</STCD1>"
            + "<E1LFB1M SEGMENT=\"1\"><BUKRS>1000</BUKRS></E1LFB1M>"
            + "<E1LFBKM SEGMENT=\"1\"><BANKS>DE</BANKS><BANKL>37040044</BANKL><BANKN>0532013000</BANKN><IBAN>\(secretBankAccount)</IBAN></E1LFBKM>"
            + "</E1LFA1M></IDOC></CREMAS05>"
    }

    /// The event JSON an agent sends with `data` holding `xml`.
    static func event(id: String, type: String, xml: String, agent: String = "plant-emea-01", region: String = "emea") -> String {
        let object: [String: Any] = [
            "specversion": "1.0", "id": id, "source": "outpost://\(agent)/sap-outbound", "type": type,
            "datacontenttype": "application/xml", "data": xml, "agentid": agent, "region": region,
        ]
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }
}
