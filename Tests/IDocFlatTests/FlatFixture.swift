import EventModel
import Foundation
import TestSupport
import IDocFlat

/// Builds flat IDoc records with every field padded to its place.
enum FlatFixture {
    struct Control {
        var mandt = "100"
        var docnum = "0000000000004711"
        var idoctyp = "ORDERS05"
        var cimtyp = ""
        var mestyp = "ORDERS"
        var sndprn = "SNDCLNT100"
        var sndlad = ""
        var rcvprn = "RCVPARTNER"
        var credat = "20261126"
        var cretim = "101500"
        var serial = "20261126101500"
    }

    /// A control record: 524 characters, or right-trimmed when `trimmed`.
    static func controlRecord(_ control: Control, trimmed: Bool = false) -> String {
        let fields: [(String, Int)] = [
            ("EDI_DC40", 10), (control.mandt, 3), (control.docnum, 16), ("740", 4), ("30", 2), ("1", 1), ("2", 1),
            ("", 1), ("", 1), (control.idoctyp, 30), (control.cimtyp, 30), (control.mestyp, 30), ("", 3), ("", 3),
            ("", 1), ("", 6), ("", 6), ("SAPPRD", 10), ("LS", 2), ("", 2), (control.sndprn, 10), ("", 21),
            (control.sndlad, 70), ("RCVPORT", 10), ("LS", 2), ("", 2), (control.rcvprn, 10), ("", 21), ("", 70),
            (control.credat, 8), (control.cretim, 6), ("", 14), ("", 14), ("", 14), ("", 70), (control.serial, 20),
        ]
        let record = fields.map { pad($0.0, $0.1) }.joined()
        return trimmed ? rightTrimmed(record) : record
    }

    /// A data record (up to 1063 characters); right-trimmed when `trimmed`.
    static func dataRecord(
        segment: String, docnum: String = "0000000000004711", number: Int, parent: Int = 0, level: Int = 2,
        sdata: String, trimmed: Bool = false
    ) -> String {
        let record = pad(segment, 30) + pad("100", 3) + pad(docnum, 16) + pad(String(format: "%06d", number), 6)
            + pad(String(format: "%06d", parent), 6) + pad(String(format: "%02d", level), 2) + pad(sdata, 1000)
        return trimmed ? rightTrimmed(record) : record
    }

    static func pad(_ value: String, _ width: Int) -> String {
        precondition(value.unicodeScalars.count <= width, "\(value) does not fit in \(width) characters")
        return value + String(repeating: " ", count: width - value.unicodeScalars.count)
    }

    static func rightTrimmed(_ record: String) -> String {
        var scalars = Substring(record).unicodeScalars
        while scalars.last == " " { scalars.removeLast() }
        return String(scalars)
    }
}

enum FlatDecoding {
    static func decode(_ input: DocumentInput, limits: CodecLimits = .default) -> DecodeOutcome {
        CodecHarness.decode(IDocFlatCodec(), input, limits: limits)
    }

    static func decode(_ text: String, limits: CodecLimits = .default) -> DecodeOutcome {
        decode(.bytes(Array(text.utf8)), limits: limits)
    }
}

