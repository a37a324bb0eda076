/// How a set of outbox sequence numbers is named in a statement.
///
/// The forwarder's batches are mostly runs: the oldest pending events of their keys, numbered
/// one after another, or nearly. A run goes into a statement prepared once as two bounds; any
/// other set is spelled out as a list, which SQLite parses and sorts afresh each time.
enum SequenceRun {
    /// The range from the first number to the last, when the numbers ascend and fill at least
    /// half of it (the rows between them are passed over); nil otherwise.
    static func covering(_ sequences: [Int64]) -> ClosedRange<Int64>? {
        guard let range = ascendingRange(sequences) else { return nil }
        let span = range.upperBound - range.lowerBound + 1
        return span <= 2 * Int64(sequences.count) ? range : nil
    }

    /// The range the numbers fill exactly, each once, in order; nil otherwise.
    static func exact(_ sequences: [Int64]) -> ClosedRange<Int64>? {
        guard let range = ascendingRange(sequences) else { return nil }
        return range.upperBound - range.lowerBound + 1 == Int64(sequences.count) ? range : nil
    }

    /// The numbers as an SQL list: `1,2,5`.
    static func list(_ sequences: [Int64]) -> String {
        sequences.map(String.init).joined(separator: ",")
    }

    fileprivate static func ascendingRange(_ sequences: [Int64]) -> ClosedRange<Int64>? {
        guard let first = sequences.first, let last = sequences.last else { return nil }
        for i in sequences.indices.dropFirst() where sequences[i] <= sequences[i - 1] { return nil }
        return first...last
    }

    /// Membership of numbers asked in ascending order (as rows come `ORDER BY seq`), by one
    /// walk along the sorted set rather than a hash of each.
    struct Members {
        private let sorted: [Int64]
        private var next = 0

        init(_ sequences: [Int64]) {
            sorted = SequenceRun.ascendingRange(sequences) == nil ? sequences.sorted() : sequences
        }

        /// Whether `sequence` is a member; each call must ask a number no smaller than the last.
        mutating func contains(_ sequence: Int64) -> Bool {
            while next < sorted.count, sorted[next] < sequence { next += 1 }
            return next < sorted.count && sorted[next] == sequence
        }
    }
}
