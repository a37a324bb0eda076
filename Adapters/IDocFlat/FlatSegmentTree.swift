import EventModel
import SpendMapping

/// Reads one flat IDoc (an event's `data`: its control record and data records, one per line)
/// into a segment tree for mapping. The control record gives the `EDI_DC40` segment (the
/// fields the codec reads, at `ControlRecordLayout`'s offsets); each data record becomes a
/// segment named by its type without the version suffix (`E2EDK01005` is `E1EDK01`, `/NS/NAME`
/// is `_-NS_-NAME`), nested by its level (HLEVEL), with the fields `layout` names for it at
/// their character offsets; a segment the layout does not know has no fields.
public enum FlatSegmentTree {
    public static func read(_ text: String, layout: FlatSegmentLayout) -> IDocSegment? {
        read(Array(text.utf8), layout: layout)
    }

    /// `nil` when the data does not start with a control record or is not flat IDoc text.
    public static func read(_ data: [UInt8], layout: FlatSegmentLayout) -> IDocSegment? {
        guard data.starts(with: Array("EDI_DC40".utf8)) else { return nil }
        var stack: [(segment: IDocSegment, level: Int)] = [(IDocSegment(name: "IDOC"), 0)]
        var scratch: [UInt8] = []
        do {
            try data.withUnsafeBytes { bytes in
                var number = 0
                for line in bytes.split(separator: 0x0A, omittingEmptySubsequences: true) {
                    number += 1
                    try FlatRecord.withRecord(line: UnsafeRawBufferPointer(rebasing: line), number: number, scratch: &scratch) { record in
                        if number == 1 {
                            stack[0].segment.children.append(controlSegment(ControlRecordLayout.controlRecord(from: record)))
                        } else if record.characterCount > headerLength {
                            add(record, layout: layout, to: &stack)
                        }
                    }
                }
            }
        } catch {
            return nil
        }
        while stack.count > 1 {
            let done = stack.removeLast().segment
            stack[stack.count - 1].segment.children.append(done)
        }
        return stack[0].segment
    }

    /// SEGNAM 30, MANDT 3, DOCNUM 16, SEGNUM 6, PSGNUM 6, HLEVEL 2.
    private static let headerLength = 63

    private static func add(_ record: FlatRecord, layout: FlatSegmentLayout, to stack: inout [(segment: IDocSegment, level: Int)]) {
        let level = Int(record.field(at: 61, width: 2)) ?? 1
        let name = segmentName(record.field(at: 0, width: 30))
        var segment = IDocSegment(name: name)
        for spec in layout.segments[name] ?? [] {
            segment.fields.append((spec.name, record.field(at: headerLength + spec.offset, width: spec.width)))
        }
        while stack.count > 1, stack[stack.count - 1].level >= level {
            let done = stack.removeLast().segment
            stack[stack.count - 1].segment.children.append(done)
        }
        stack.append((segment, level))
    }

    private static func controlSegment(_ control: ControlRecord) -> IDocSegment {
        IDocSegment(name: "EDI_DC40", fields: [
            ("MANDT", control.mandt), ("DOCNUM", control.docnum), ("IDOCTYP", control.idoctyp), ("CIMTYP", control.cimtyp),
            ("MESTYP", control.mestyp), ("SNDPRN", control.sndprn), ("RCVPRN", control.rcvprn), ("CREDAT", control.credat),
            ("CRETIM", control.cretim),
        ])
    }

    static func segmentName(_ raw: String) -> String {
        var name = raw
        if name.hasPrefix("E2"), name.count > 7, name.suffix(3).allSatisfy(\.isNumber) {
            name = String(name.dropLast(3))
        }
        if name.hasPrefix("E2") { name = "E1" + name.dropFirst(2) }
        guard name.contains("/") else { return name }
        return name.split(separator: "/", omittingEmptySubsequences: false).joined(separator: "_-")
    }
}
