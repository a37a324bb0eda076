/// One segment of an IDoc as a tree: its name, its fields in document order and the segments
/// nested in it. The control record is the segment named `EDI_DC40`; a whole IDoc is a segment
/// named `IDOC` whose children are the control record and the top-level data segments.
///
/// Names are as the document writes them: XML element names (`/NS/NAME` appears as
/// `_-NS_-NAME`), and for flat IDocs the segment type with its version suffix removed
/// (`E2EDK01005` appears as `E1EDK01`).
public struct IDocSegment: Sendable, Equatable {
    public var name: String
    public var fields: [(name: String, value: String)]
    public var children: [IDocSegment]

    public init(name: String, fields: [(name: String, value: String)] = [], children: [IDocSegment] = []) {
        self.name = name
        self.fields = fields
        self.children = children
    }

    /// The value of the first field with this name, blanks trimmed; `nil` when absent.
    public func field(_ name: String) -> String? {
        for field in fields where field.name == name { return field.value }
        return nil
    }

    public static func == (lhs: IDocSegment, rhs: IDocSegment) -> Bool {
        lhs.name == rhs.name && lhs.children == rhs.children
            && lhs.fields.elementsEqual(rhs.fields) { $0.name == $1.name && $0.value == $1.value }
    }
}
