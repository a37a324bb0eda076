/// One line of a canonical document as spend: what was ordered, received or invoiced for one
/// item (or for the whole document when it has no items), with the dimensions spend is grouped
/// by. Absent dimensions are empty strings. Each line belongs to one version of a document;
/// only the lines of a document's latest version are `current`.
@dynamicMemberLookup
public struct SpendLine: Sendable, Equatable {
    public enum Measure: String, Sendable, CaseIterable, Codable {
        case ordered, received, invoiced
    }

    public var eventID: String
    public var documentKey: String
    public var kind: CanonicalDocument.Kind
    public var number: String
    /// The item number, or `""` for a document's header line.
    public var line: String
    /// The aggregate cell the line's amount counts in: its measure and every dimension spend
    /// is grouped by (`line.region` and the others read and write it). The month is
    /// `YYYY-MM` of the document date, else of the arrival.
    public var cell: SpendCell
    /// The purchase order and item the line counts against (a purchase order's own).
    public var poNumber: String
    public var poItem: String
    public var quantity: ExactDecimal?
    /// `nil` when the line has no value: a goods receipt whose order line is not known.
    public var amount: ExactDecimal?
    /// Where the version's event lies in the hub's arrival order.
    public var position: MappingPosition
    /// 1 for a document's first version, 2 for the next, …
    public var version: Int

    public init(
        eventID: String, documentKey: String, kind: CanonicalDocument.Kind, number: String, line: String,
        measure: Measure, position: MappingPosition, version: Int
    ) {
        self.eventID = eventID
        self.documentKey = documentKey
        self.kind = kind
        self.number = number
        self.line = line
        cell = SpendCell(
            measure: measure, region: "", supplier: "", plant: "", companyCode: "", costCentre: "", currency: "", month: "")
        poNumber = ""
        poItem = ""
        self.position = position
        self.version = version
    }

    /// A dimension of the line's cell (`line.region`, `line.measure`, …).
    public subscript<Value>(dynamicMember dimension: WritableKeyPath<SpendCell, Value>) -> Value {
        get { cell[keyPath: dimension] }
        set { cell[keyPath: dimension] = newValue }
    }
}

extension SpendLine {
    /// The line of `orderLines` (one order's own lines) that a receipt or invoice line for
    /// `item` counts against: the same item, else the order's only line.
    public static func orderLine(for item: String, among orderLines: [SpendLine]) -> SpendLine? {
        orderLines.first { $0.poItem == item } ?? (orderLines.count == 1 ? orderLines[0] : nil)
    }

    /// A received quantity valued at its order line's price (order amount × quantity ÷ ordered
    /// quantity, rounded half to even to the order amount's decimals, at least two); `nil` when
    /// the order line has no amount or quantity.
    public static func receivedValue(of quantity: ExactDecimal?, at orderLine: SpendLine) -> ExactDecimal? {
        guard let quantity, let amount = orderLine.amount, let ordered = orderLine.quantity else { return nil }
        return amount.scaled(by: quantity, over: ordered, places: max(amount.scale, 2))
    }
}

/// An event's place in the hub's arrival order, as the mapper reads it (`EventCursor`'s pair).
public struct MappingPosition: Sendable, Hashable, Comparable {
    public var epoch: Int64
    public var sequence: Int64

    public init(epoch: Int64, sequence: Int64) {
        self.epoch = epoch
        self.sequence = sequence
    }

    public static func < (lhs: MappingPosition, rhs: MappingPosition) -> Bool {
        (lhs.epoch, lhs.sequence) < (rhs.epoch, rhs.sequence)
    }
}

/// One cell of the spend aggregate: every dimension spend can be grouped by.
public struct SpendCell: Sendable, Hashable {
    public var measure: SpendLine.Measure
    public var region: String
    public var supplier: String
    public var plant: String
    public var companyCode: String
    public var costCentre: String
    public var currency: String
    public var month: String

    public init(
        measure: SpendLine.Measure, region: String, supplier: String, plant: String, companyCode: String,
        costCentre: String, currency: String, month: String
    ) {
        self.measure = measure
        self.region = region
        self.supplier = supplier
        self.plant = plant
        self.companyCode = companyCode
        self.costCentre = costCentre
        self.currency = currency
        self.month = month
    }
}
