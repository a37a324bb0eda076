/// A page of recorded id conflicts in arrival order (`GET /v1/conflicts`).
public struct ConflictPage: Sendable, Equatable {
    public var conflicts: [IDConflict]
    /// Where the next page starts, or `nil` when no further conflict is recorded.
    public var next: EventCursor?

    public init(conflicts: [IDConflict], next: EventCursor?) {
        self.conflicts = conflicts
        self.next = next
    }
}
