/// "Did you mean …?" for misspelt configuration keys.
enum KeySuggestion {
    /// The allowed key closest to `key`, if it is close enough to be a likely typo: at most two
    /// edits (a swap of neighbours counts as one), and no more than a third of the key's length.
    /// Case and `-` versus `_` are ignored.
    static func closest(to key: String, among allowed: [String]) -> String? {
        let typed = normalized(key)
        let limit = min(2, max(1, typed.count / 3))
        var best: (key: String, distance: Int)?
        for candidate in allowed {
            let distance = editDistance(typed, normalized(candidate))
            if distance <= limit, distance < (best?.distance ?? .max) {
                best = (candidate, distance)
            }
        }
        return best?.key
    }

    private static func normalized(_ key: String) -> [Character] {
        Array(key.lowercased().map { $0 == "-" ? "_" : $0 })
    }

    /// Optimal-string-alignment distance: insertions, deletions, substitutions and adjacent swaps.
    private static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previousRow = [Int](repeating: 0, count: b.count + 1)
        var row = Array(0...b.count)
        var twoRowsBack = row
        for i in 1...a.count {
            twoRowsBack = previousRow
            previousRow = row
            row = [i] + [Int](repeating: 0, count: b.count)
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                row[j] = min(previousRow[j] + 1, row[j - 1] + 1, previousRow[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    row[j] = min(row[j], twoRowsBack[j - 2] + 1)
                }
            }
        }
        return row[b.count]
    }
}
