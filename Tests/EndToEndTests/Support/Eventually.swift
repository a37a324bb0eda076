import Foundation

/// Polling with a deadline instead of fixed sleeps: fast when things work, patient on a
/// loaded machine.
enum Eventually {
    /// Calls `condition` every `interval` seconds until it returns true; throws after
    /// `timeout` seconds with `what` and the processes' log tails.
    static func poll(
        _ what: String, timeout: Double = 60, interval: Double = 0.1, logs: () -> String,
        _ condition: () async throws -> Bool
    ) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        var lastError: (any Error)?
        while true {
            do {
                if try await condition() { return }
                lastError = nil
            } catch let error as ScenarioError where error.isFatal {
                throw error
            } catch {
                lastError = error
            }
            if Date() >= deadline { break }
            try await Task.sleep(for: .milliseconds(Int(interval * 1000)))
        }
        let cause = lastError.map { "\nlast error: \($0)" } ?? ""
        throw ScenarioError("timed out after \(Int(timeout)) s waiting until \(what)\(cause)\n\(logs())")
    }
}
