import Foundation

/// The order in which a batch tries a hub's replicas: each batch starts at the next replica in
/// turn (so concurrent batches spread over all of them), replicas that failed lately go last,
/// and a replica that failed is set aside for `setAside` seconds, doubling up to `maximum`
/// while it keeps failing, until it answers again.
final class ReplicaRotation: @unchecked Sendable {
    private let lock = NSLock()
    private let count: Int
    private var next = 0
    private var failures: [Int]
    private var asideUntil: [Double]
    private let setAside: Double
    private let maximum: Double
    private let now: @Sendable () -> Double

    init(count: Int, setAside: Double = 2, maximum: Double = 30, now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) {
        self.count = count
        self.failures = Array(repeating: 0, count: count)
        self.asideUntil = Array(repeating: 0, count: count)
        self.setAside = setAside
        self.maximum = maximum
        self.now = now
    }

    /// Every replica once: those not set aside first, starting at the next in turn.
    func order() -> [Int] {
        lock.withLock {
            let start = next
            next = (next + 1) % count
            let turn = (0..<count).map { (start + $0) % count }
            let time = now()
            return turn.filter { asideUntil[$0] <= time } + turn.filter { asideUntil[$0] > time }
        }
    }

    func failed(_ replica: Int) {
        lock.withLock {
            failures[replica] += 1
            let pause = min(maximum, setAside * pow(2, Double(min(failures[replica] - 1, 16))))
            asideUntil[replica] = now() + pause
        }
    }

    func succeeded(_ replica: Int) {
        lock.withLock {
            failures[replica] = 0
            asideUntil[replica] = 0
        }
    }
}
