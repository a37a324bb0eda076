import SpendMapping

/// What `resetMapping` recomputes from the current spend lines once it has dropped the later
/// versions: receipts valued at the orders' current prices, the aggregate and the exceptions.
enum CanonicalRebuild {
    /// The lines with receipts revalued against the current order lines.
    static func revalued(_ lines: [SpendLine]) -> [SpendLine] {
        let orders = Dictionary(grouping: lines.filter { $0.measure == .ordered }, by: \.poNumber)
        return lines.map { line in
            guard line.measure == .received, let orderLines = orders[line.poNumber] else { return line }
            var line = line
            let orderLine = orderLines.first { $0.poItem == line.poItem } ?? (orderLines.count == 1 ? orderLines[0] : nil)
            if let orderLine, let quantity = line.quantity, let amount = orderLine.amount, let ordered = orderLine.quantity {
                line.amount = amount.scaled(by: quantity, over: ordered, places: max(amount.scale, 2))
            }
            return line
        }
    }

    static func cells(_ lines: [SpendLine]) -> [SpendCell: ExactDecimal] {
        var cells: [SpendCell: ExactDecimal] = [:]
        for line in lines {
            if let amount = line.amount { cells[line.cell, default: .zero] += amount }
        }
        return cells
    }

    static func exceptions(_ lines: [SpendLine], tolerancePercent: ExactDecimal) -> [MatchException] {
        Dictionary(grouping: lines.filter { !$0.poNumber.isEmpty }, by: \.poNumber)
            .sorted { $0.key < $1.key }
            .flatMap { PurchaseOrderMatch(poNumber: $0.key, lines: $0.value, tolerancePercent: tolerancePercent).exceptions }
    }
}
