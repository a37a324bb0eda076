/// The profiles the hub has without configuration, on SAP's standard segments and qualifiers.
/// docs/MAPPING.md lists each one's source fields.
public enum BuiltInProfiles {
    public static let names = ["orders", "order_change", "invoice", "goods_movement", "warehouse_goods_movement", "supplier"]

    public static var all: [MappingProfile] { [orders, orderChange, invoice, goodsMovement, warehouseGoodsMovement, supplier] }

    public static func named(_ name: String) -> MappingProfile? { all.first { $0.name == name } }

    static func paths(_ texts: String...) -> [FieldPath] {
        // Built-in paths are written here and checked by a test; a typo is a programming error.
        texts.map { try! FieldPath(parsing: $0) }
    }

    static func segments(_ text: String) -> [FieldPath.Step] { try! FieldPath.segments(parsing: text) }

    /// ORDERS01…05 header and item fields shared by purchase orders and their changes.
    private static func purchaseOrder(name: String, kind: CanonicalDocument.Kind, selector: ProfileSelector) -> MappingProfile {
        var profile = MappingProfile(name: name, kind: kind, selector: selector)
        profile.header = [
            "number": paths("E1EDK01/BELNR", "E1EDK02[QUALF=001]/BELNR"),
            "supplier": paths("E1EDKA1[PARVW=LF]/PARTN", "E1EDKA1[PARVW=LF]/LIFNR"),
            "net_amount": paths("E1EDS01[SUMID=002]/SUMME"),
            "gross_amount": paths("E1EDS01[SUMID=011]/SUMME"),
            "currency": paths("E1EDK01/CURCY", "E1EDS01[SUMID=002]/SUNIT"),
            "company_code": paths("E1EDK14[QUALF=011]/ORGID"),
            "purchasing_organisation": paths("E1EDK14[QUALF=014]/ORGID"),
            "plant": paths("E1EDKA1[PARVW=WE]/PARTN"),
            "document_date": paths("E1EDK03[IDDAT=012]/DATUM", "E1EDK02[QUALF=001]/DATUM"),
        ]
        profile.itemSegment = segments("E1EDP01")
        profile.item = [
            "number": paths("POSEX"),
            "material": paths("E1EDP19[QUALF=001]/IDTNR", "E1EDP19[QUALF=002]/IDTNR", "MATNR"),
            "quantity": paths("MENGE"),
            "unit": paths("MENEE"),
            "net_value": paths("NETWR"),
            "plant": paths("WERKS"),
        ]
        return profile
    }

    static let orders = purchaseOrder(
        name: "orders", kind: .purchaseOrder,
        selector: ProfileSelector(
            idocTypes: ["ORDERS01", "ORDERS02", "ORDERS03", "ORDERS04", "ORDERS05"],
            excludedMessageTypes: ["ORDCHG", "ORDRSP"]))

    static let orderChange = purchaseOrder(
        name: "order_change", kind: .poChange,
        selector: ProfileSelector(
            idocTypes: ["ORDERS01", "ORDERS02", "ORDERS03", "ORDERS04", "ORDERS05"], messageTypes: ["ORDCHG"]))

    static let invoice: MappingProfile = {
        var profile = MappingProfile(
            name: "invoice", kind: .invoice, selector: ProfileSelector(idocTypes: ["INVOIC01", "INVOIC02"]))
        profile.header = [
            "number": paths("E1EDK02[QUALF=009]/BELNR", "E1EDK01/BELNR"),
            "po_number": paths("E1EDK02[QUALF=001]/BELNR"),
            "supplier": paths("E1EDKA1[PARVW=LF]/PARTN", "E1EDKA1[PARVW=RS]/PARTN", "E1EDKA1[PARVW=RS]/LIFNR"),
            "net_amount": paths("E1EDS01[SUMID=010]/SUMME", "E1EDS01[SUMID=002]/SUMME"),
            "gross_amount": paths("E1EDS01[SUMID=011]/SUMME"),
            "currency": paths("E1EDK01/CURCY", "E1EDS01[SUMID=010]/WAERQ"),
            "company_code": paths("E1EDK14[QUALF=011]/ORGID"),
            "purchasing_organisation": paths("E1EDK14[QUALF=014]/ORGID"),
            "document_date": paths("E1EDK03[IDDAT=012]/DATUM", "E1EDK02[QUALF=009]/DATUM"),
        ]
        profile.itemSegment = segments("E1EDP01")
        profile.item = [
            "number": paths("POSEX"),
            "material": paths("E1EDP19[QUALF=001]/IDTNR", "E1EDP19[QUALF=002]/IDTNR"),
            "quantity": paths("MENGE"),
            "unit": paths("MENEE"),
            "net_value": paths("NETWR", "E1EDP26[QUALF=003]/BETRG"),
            "plant": paths("WERKS"),
            "po_number": paths("E1EDP02[QUALF=001]/BELNR"),
            "po_item": paths("E1EDP02[QUALF=001]/ZEILE"),
        ]
        return profile
    }()

