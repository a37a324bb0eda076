import Foundation
import TestSupport

/// The outcome of a short CLI command (`outpost status`, `outpost dlq list`, …).
struct CommandResult: CustomStringConvertible {
    let arguments: [String]
    let status: Int32
    let stdout: String
    let stderr: String

    var description: String {
        "`\(arguments.joined(separator: " "))` exited \(status)\n--- stdout\n\(stdout)\n--- stderr\n\(stderr)"
    }

    /// Runs `executable` to completion (at most `timeout` seconds), with `stdin` read from a file.
    static func run(
        _ executable: String, _ arguments: [String], stdin: String? = nil, timeout: Double = 60
    ) async throws -> CommandResult {
        let output: CommandOutput
        do {
            output = try await Subprocess.run(executable, arguments, stdin: stdin, timeout: timeout)
        } catch let error as SubprocessError {
            throw ScenarioError(error.description)
        }
        return CommandResult(
            arguments: [(executable as NSString).lastPathComponent] + arguments, status: output.status,
            stdout: output.stdout, stderr: output.stderr)
    }
}
