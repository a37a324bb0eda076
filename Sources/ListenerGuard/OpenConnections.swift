import Synchronization

/// How many connections one listener serves right now, against its cap; shared by every
/// connection's ``ConnectionCapHandler``.
public final class OpenConnections: Sendable {
    /// Connections served at once.
    public let limit: Int
    private let open = Atomic<Int>(0)
    private let refusedTotal = Atomic<Int>(0)

    /// - Parameter limit: connections served at once (at least 1).
    public init(limit: Int) {
        precondition(limit > 0)
        self.limit = limit
    }

    /// Connections open now.
    public var count: Int { open.load(ordering: .relaxed) }

    /// Connections closed at accept because the cap was reached, since the start.
    public var refused: Int { refusedTotal.load(ordering: .relaxed) }

    /// Takes a place for a new connection; `false` (and nothing taken) when all are taken.
    func take() -> Bool {
        var current = open.load(ordering: .relaxed)
        while current < limit {
            let (exchanged, original) = open.compareExchange(
                expected: current, desired: current + 1, ordering: .acquiringAndReleasing)
            if exchanged { return true }
            current = original
        }
        refusedTotal.add(1, ordering: .relaxed)
        return false
    }

    /// Gives back the place of a connection that closed.
    func release() {
        open.subtract(1, ordering: .acquiringAndReleasing)
    }
}
