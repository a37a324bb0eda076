/// Where named fields sit in a flat IDoc's segment data (the 1,000 characters after a data
/// record's 63-character header): offsets and widths in characters, offsets from 0.
/// Flat records carry no field names, so a profile's paths read flat IDocs through these.
public struct FlatSegmentLayout: Sendable, Equatable {
    public struct Field: Sendable, Equatable {
        public var name: String
        public var offset: Int
        public var width: Int

        public init(name: String, offset: Int, width: Int) {
            self.name = name
            self.offset = offset
            self.width = width
        }
    }

    /// Fields by segment name (`E1EDK01`, as paths write it).
    public var segments: [String: [Field]]

    public init(segments: [String: [Field]]) {
        self.segments = segments
    }

    /// This layout with `other`'s segments replacing its own of the same name.
    public func merging(_ other: FlatSegmentLayout) -> FlatSegmentLayout {
        FlatSegmentLayout(segments: segments.merging(other.segments) { $1 })
    }

    /// Consecutive fields from offset 0, by name and width.
    static func consecutive(_ widths: KeyValuePairs<String, Int>) -> [Field] {
        var offset = 0
        return widths.map { name, width in
            defer { offset += width }
            return Field(name: name, offset: offset, width: width)
        }
    }

    /// The fields the built-in profiles read, at the offsets of SAP's segment definitions
    /// (E1EDK01…E1EDS01 as released for ORDERS05 and INVOIC02). The warehouse movement
    /// segments E1MBXYH and E1MBXYI hold the fields the built-in profile reads in the layout
    /// of docs/MAPPING.md; check it against the sending system's definition (WE31) and override
    /// it under `mapping.flat_layouts` when it differs.
    public static let builtIn = FlatSegmentLayout(segments: [
        "E1EDK01": consecutive([
            "ACTION": 3, "KZABS": 1, "CURCY": 3, "HWAER": 3, "WKURS": 12, "ZTERM": 17, "KUNDEUINR": 20, "EIGENUINR": 20,
            "BSART": 4, "BELNR": 35, "NTGEW": 18, "BRGEW": 18, "GEWEI": 3, "FKART_RL": 4, "ABLAD": 25, "BSTZD": 4,
            "VSART": 2, "VSART_BEZ": 20, "RECIPNT_NO": 10,
        ]),
        "E1EDKA1": consecutive(["PARVW": 3, "PARTN": 17, "LIFNR": 17, "NAME1": 35, "NAME2": 35]),
        "E1EDK02": consecutive(["QUALF": 3, "BELNR": 35, "POSNR": 6, "DATUM": 8, "UZEIT": 6]),
        "E1EDK03": consecutive(["IDDAT": 3, "DATUM": 8, "UZEIT": 6]),
        "E1EDK14": consecutive(["QUALF": 3, "ORGID": 35]),
        "E1EDS01": consecutive(["SUMID": 3, "SUMME": 18, "SUNIT": 3, "WAERQ": 3]),
        "E1EDP01": consecutive([
            "POSEX": 6, "ACTION": 3, "PSTYP": 1, "KZABS": 1, "MENGE": 15, "MENEE": 3, "BMNG2": 15, "PMENE": 3,
            "ABFTZ": 7, "VPREI": 15, "PEINH": 9, "NETWR": 18, "ANETW": 18, "SKFBP": 18, "NTGEW": 18, "GEWEI": 3,
            "EINKZ": 1, "CURCY": 3, "PREIS": 18, "MATKL": 9, "UEPOS": 6, "GRKOR": 3, "EVERS": 7, "BPUMN": 6,
            "BPUMZ": 6, "ABGRU": 2, "ABGRT": 40, "ANTLF": 1, "FIXMG": 1, "KZAZU": 1, "BRGEW": 18, "PSTYV": 4,
            "EMPST": 25, "ABTNR": 4, "ABRVW": 3, "WERKS": 4,
        ]),
        "E1EDP02": consecutive(["QUALF": 3, "BELNR": 35, "ZEILE": 6, "DATUM": 8, "UZEIT": 6]),
        "E1EDP19": consecutive(["QUALF": 3, "IDTNR": 35, "KTEXT": 70]),
        "E1EDP26": consecutive(["QUALF": 3, "BETRG": 18]),
        "E1MBXYH": consecutive(["BLDAT": 8, "BUDAT": 8, "XBLNR": 16, "BKTXT": 25]),
        "E1MBXYI": consecutive([
            "MATNR": 18, "WERKS": 4, "LGORT": 4, "CHARG": 10, "BWART": 3, "ERFMG": 13, "ERFME": 3, "EBELN": 10,
            "EBELP": 5, "LIFNR": 10, "KOSTL": 10,
        ]),
    ])
}
