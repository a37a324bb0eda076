/// The fields of an IDoc control record (`EDI_DC40`) that Outpost carries onto events.
///
/// Values are kept as the document states them, with surrounding blanks trimmed.
public struct ControlRecord: Sendable, Equatable {
    /// Client (`MANDT`).
    public var mandt: String
    /// IDoc number (`DOCNUM`); may be blank in flat files.
    public var docnum: String
    /// Basic type (`IDOCTYP`), e.g. `ORDERS05`.
    public var idoctyp: String
    /// Extension type (`CIMTYP`), often blank.
    public var cimtyp: String
    /// Message type (`MESTYP`), e.g. `ORDERS` or `/LUMBERL/3PL_ORDERS`.
    public var mestyp: String
    /// Sender partner number (`SNDPRN`).
    public var sndprn: String
    /// Receiver partner number (`RCVPRN`).
    public var rcvprn: String
    /// Creation date `YYYYMMDD` (`CREDAT`).
    public var credat: String
    /// Creation time `HHMMSS` (`CRETIM`).
    public var cretim: String

    public init(
        mandt: String = "", docnum: String = "", idoctyp: String = "", cimtyp: String = "",
        mestyp: String = "", sndprn: String = "", rcvprn: String = "", credat: String = "",
        cretim: String = ""
    ) {
        self.mandt = mandt
        self.docnum = docnum
        self.idoctyp = idoctyp
        self.cimtyp = cimtyp
        self.mestyp = mestyp
        self.sndprn = sndprn
        self.rcvprn = rcvprn
        self.credat = credat
        self.cretim = cretim
    }

    /// Sets the field named by its `EDI_DC40` element/field name; other names are ignored.
    /// Returns whether the name was one Outpost keeps.
    @discardableResult
    public mutating func set(field name: String, to rawValue: String) -> Bool {
        let value = rawValue.trimmingBlanks()
        switch name {
        case "MANDT": mandt = value
        case "DOCNUM": docnum = value
        case "IDOCTYP": idoctyp = value
        case "CIMTYP": cimtyp = value
        case "MESTYP": mestyp = value
        case "SNDPRN": sndprn = value
        case "RCVPRN": rcvprn = value
        case "CREDAT": credat = value
        case "CRETIM": cretim = value
        default: return false
        }
        return true
    }

    /// `CREDAT` and `CRETIM` as `YYYYMMDDTHHMMSS`, or empty when there is no date.
    public var creationStamp: String {
        guard !credat.isEmpty else { return "" }
        return cretim.isEmpty ? credat : credat + "T" + cretim
    }

    /// The CloudEvents `type`: `sap.idoc.<MESTYP>`, with `/NS/NAME` written `NS.NAME`.
    /// Falls back to the basic type when the message type is blank.
    public var eventType: String {
        let name = mestyp.isEmpty ? idoctyp : mestyp
        return "sap.idoc." + ControlRecord.dottedName(name)
    }

    /// `/NS/NAME` → `NS.NAME`; names without a namespace are unchanged.
    public static func dottedName(_ name: String) -> String {
        guard name.hasPrefix("/") else { return name }
        let parts = name.split(separator: "/", omittingEmptySubsequences: true)
        return parts.joined(separator: ".")
    }
}

extension String {
    /// The string without leading and trailing spaces, tabs, CR and LF.
    public func trimmingBlanks() -> String {
        var scalars = Substring(self).unicodeScalars[...]
        while let first = scalars.first, first == " " || first == "\t" || first == "\r" || first == "\n" {
            scalars = scalars.dropFirst()
        }
        while let last = scalars.last, last == " " || last == "\t" || last == "\r" || last == "\n" {
            scalars = scalars.dropLast()
        }
        return String(String.UnicodeScalarView(scalars))
    }
}