    /// Goods movements as MBGMCR (the BAPI's IDoc): receipts are movement types 101 and 105,
    /// their reversals 102, 106 and 122 (return to supplier).
    static let goodsMovement: MappingProfile = {
        var profile = MappingProfile(
            name: "goods_movement", kind: .goodsReceipt,
            selector: ProfileSelector(idocTypes: ["MBGMCR01", "MBGMCR02", "MBGMCR03"]))
        profile.header = [
            "number": paths("E1BP2017_GM_HEAD_01/REF_DOC_NO", "EDI_DC40/DOCNUM"),
            "document_date": paths("E1BP2017_GM_HEAD_01/DOC_DATE", "E1BP2017_GM_HEAD_01/PSTNG_DATE"),
        ]
        profile.itemSegment = segments("E1BP2017_GM_ITEM_CREATE")
        profile.item = [
            "material": paths("MATERIAL"),
            "quantity": paths("ENTRY_QNT"),
            "unit": paths("ENTRY_UOM"),
            "plant": paths("PLANT"),
            "cost_centre": paths("COSTCENTER"),
            "po_number": paths("PO_NUMBER"),
            "po_item": paths("PO_ITEM"),
            "movement_type": paths("MOVE_TYPE"),
        ]
        profile.receiptMovements = ["101", "105"]
        profile.reversalMovements = ["102", "106", "122"]
        return profile
    }()

    /// Goods movements from a warehouse system (message WMMBXY, basic type WMMBID01/02).
    static let warehouseGoodsMovement: MappingProfile = {
        var profile = MappingProfile(
            name: "warehouse_goods_movement", kind: .goodsReceipt,
            selector: ProfileSelector(idocTypes: ["WMMBID01", "WMMBID02"]))
        profile.header = [
            "number": paths("E1MBXYH/XBLNR", "EDI_DC40/DOCNUM"),
            "document_date": paths("E1MBXYH/BLDAT", "E1MBXYH/BUDAT"),
        ]
        profile.itemSegment = segments("E1MBXYI")
        profile.item = [
            "material": paths("MATNR"),
            "quantity": paths("ERFMG"),
            "unit": paths("ERFME"),
            "plant": paths("WERKS"),
            "cost_centre": paths("KOSTL"),
            "po_number": paths("EBELN"),
            "po_item": paths("EBELP"),
            "movement_type": paths("BWART"),
        ]
        profile.header["supplier"] = paths("E1MBXYI/LIFNR")
        profile.receiptMovements = ["101", "105"]
        profile.reversalMovements = ["102", "106", "122"]
        return profile
    }()

    /// Supplier master (CREMAS): bank details and tax numbers never reach the canonical model.
    static let supplier: MappingProfile = {
        var profile = MappingProfile(
            name: "supplier", kind: .supplier,
            selector: ProfileSelector(idocTypes: ["CREMAS01", "CREMAS02", "CREMAS03", "CREMAS04", "CREMAS05", "CREMAS06"]))
        profile.header = [
            "number": paths("E1LFA1M/LIFNR"),
            "supplier": paths("E1LFA1M/LIFNR"),
            "company_code": paths("E1LFA1M/E1LFB1M/BUKRS"),
            "purchasing_organisation": paths("E1LFA1M/E1LFM1M/EKORG"),
        ]
        profile.attributes = [
            "name": paths("E1LFA1M/NAME1"),
            "country": paths("E1LFA1M/LAND1"),
            "city": paths("E1LFA1M/ORT01"),
            "posting_block": paths("E1LFA1M/SPERR"),
            "purchasing_block": paths("E1LFA1M/SPERM"),
        ]
        profile.protected = [
            "E1LFBKM", "STCD1", "STCD2", "STCD3", "STCD4", "STCD5", "STCEG", "BANKL", "BANKN", "IBAN", "BKONT",
        ]
        return profile
    }()
}
