import ArgumentParser
import BuildInfo
import Foundation
import LogFormat

/// `outpost-hub`: the reference hub (docs/OPERATIONS.md, "The hub").
///
/// Exit codes: 0 ok, 1 user or configuration error, 2 runtime failure.
@main
struct OutpostHubCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outpost-hub",
        abstract: "The reference hub: receives, de-duplicates, stores and shows Outpost events.",
        version: OutpostVersion.current,
        subcommands: [ServeCommand.self, CheckConfigCommand.self, HashTokenCommand.self, RemapCommand.self])

    /// Like ArgumentParser's, but a command-line mistake exits 1 (a user error), not 64.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if exitCode(for: error) == .validationFailure {
                printError(fullMessage(for: error))
                exit(withError: ExitCode.failure)
            }
            exit(withError: error)
        }
    }
}

extension ExitCode {
    /// A configuration or usage problem the operator can fix.
    static let configurationError = ExitCode(1)
    /// The hub could not run (cannot bind, storage failed).
    static let runtimeFailure = ExitCode(2)
}

/// Writes a line to standard error; one stderr cannot take (closed) is lost, the exit code
/// stays.
func printError(_ message: String) {
    StandardStream.write(message + "\n", to: STDERR_FILENO)
}
