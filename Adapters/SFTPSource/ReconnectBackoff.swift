/// Delays between reconnect attempts: exponential with full jitter, so that many agents
/// whose server restarted do not all come back in the same second.
struct ReconnectBackoff {
    let initial: Double
    let maximum: Double

    /// A random delay in `[0, min(maximum, initial · 2^(failures-1))]`, at least 50 ms.
    func delay(afterFailures failures: Int) -> Double {
        let doublings = min(max(0, failures - 1), 30)
        let ceiling = min(maximum, initial * Double(1 << doublings))
        return max(0.05, Double.random(in: 0...max(0, ceiling)))
    }
}
