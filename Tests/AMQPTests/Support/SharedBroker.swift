import Foundation

/// One broker for all tests of the process that do not restart it (startup takes seconds).
/// Started on first use; killed when the test process exits.
actor SharedBroker {
    static let shared = SharedBroker()
    private var starting: Task<TestBroker, Error>?

    /// The node, started by the first caller; callers arriving meanwhile wait for the same one.
    func get() async throws -> TestBroker {
        if let starting { return try await starting.value }
        let task = Task {
            let started = try await TestBroker.start()
            SharedBrokerExit.register(started)
            return started
        }
        starting = task
        return try await task.value
    }
}

/// Kills the shared broker's processes when the test process ends.
enum SharedBrokerExit {
    nonisolated(unsafe) private static var broker: TestBroker?

    static func register(_ broker: TestBroker) {
        self.broker = broker
        atexit {
            SharedBrokerExit.broker?.killNow()
            if let dir = SharedBrokerExit.broker?.directory { try? FileManager.default.removeItem(atPath: dir) }
        }
    }
}
