import Foundation

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
        _ executable: String, _ arguments: [String], stdin: String? = nil, scratch: String, timeout: Double = 60
    ) async throws -> CommandResult {
        let outPath = scratch + "/cmd-\(UUID().uuidString).out"
        let errPath = scratch + "/cmd-\(UUID().uuidString).err"
        defer {
            try? FileManager.default.removeItem(atPath: outPath)
            try? FileManager.default.removeItem(atPath: errPath)
        }
        FileManager.default.createFile(atPath: outPath, contents: nil)
        FileManager.default.createFile(atPath: errPath, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle(forWritingAtPath: outPath)
        process.standardError = FileHandle(forWritingAtPath: errPath)
        process.standardInput = stdin.flatMap { FileHandle(forReadingAtPath: $0) } ?? FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning {
            if Date() >= deadline {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                throw ScenarioError("`\((executable as NSString).lastPathComponent) \(arguments.joined(separator: " "))` did not finish within \(Int(timeout)) s")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        process.waitUntilExit()
        func read(_ path: String) -> String {
            String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
        }
        return CommandResult(
            arguments: [(executable as NSString).lastPathComponent] + arguments, status: process.terminationStatus,
            stdout: read(outPath), stderr: read(errPath))
    }
}
