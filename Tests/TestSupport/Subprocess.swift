import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A child process started with posix_spawn and reaped with waitpid.
///
/// Tests use this instead of Foundation's `Process`: `Process.waitUntilExit()` spins a run
/// loop and was seen to hang forever inside Swift Testing's cooperative threads, which stalled
/// a whole CI run. Here nothing waits without a deadline unless asked to, and the child starts
/// with default signal dispositions, an empty signal mask and no inherited descriptors beyond
/// 0, 1 and 2.
public final class Subprocess: @unchecked Sendable {
    /// Where the child's stdout or stderr goes.
    public enum Output: Sendable {
        case null
        /// Appended to this file (created if missing).
        case append(String)
        /// This file, truncated when the child starts (then appended to, so that stdout and
        /// stderr can share it).
        case truncate(String)
        /// A pipe whose reading end is already closed: every write fails (EPIPE, or SIGPIPE
        /// unless the child keeps it ignored, see `keepIgnoredSIGPIPE`).
        case closedPipe
    }

    public let pid: pid_t
    public let executable: String
    public let arguments: [String]
    private let lock = NSLock()
    private var exitStatus: Int32?

    /// Starts `executable` (an absolute path, or a name looked up in PATH).
    public init(
        _ executable: String, _ arguments: [String], stdin: String? = nil,
        stdout: Output = .null, stderr: Output = .null,
        environment: [String: String]? = nil, newProcessGroup: Bool = false, keepIgnoredSIGPIPE: Bool = false
    ) throws {
        let path = try Subprocess.resolve(executable)
        self.executable = path
        self.arguments = arguments

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdin ?? "/dev/null", O_RDONLY, 0)
        var closedPipe: Int32 = -1
        defer { if closedPipe >= 0 { close(closedPipe) } }
        for (fd, output) in [(Int32(1), stdout), (Int32(2), stderr)] {
            switch output {
            case .closedPipe:
                if closedPipe < 0 {
                    var ends: [Int32] = [0, 0]
                    guard pipe(&ends) == 0 else { throw SubprocessError("pipe: \(String(cString: strerror(errno)))") }
                    close(ends[0])
                    closedPipe = ends[1]
                }
                posix_spawn_file_actions_adddup2(&actions, closedPipe, fd)
            case .null: posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", O_WRONLY, 0)
            case .append(let file):
                posix_spawn_file_actions_addopen(&actions, fd, file, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            case .truncate(let file):
                posix_spawn_file_actions_addopen(&actions, fd, file, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0o644)
            }
        }
        if let closeFrom = Subprocess.addCloseFrom { _ = closeFrom(&actions, 3) }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigfillset(&defaults)
        sigdelset(&defaults, SIGKILL)
        sigdelset(&defaults, SIGSTOP)
        // Kept as the parent has it (ignored, when the caller ignores it), as a service
        // manager passes it on.
        if keepIgnoredSIGPIPE { sigdelset(&defaults, SIGPIPE) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var flags = Int32(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
        if newProcessGroup {
            flags |= Int32(POSIX_SPAWN_SETPGROUP)
            posix_spawnattr_setpgroup(&attributes, 0)
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))

        var env = ProcessInfo.processInfo.environment
        if let environment { env.merge(environment) { _, new in new } }
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var child: pid_t = 0
        let rc = posix_spawn(&child, path, &actions, &attributes, argv, envp)
        guard rc == 0 else {
            throw SubprocessError("cannot start \(path): \(String(cString: strerror(rc)))")
        }
        pid = child
    }

    deinit { killAndReap() }

    /// The exit status if the child has ended (128 + signal number when a signal ended it).
    public var status: Int32? { poll() }
    public var isRunning: Bool { poll() == nil }

    /// Sends `signal` if the child has not been reaped yet.
    public func send(_ signal: Int32) {
        if poll() == nil { kill(pid, signal) }
    }

    /// Sends `signal` to the child's process group (see `newProcessGroup`).
    public func sendToGroup(_ signal: Int32) {
        if poll() == nil { kill(-pid, signal) }
    }

    /// Waits up to `timeout` seconds; the exit status, or nil if the child still runs.
    public func waitForExit(timeout: Double) async -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let status = poll() { return status }
            if Date() >= deadline { return nil }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    /// The blocking form of `waitForExit`, for synchronous set-up and tear-down code.
    public func waitForExitBlocking(timeout: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let status = poll() { return status }
            if Date() >= deadline { return nil }
            usleep(10_000)
        }
    }

    /// `signal`, then up to `grace` seconds, then SIGKILL; the exit status.
    @discardableResult
    public func stop(signal: Int32 = SIGTERM, grace: Double = 15) async -> Int32 {
        send(signal)
        if let status = await waitForExit(timeout: grace) { return status }
        killAndReap()
        return poll() ?? 128 + SIGKILL
    }

