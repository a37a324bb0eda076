import Foundation
import TestSupport

/// A running executable whose stdout and stderr are appended to a log file.
final class ChildProcess: Sendable {
    let name: String
    let logPath: String
    private let child: Subprocess

    /// Starts `executable` with `arguments`; output goes to the end of `logPath`.
    init(name: String, executable: String, arguments: [String], logPath: String) throws {
        self.name = name
        self.logPath = logPath
        do {
            child = try Subprocess(executable, arguments, stdout: .append(logPath), stderr: .append(logPath))
        } catch {
            throw ScenarioError("cannot start \(executable): \(error)")
        }
    }

    var pid: Int32 { child.pid }
    var isRunning: Bool { child.isRunning }

    /// Sends `signal` (SIGTERM, SIGKILL…) if the process still runs.
    func send(_ signal: Int32) { child.send(signal) }

    /// Waits up to `timeout` seconds for the exit; returns the exit status, or nil if it still runs.
    /// A process ended by a signal reports 128 + the signal number, as a shell would.
    func waitForExit(timeout: Double) async -> Int32? { await child.waitForExit(timeout: timeout) }

    /// The exit status (128 + the signal for a signal), or nil while it runs.
    var status: Int32? { child.status }

    /// SIGKILL and reap, for cleanup; never throws.
    func killAndReap() { child.killAndReap() }

    /// The last `lines` lines of the log.
    func logTail(lines: Int = 40) -> String { PackageLayout.tail(logPath, lines: lines) }
}
