/// What storing a batch did.
public struct StoreOutcome: Sendable, Equatable {
    /// Events stored now.
    public var accepted: Int
    /// Events whose id was already stored (or repeated within the batch); dropped.
    public var duplicates: Int

    public init(accepted: Int, duplicates: Int) {
        self.accepted = accepted
        self.duplicates = duplicates
    }
}
