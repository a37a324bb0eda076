/// What storing a batch did.
public struct StoreOutcome: Sendable, Equatable {
    /// Events stored now.
    public var accepted: Int
    /// Events whose id was already stored with the same document (or repeated within the
    /// batch); dropped.
    public var duplicates: Int
    /// Events whose id was already stored with another document: kept apart as conflicts,
    /// never stored as the event.
    public var conflicts: [IDConflict]

    public init(accepted: Int, duplicates: Int, conflicts: [IDConflict] = []) {
        self.accepted = accepted
        self.duplicates = duplicates
        self.conflicts = conflicts
    }
}
