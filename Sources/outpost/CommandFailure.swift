import ArgumentParser
import Glibc
import LogFormat

/// Prints `outpost: <message>` on stderr and exits with the documented code (README, "Commands").
enum CommandFailure {
    /// A user or configuration error: exit 1.
    static func user(_ message: String) -> ExitCode {
        printError(message)
        return ExitCode(1)
    }

    /// A runtime failure: exit 2.
    static func runtime(_ message: String) -> ExitCode {
        printError(message)
        return ExitCode(2)
    }

    /// Writes the message; one stderr cannot take (closed) is lost, the exit code stays.
    static func printError(_ message: String) {
        StandardStream.write("outpost: \(message)\n", to: STDERR_FILENO)
    }
}