    /// SIGKILL and reap; never throws, never waits long.
    public func killAndReap() {
        guard poll() == nil else { return }
        kill(pid, SIGKILL)
        _ = waitForExitBlocking(timeout: 10)
    }

    private func poll() -> Int32? {
        lock.lock()
        defer { lock.unlock() }
        if let exitStatus { return exitStatus }
        var raw: Int32 = 0
        let rc = waitpid(pid, &raw, WNOHANG)
        if rc == pid {
            let signal = raw & 0x7f
            exitStatus = signal == 0 ? (raw >> 8) & 0xff : 128 + signal
        } else if rc < 0 && errno == ECHILD {
            exitStatus = -1  // reaped elsewhere; nothing more to learn
        }
        return exitStatus
    }

    /// glibc ≥ 2.34's posix_spawn_file_actions_addclosefrom_np, which the Glibc module does not
    /// export: looked up at run time so that servers the tests start hold no descriptor of theirs.
    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private static let addCloseFrom: AddCloseFrom? = {
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") else {
            return nil
        }
        return unsafeBitCast(symbol, to: AddCloseFrom.self)
    }()

    static func resolve(_ executable: String) throws -> String {
        if executable.contains("/") { return executable }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        for dir in path.split(separator: ":") where FileManager.default.isExecutableFile(atPath: "\(dir)/\(executable)") {
            return "\(dir)/\(executable)"
        }
        throw SubprocessError("`\(executable)` is not installed (not found in PATH)")
    }
}

/// The outcome of a command run to completion.
public struct CommandOutput: Sendable, CustomStringConvertible {
    public let command: [String]
    public let status: Int32
    public let stdout: String
    public let stderr: String

    public var description: String {
        "`\(command.joined(separator: " "))` exited \(status)\n--- stdout\n\(stdout)\n--- stderr\n\(stderr)"
    }
}

extension Subprocess {
    /// Runs a command to completion (at most `timeout` seconds, then it is killed and this throws).
    public static func run(
        _ executable: String, _ arguments: [String], stdin: String? = nil,
        environment: [String: String]? = nil, combineOutput: Bool = false, timeout: Double = 120
    ) async throws -> CommandOutput {
        let capture = try Capture(executable, arguments, stdin: stdin, environment: environment, combineOutput: combineOutput)
        return try capture.finish(await capture.child.waitForExit(timeout: timeout), timeout: timeout)
    }

    /// The blocking form of `run`, for synchronous code.
    public static func runBlocking(
        _ executable: String, _ arguments: [String], stdin: String? = nil,
        environment: [String: String]? = nil, combineOutput: Bool = false, timeout: Double = 120
    ) throws -> CommandOutput {
        let capture = try Capture(executable, arguments, stdin: stdin, environment: environment, combineOutput: combineOutput)
        return try capture.finish(capture.child.waitForExitBlocking(timeout: timeout), timeout: timeout)
    }

    /// A child whose stdout and stderr go to scratch files, read back when it has exited.
    private struct Capture {
        let child: Subprocess
        let command: [String]
        let outPath: String
        let errPath: String

        init(_ executable: String, _ arguments: [String], stdin: String?, environment: [String: String]?, combineOutput: Bool) throws {
            let base = NSTemporaryDirectory() + "/subprocess-\(UUID().uuidString)"
            outPath = base + ".out"
            errPath = base + ".err"
            command = [executable] + arguments
            child = try Subprocess(
                executable, arguments, stdin: stdin, stdout: .truncate(outPath),
                stderr: combineOutput ? .append(outPath) : .truncate(errPath), environment: environment)
        }

        /// The output for an exit `status`; kills the child and throws when it has not exited.
        func finish(_ status: Int32?, timeout: Double) throws -> CommandOutput {
            defer {
                unlink(outPath)
                unlink(errPath)
            }
            guard let status else {
                child.killAndReap()
                throw SubprocessError("`\(command.joined(separator: " "))` did not finish within \(Int(timeout)) s")
            }
            return CommandOutput(command: command, status: status, stdout: Self.read(outPath), stderr: Self.read(errPath))
        }

        private static func read(_ path: String) -> String {
            String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
        }
    }

    /// Runs a command and throws, with its output, unless it exits 0.
    @discardableResult
    public static func check(_ executable: String, _ arguments: [String], timeout: Double = 120) throws -> CommandOutput {
        let result = try runBlocking(executable, arguments, timeout: timeout)
        guard result.status == 0 else { throw SubprocessError(result.description) }
        return result
    }
}

public struct SubprocessError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
