/// Delays between reconnection attempts: exponential from `initial` up to `maximum`, with
/// full jitter so that many agents do not reconnect to a restarted broker in lockstep.
public struct ReconnectBackoff: Sendable {
    public var initial: Double
    public var maximum: Double
    private var attempt = 0

    public init(initial: Double = 0.5, maximum: Double = 30) {
        self.initial = initial
        self.maximum = maximum
    }

    /// The delay before the next attempt, seconds.
    public mutating func next() -> Double {
        attempt += 1
        let cap = min(maximum, initial * Double(1 << min(attempt - 1, 20)))
        return Double.random(in: (cap / 2)...max(cap, 0.001))
    }

    /// After a connection that worked: start again from `initial`.
    public mutating func reset() { attempt = 0 }
}
