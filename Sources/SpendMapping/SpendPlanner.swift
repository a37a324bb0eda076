import EventModel

/// Turns a page of mapped documents into changes of the spend lines and aggregate, given the
/// current lines the page can touch: those of the documents it holds new versions of, and
/// those of every purchase order it refers to (the order's own lines and the receipts and
/// invoices against it). Storages load those, run the planner and write what it returns, in
/// one transaction.
public struct SpendPlanner {
    /// Current lines by document key: the loaded ones and the page's.
    private var lines: [String: [SpendLine]]
    private var stored: Set<String>
    public private(set) var retiredKeys: Set<String> = []
    /// New lines with whether each is still current at the end of the page.
    public private(set) var inserted: [(line: SpendLine, current: Bool)] = []
    /// Stored current lines whose amount changed (an order's price changed after the receipt).
    private var revaluedStored: [String: SpendLine] = [:]
    public private(set) var cellDeltas: [SpendCell: ExactDecimal] = [:]
    public private(set) var touchedOrders: Set<String> = []
    let tolerancePercent: ExactDecimal

    public init(currentLines: [SpendLine], tolerancePercent: ExactDecimal = .zero) {
        lines = Dictionary(grouping: currentLines, by: \.documentKey)
        stored = Set(lines.keys)
        self.tolerancePercent = tolerancePercent
    }

    /// The document keys and purchase orders whose current lines a page of `documents` needs.
    public static func keysToLoad(for documents: [CanonicalDocument]) -> (documentKeys: Set<String>, orders: Set<String>) {
        var keys = Set<String>()
        var orders = Set<String>()
        for document in documents where document.kind != .supplier {
            keys.insert(document.documentKey)
            orders.formUnion(document.referencedPurchaseOrders)
        }
        return (keys, orders)
    }

    public var revalued: [SpendLine] {
        revaluedStored.values.filter { !retiredKeys.contains($0.documentKey) }.sorted { ($0.eventID, $0.line) < ($1.eventID, $1.line) }
    }

    /// Applies one document version, in arrival order.
    public mutating func apply(_ document: CanonicalDocument, position: MappingPosition, receivedAt: Double) {
        guard document.kind != .supplier else { return }
        let key = document.documentKey
        let previous = lines[key] ?? []
        for line in previous {
            count(line, sign: -1)
        }
        if !previous.isEmpty {
            if stored.contains(key) { retiredKeys.insert(key) }
            for index in inserted.indices where inserted[index].line.documentKey == key { inserted[index].current = false }
        }
        let version = (previous.first?.version ?? 0) + 1
        let fresh = newLines(document, position: position, receivedAt: receivedAt, version: version)
        lines[key] = fresh
        stored.remove(key)
        for line in fresh {
            count(line, sign: 1)
            inserted.append((line, true))
        }
        touchedOrders.formUnion(document.referencedPurchaseOrders)
        if document.kind.family == .purchaseOrder { revalueReceipts(of: document.number) }
    }

    /// Exceptions of every purchase order the page touched, from the lines current now.
    public func exceptions() -> [String: [MatchException]] {
        var byOrder: [String: [SpendLine]] = [:]
        for (_, documentLines) in lines {
            for line in documentLines where touchedOrders.contains(line.poNumber) {
                byOrder[line.poNumber, default: []].append(line)
            }
        }
        var result: [String: [MatchException]] = [:]
        for order in touchedOrders {
            result[order] = PurchaseOrderMatch(poNumber: order, lines: byOrder[order] ?? [], tolerancePercent: tolerancePercent).exceptions
        }
        return result
    }

    private mutating func count(_ line: SpendLine, sign: Int) {
        guard let amount = line.amount else { return }
        cellDeltas[line.cell, default: .zero] += sign < 0 ? -amount : amount
    }

    private func newLines(_ document: CanonicalDocument, position: MappingPosition, receivedAt: Double, version: Int) -> [SpendLine] {
        let measure: SpendLine.Measure = switch document.kind.family {
        case .purchaseOrder, .poChange: .ordered
        case .goodsReceipt: .received
        default: .invoiced
        }
        func base(_ lineNumber: String) -> SpendLine {
            var line = SpendLine(
                eventID: document.eventID, documentKey: document.documentKey, kind: document.kind, number: document.number,
                line: lineNumber, measure: measure, position: position, version: version)
            line.region = document.region
            line.supplier = document.supplier ?? ""
            line.plant = document.plant ?? ""
            line.companyCode = document.companyCode ?? ""
            line.costCentre = document.costCentre ?? ""
            line.currency = document.currency ?? ""
            line.month = document.documentDate.map { String($0.prefix(7)) } ?? MonthText.of(secondsSince1970: receivedAt)
            line.poNumber = measure == .ordered ? document.number : document.poNumber ?? ""
            line.poItem = measure == .ordered ? "" : document.poItem ?? ""
            return line
        }
        guard !document.items.isEmpty else {
            var line = base("")
            line.amount = document.netAmount.flatMap { ExactDecimal($0) }
            if measure == .received { value(&line) }
            return [line]
        }
        return document.items.enumerated().map { index, item in
            var line = base(item.number ?? String(index + 1))
            if measure == .ordered { line.poItem = line.line }
            if let plant = item.plant { line.plant = plant }
            if let centre = item.costCentre { line.costCentre = centre }
            if let order = item.poNumber, measure != .ordered { line.poNumber = order }
            if let orderItem = item.poItem, measure != .ordered { line.poItem = orderItem }
            line.quantity = item.quantity.flatMap { ExactDecimal($0) }
            line.amount = item.netValue.flatMap { ExactDecimal($0) }
            if measure == .received { value(&line) }
            return line
        }
    }

    /// Values a receipt line at its order line's price, and takes the order's currency,
    /// supplier and company code where the receipt has none.
    private func value(_ line: inout SpendLine) {
        guard let orderLine = orderLine(line.poNumber, line.poItem) else {
            line.amount = nil
            return
        }
        if line.currency.isEmpty { line.currency = orderLine.currency }
        if line.supplier.isEmpty { line.supplier = orderLine.supplier }
        if line.companyCode.isEmpty { line.companyCode = orderLine.companyCode }
        if line.costCentre.isEmpty { line.costCentre = orderLine.costCentre }
        line.amount = SpendLine.receivedValue(of: line.quantity, at: orderLine)
    }

    private func orderLine(_ order: String, _ item: String) -> SpendLine? {
        guard !order.isEmpty, let orderLines = lines["purchase_order|\(order)"] else { return nil }
        return SpendLine.orderLine(for: item, among: orderLines)
    }

    private mutating func revalueReceipts(of order: String) {
        for (key, documentLines) in lines where key.hasPrefix("goods_receipt|") {
            var changed = false
            var updated = documentLines
            for index in updated.indices where updated[index].poNumber == order {
                let before = updated[index]
                value(&updated[index])
                guard updated[index] != before else { continue }
                count(before, sign: -1)
                count(updated[index], sign: 1)
                changed = true
            }
            guard changed else { continue }
            lines[key] = updated
            if stored.contains(key) {
                for line in updated where line.poNumber == order { revaluedStored["\(line.eventID)|\(line.line)"] = line }
            } else {
                for index in inserted.indices where inserted[index].line.documentKey == key && inserted[index].current {
                    if let line = updated.first(where: { $0.line == inserted[index].line.line }) { inserted[index].line = line }
                }
            }
        }
    }
}

/// `YYYY-MM` of a time, in UTC.
enum MonthText {
    static func of(secondsSince1970: Double) -> String { String(RFC3339.format(secondsSince1970).prefix(7)) }
}
