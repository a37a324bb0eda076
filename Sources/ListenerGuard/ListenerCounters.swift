import Synchronization

/// What one listener did to the connections it did not serve to the end: how many it refused
/// over ``ListenerLimits/maxConnections`` (kept by its ``OpenConnections``) and how many it
/// closed, per limit. Shared by every connection of the listener; read with ``counts``.
public final class ListenerCounters: Sendable {
    /// The listener's connection cap and its count of refused connections.
    public let connections: OpenConnections
    private let headerTimeouts = Atomic<Int>(0)
    private let slowBodies = Atomic<Int>(0)
    private let idleTimeouts = Atomic<Int>(0)
    private let oversizedHeaders = Atomic<Int>(0)

    /// - Parameter connections: the listener's cap, which counts the connections it refuses.
    public init(connections: OpenConnections) {
        self.connections = connections
    }

    /// The counters now, since the listener started.
    public var counts: ListenerCounts {
        ListenerCounts(
            open: connections.count, refused: connections.refused,
            headerTimeouts: headerTimeouts.load(ordering: .relaxed), slowBodies: slowBodies.load(ordering: .relaxed),
            idleTimeouts: idleTimeouts.load(ordering: .relaxed), oversizedHeaders: oversizedHeaders.load(ordering: .relaxed))
    }

    /// Counts one connection closed because of `reason`.
    func record(_ reason: ConnectionClosure) {
        switch reason {
        case .headerTimeout: headerTimeouts.add(1, ordering: .relaxed)
        case .slowBody: slowBodies.add(1, ordering: .relaxed)
        case .idleTimeout: idleTimeouts.add(1, ordering: .relaxed)
        case .oversizedHeaders: oversizedHeaders.add(1, ordering: .relaxed)
        }
    }
}
