import EventModel
import SpendMapping

/// Reads one flat IDoc (an event's `data`: its control record and data records, one per line)
/// into a segment tree for mapping. The control record gives the `EDI_DC40` segment; each data
/// record becomes a segment named by its type without the version suffix (`E2EDK01005` is
/// `E1EDK01`, `/NS/NAME` is `_-NS_-NAME`), nested by its level (HLEVEL), with the fields
/// `layout` names for it; a segment the layout does not know has no fields.
public enum FlatSegmentTree {
    public static func read(_ text: String, layout: FlatSegmentLayout) -> IDocSegment? {
        var lines = text.split(omittingEmptySubsequences: true, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" })[...]
        guard let first = lines.popFirst(), first.hasPrefix("EDI_DC40") else { return nil }
        var idoc = IDocSegment(name: "IDOC", children: [controlRecord(Array(first.unicodeScalars))])
        // The open segments, outermost first; stack[0] is the IDoc.
        var stack: [IDocSegment] = [idoc]
        var levels: [Int] = [0]
        for line in lines {
            let scalars = Array(line.unicodeScalars)
            guard scalars.count > headerLength else { continue }
            let level = Int(field(scalars, 61, 2)) ?? 1
            let name = segmentName(field(scalars, 0, 30))
            var segment = IDocSegment(name: name)
            if let fields = layout.segments[name] {
                for spec in fields {
                    segment.fields.append((spec.name, field(scalars, headerLength + spec.offset, spec.width)))
                }
            }
            while stack.count > 1, levels[levels.count - 1] >= level {
                let done = stack.removeLast()
                levels.removeLast()
                stack[stack.count - 1].children.append(done)
            }
            stack.append(segment)
            levels.append(level)
        }
        while stack.count > 1 {
            let done = stack.removeLast()
            stack[stack.count - 1].children.append(done)
        }
        idoc = stack[0]
        return idoc
    }

    /// SEGNAM 30, MANDT 3, DOCNUM 16, SEGNUM 6, PSGNUM 6, HLEVEL 2.
    private static let headerLength = 63

    private static func controlRecord(_ scalars: [Unicode.Scalar]) -> IDocSegment {
        let fields: [(String, Int, Int)] = [
            ("MANDT", 10, 3), ("DOCNUM", 13, 16), ("IDOCTYP", 39, 30), ("CIMTYP", 69, 30), ("MESTYP", 99, 30),
            ("SNDPRN", 162, 10), ("RCVPRN", 277, 10), ("CREDAT", 378, 8), ("CRETIM", 386, 6),
        ]
        return IDocSegment(name: "EDI_DC40", fields: fields.map { ($0.0, field(scalars, $0.1, $0.2)) })
    }

    private static func field(_ scalars: [Unicode.Scalar], _ offset: Int, _ width: Int) -> String {
        guard offset < scalars.count else { return "" }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars[offset..<min(offset + width, scalars.count)])
        return String(view).trimmingBlanks()
    }

    static func segmentName(_ raw: String) -> String {
        var name = raw
        if name.hasPrefix("E2"), name.count > 7, name.suffix(3).allSatisfy(\.isNumber) {
            name = String(name.dropLast(3))
        }
        if name.hasPrefix("E2") { name = "E1" + name.dropFirst(2) }
        return name.replacingSlashes()
    }
}

extension String {
    fileprivate func trimmingBlanks() -> String {
        guard let first = firstIndex(where: { $0 != " " && $0 != "\t" }), let last = lastIndex(where: { $0 != " " && $0 != "\t" })
        else { return "" }
        return String(self[first...last])
    }

    fileprivate func replacingSlashes() -> String {
        guard contains("/") else { return self }
        return split(separator: "/", omittingEmptySubsequences: false).joined(separator: "_-")
    }
}
