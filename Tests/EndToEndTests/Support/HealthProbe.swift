import Foundation

/// `GET /healthz` on a new connection every 250 ms until ``stop()``, each allowed 5 s.
final class HealthProbe: Sendable {
    struct Outcome: Sendable, CustomStringConvertible {
        var answered = 0
        var failed = 0
        /// The slowest answer, in seconds.
        var slowest = 0.0
        var description: String { "\(answered) answered 200, \(failed) failed, slowest \(String(format: "%.2f", slowest)) s" }
    }

    private final class Switch: @unchecked Sendable {
        private let lock = NSLock()
        private var on = true
        var isOn: Bool { lock.withLock { on } }
        func turnOff() { lock.withLock { on = false } }
    }

    private let running = Switch()
    private let task: Task<Outcome, Never>

    init(port: Int) {
        let running = self.running
        task = Task {
            var outcome = Outcome()
            while running.isOn {
                let started = Date()
                let status = (try? await LoopbackHTTP.get(port: port, path: "/healthz", timeout: 5))?.status
                if status == 200 {
                    outcome.answered += 1
                    outcome.slowest = max(outcome.slowest, Date().timeIntervalSince(started))
                } else {
                    outcome.failed += 1
                }
                try? await Task.sleep(for: .milliseconds(250))
            }
            return outcome
        }
    }

    /// Stops probing; what the probes saw.
    func stop() async -> Outcome {
        running.turnOff()
        return await task.value
    }
}
