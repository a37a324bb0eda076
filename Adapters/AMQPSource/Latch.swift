import Synchronization

/// A flag one task sets and another polls.
final class Latch: Sendable {
    private let state = Mutex(false)

    func set() { state.withLock { $0 = true } }

    var isSet: Bool { state.withLock { $0 } }
}
