import Foundation
import SpendMapping

/// `GET /v1/spend`: totals of ordered, received and invoiced amounts, grouped by any of the
/// dimensions and always by currency (amounts in different currencies are never added).
public struct SpendQuery: Sendable, Equatable {
    public enum Dimension: String, Sendable, CaseIterable {
        case region, supplier, plant
        case companyCode = "company_code"
        case costCentre = "cost_centre"
        case month

        /// The column of `spend_cell` (the same in both storages).
        var column: String {
            switch self {
            case .region: "region"
            case .supplier: "supplier"
            case .plant: "plant"
            case .companyCode: "company_code"
            case .costCentre: "cost_centre"
            case .month: "month"
            }
        }
    }

    public var groupBy: [Dimension] = []
    /// Only cells whose dimension has this value.
    public var filters: [Dimension: String] = [:]
    public var currency: String?
    /// Document months, inclusive, `YYYY-MM`.
    public var fromMonth: String?
    public var toMonth: String?

    public init() {}

    /// Parses the query string's parameters; a message says what is wrong.
    public init(parameters: [(String, String)]) throws(SpendQueryError) {
        for (name, value) in parameters {
            switch name {
            case "group_by":
                for part in value.split(separator: ",") where !part.isEmpty {
                    guard let dimension = Dimension(rawValue: String(part)) else {
                        throw SpendQueryError("group_by '\(part)' is not one of \(Dimension.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                    if dimension != .month || !groupBy.contains(dimension) { groupBy.append(dimension) }
                }
            case "from", "to":
                guard Self.isMonth(value) else { throw SpendQueryError("\(name) '\(value)' is not a month (YYYY-MM)") }
                if name == "from" { fromMonth = value } else { toMonth = value }
            case "currency":
                currency = value
            default:
                guard let dimension = Dimension(rawValue: name) else {
                    throw SpendQueryError("'\(name)' is not a parameter of /v1/spend (group_by, from, to, currency, \(Dimension.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                filters[dimension] = value
            }
        }
    }

    static func isMonth(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 7, bytes[4] == 0x2D, let month = Int(text.suffix(2)), (1...12).contains(month) else { return false }
        return bytes[0..<4].allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }
}

public struct SpendQueryError: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// One group's totals in one currency.
public struct SpendTotal: Sendable, Equatable, Encodable {
    public var group: [String: String]
    public var currency: String
    public var ordered: ExactDecimal
    public var received: ExactDecimal
    public var invoiced: ExactDecimal

    public init(group: [String: String], currency: String) {
        self.group = group
        self.currency = currency
        ordered = .zero
        received = .zero
        invoiced = .zero
    }

    mutating func add(_ amount: ExactDecimal, to measure: SpendLine.Measure) {
        switch measure {
        case .ordered: ordered += amount
        case .received: received += amount
        case .invoiced: invoiced += amount
        }
    }

    enum CodingKeys: String, CodingKey { case group, currency, ordered, received, invoiced }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(group, forKey: .group)
        try container.encode(currency, forKey: .currency)
        try container.encode(ordered.description, forKey: .ordered)
        try container.encode(received.description, forKey: .received)
        try container.encode(invoiced.description, forKey: .invoiced)
    }

    /// Totals from (group values, currency, measure, amount) rows, in the order first seen.
    static func totals(
        _ rows: [(group: [String], currency: String, measure: SpendLine.Measure, amount: ExactDecimal)],
        dimensions: [SpendQuery.Dimension]
    ) -> [SpendTotal] {
        var index: [[String]: Int] = [:]
        var totals: [SpendTotal] = []
        for row in rows {
            let key = row.group + [row.currency]
            if index[key] == nil {
                index[key] = totals.count
                var group: [String: String] = [:]
                for (dimension, value) in zip(dimensions, row.group) { group[dimension.rawValue] = value }
                totals.append(SpendTotal(group: group, currency: row.currency))
            }
            totals[index[key]!].add(row.amount, to: row.measure)
        }
        return totals.sorted { sortKey($0, dimensions) < sortKey($1, dimensions) }
    }

    private static func sortKey(_ total: SpendTotal, _ dimensions: [SpendQuery.Dimension]) -> String {
        (dimensions.map { total.group[$0.rawValue] ?? "" } + [total.currency]).joined(separator: "\u{1}")
    }
}

/// `GET /v1/exceptions`: open three-way-match exceptions.
public struct ExceptionQuery: Sendable, Equatable {
    public var region: String?
    public var kind: MatchException.Kind?
    public var limit: Int = 100

    public init(region: String? = nil, kind: MatchException.Kind? = nil, limit: Int = 100) {
        self.region = region
        self.kind = kind
        self.limit = min(max(1, limit), 1000)
    }
}
