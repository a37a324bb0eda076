import Foundation

/// Whether an integration test that needs a server or tool runs: where it is available, and
/// always under CI (`CI` set), where a missing server or tool must fail the test with the
/// reason rather than skip it to green.
public enum IntegrationGate {
    /// Whether the tests run under CI.
    public static var underCI: Bool {
        guard let value = ProcessInfo.processInfo.environment["CI"] else { return false }
        return !value.isEmpty && value.lowercased() != "false" && value != "0"
    }

    /// `true` when `available`, and under CI in any case.
    public static func runs(_ available: Bool) -> Bool { available || underCI }
}
