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
            if let orderLine = SpendLine.orderLine(for: line.poItem, among: orderLines),
               let value = SpendLine.receivedValue(of: line.quantity, at: orderLine)
            {
                line.amount = value
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
