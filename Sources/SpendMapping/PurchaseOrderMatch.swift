/// The three-way match of one purchase order: per item, what was ordered, received and
/// invoiced, and the exceptions an accounts-payable clerk acts on.
public struct PurchaseOrderMatch: Sendable, Encodable {
    public struct Item: Sendable, Encodable {
        public var item: String
        public var currency: String
        public var orderedQuantity: ExactDecimal?
        public var orderedAmount: ExactDecimal?
        public var receivedQuantity: ExactDecimal?
        public var receivedAmount: ExactDecimal?
        public var invoicedQuantity: ExactDecimal?
        public var invoicedAmount: ExactDecimal?

        enum CodingKeys: String, CodingKey {
            case item, currency
            case orderedQuantity = "ordered_quantity", orderedAmount = "ordered_amount"
            case receivedQuantity = "received_quantity", receivedAmount = "received_amount"
            case invoicedQuantity = "invoiced_quantity", invoicedAmount = "invoiced_amount"
        }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(item, forKey: .item)
            try container.encode(currency, forKey: .currency)
            for (value, key) in [
                (orderedQuantity, CodingKeys.orderedQuantity), (orderedAmount, .orderedAmount),
                (receivedQuantity, .receivedQuantity), (receivedAmount, .receivedAmount),
                (invoicedQuantity, .invoicedQuantity), (invoicedAmount, .invoicedAmount),
            ] {
                try container.encode(value?.description, forKey: key)
            }
        }
    }

    public var poNumber: String
    /// Whether the hub holds the purchase order itself.
    public var known: Bool
    public var items: [Item]
    public var exceptions: [MatchException]

    enum CodingKeys: String, CodingKey {
        case poNumber = "po_number", known, items, exceptions
    }

    /// The match from the current lines counted against `poNumber` (its own, its receipts' and
    /// its invoices'). `tolerancePercent`: how far above ordered or received an invoice may go.
    public init(poNumber: String, lines: [SpendLine], tolerancePercent: ExactDecimal) {
        self.poNumber = poNumber
        let ordered = lines.filter { $0.measure == .ordered }
        known = !ordered.isEmpty
        var byItem: [String: Item] = [:]
        var order: [String] = []
        for line in lines {
            // A header-only invoice or receipt of a one-item order counts against that item.
            var item = line.poItem
            if item.isEmpty, ordered.count == 1 { item = ordered[0].poItem }
            if byItem[item] == nil {
                byItem[item] = Item(item: item, currency: line.currency)
                order.append(item)
            }
            Self.add(line, to: &byItem[item]!)
        }
        items = order.sorted { (Int($0) ?? .max, $0) < (Int($1) ?? .max, $1) }.map { byItem[$0]! }
        exceptions = []
        let invoices = lines.filter { $0.measure == .invoiced }
        var flagged = Set<String>()
        for line in invoices where line.version > 1 && flagged.insert("dup|\(line.documentKey)").inserted {
            exceptions.append(exception(.duplicateInvoice, line, "invoice \(line.number) from supplier \(line.supplier) arrived \(line.version) times"))
        }
        guard known else {
            for line in invoices where flagged.insert("unknown|\(line.documentKey)").inserted {
                exceptions.append(exception(.invoiceForUnknownPO, line, "invoice \(line.number) refers to purchase order \(poNumber), which the hub has not received"))
            }
            return
        }
        let factor = ExactDecimal(significand: 100, scale: 0) + tolerancePercent
        for item in items where item.invoicedQuantity != nil || item.invoicedAmount != nil {
            guard let invoice = invoices.last(where: { $0.poItem == item.item || ($0.poItem.isEmpty && ordered.count == 1) }) else { continue }
            if let invoiced = item.invoicedAmount, let orderedAmount = item.orderedAmount,
               Self.exceeds(invoiced, orderedAmount, factor) {
                exceptions.append(exception(.invoicedAboveOrdered, invoice, "item \(item.item): invoiced \(invoiced) \(item.currency), ordered \(orderedAmount)", item: item.item))
            } else if item.orderedAmount == nil, let invoiced = item.invoicedQuantity, let orderedQuantity = item.orderedQuantity,
                      Self.exceeds(invoiced, orderedQuantity, factor) {
                exceptions.append(exception(.invoicedAboveOrdered, invoice, "item \(item.item): invoiced quantity \(invoiced), ordered \(orderedQuantity)", item: item.item))
            }
            guard let received = item.receivedQuantity, !received.isZero else {
                exceptions.append(exception(.invoiceBeforeReceipt, invoice, "item \(item.item) is invoiced, but no goods receipt has arrived", item: item.item))
                continue
            }
            if let invoiced = item.invoicedQuantity, Self.exceeds(invoiced, received, factor) {
                exceptions.append(exception(.invoicedAboveReceived, invoice, "item \(item.item): invoiced quantity \(invoiced), received \(received)", item: item.item))
            }
        }
    }

    /// Whether `value` is above `limit` by more than the tolerance (`factor` = 100 + percent).
    static func exceeds(_ value: ExactDecimal, _ limit: ExactDecimal, _ factor: ExactDecimal) -> Bool {
        guard let allowed = limit.scaled(by: factor, over: ExactDecimal(significand: 100, scale: 0), places: max(limit.scale, factor.scale) + 2)
        else { return false }
        return allowed < value
    }

    private static func add(_ line: SpendLine, to item: inout Item) {
        func plus(_ total: ExactDecimal?, _ value: ExactDecimal?) -> ExactDecimal? {
            guard let value else { return total }
            return (total ?? .zero) + value
        }
        if item.currency.isEmpty { item.currency = line.currency }
        switch line.measure {
        case .ordered:
            item.orderedQuantity = plus(item.orderedQuantity, line.quantity)
            item.orderedAmount = plus(item.orderedAmount, line.amount)
        case .received:
            item.receivedQuantity = plus(item.receivedQuantity, line.quantity)
            item.receivedAmount = plus(item.receivedAmount, line.amount)
        case .invoiced:
            item.invoicedQuantity = plus(item.invoicedQuantity, line.quantity)
            item.invoicedAmount = plus(item.invoicedAmount, line.amount)
        }
    }

    private func exception(_ kind: MatchException.Kind, _ line: SpendLine, _ detail: String, item: String = "") -> MatchException {
        MatchException(
            poNumber: poNumber, poItem: item, kind: kind, region: line.region, supplier: line.supplier,
            documentKey: line.documentKey, number: line.number, detail: detail)
    }
}

/// One exception of the three-way match.
public struct MatchException: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case invoiceForUnknownPO = "invoice_for_unknown_po"
        case invoicedAboveOrdered = "invoiced_above_ordered"
        case invoicedAboveReceived = "invoiced_above_received"
        case invoiceBeforeReceipt = "invoice_before_receipt"
        case duplicateInvoice = "duplicate_invoice"
    }

    public var poNumber: String
    public var poItem: String
    public var kind: Kind
    public var region: String
    public var supplier: String
    /// The invoice the exception is about.
    public var documentKey: String
    public var number: String
    public var detail: String

    enum CodingKeys: String, CodingKey {
        case poNumber = "po_number", poItem = "po_item", kind, region, supplier
        case documentKey = "document_key", number = "invoice_number", detail
    }

    public init(
        poNumber: String, poItem: String, kind: Kind, region: String, supplier: String, documentKey: String,
        number: String, detail: String
    ) {
        self.poNumber = poNumber
        self.poItem = poItem
        self.kind = kind
        self.region = region
        self.supplier = supplier
        self.documentKey = documentKey
        self.number = number
        self.detail = detail
    }
}
