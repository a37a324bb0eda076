#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import EventModel

/// The `EDI_DC40` fields Outpost keeps, matched on the element name's bytes so that the
/// other fields cost no string at all.
enum ControlRecordFields {
    enum Field {
        case mandt, docnum, idoctyp, cimtyp, mestyp, sndprn, rcvprn, credat, cretim

        /// The element's name.
        var name: StaticString {
            switch self {
            case .mandt: "MANDT"
            case .docnum: "DOCNUM"
            case .idoctyp: "IDOCTYP"
            case .cimtyp: "CIMTYP"
            case .mestyp: "MESTYP"
            case .sndprn: "SNDPRN"
            case .rcvprn: "RCVPRN"
            case .credat: "CREDAT"
            case .cretim: "CRETIM"
            }
        }

        /// Stores `value` in the record's field (a switch: a key path write costs a call into
        /// the runtime, per field of every IDoc).
        func set(_ value: String, in record: inout ControlRecord) {
            switch self {
            case .mandt: record.mandt = value
            case .docnum: record.docnum = value
            case .idoctyp: record.idoctyp = value
            case .cimtyp: record.cimtyp = value
            case .mestyp: record.mestyp = value
            case .sndprn: record.sndprn = value
            case .rcvprn: record.rcvprn = value
            case .credat: record.credat = value
            case .cretim: record.cretim = value
            }
        }
    }

    private static let all: [Field] = [.mandt, .docnum, .idoctyp, .cimtyp, .mestyp, .sndprn, .rcvprn, .credat, .cretim]

    /// The kept field an element of this name holds, if any.
    static func field(named name: UnsafeBufferPointer<UInt8>) -> Field? {
        guard let base = name.baseAddress else { return nil }
        return all.first { $0.name.utf8CodeUnitCount == name.count && memcmp(base, $0.name.utf8Start, name.count) == 0 }
    }

    /// The kept field a NUL-terminated element name (libxml2's) holds, if any.
    static func field(named name: UnsafePointer<UInt8>?) -> Field? {
        guard let name else { return nil }
        return field(named: UnsafeBufferPointer(start: name, count: strlen(UnsafeRawPointer(name).assumingMemoryBound(to: CChar.self))))
    }

    /// A field's text without leading and trailing spaces, tabs, CR and LF.
    static func trimmed<Bytes: BidirectionalCollection<UInt8>>(_ bytes: Bytes) -> String {
        guard let first = bytes.firstIndex(where: { !XMLSyntax.isBlank($0) }),
              let last = bytes.lastIndex(where: { !XMLSyntax.isBlank($0) })
        else { return "" }
        return String(decoding: bytes[first...last], as: UTF8.self)
    }
}
