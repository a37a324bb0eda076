import Foundation

/// tinyproxy (Debian's `tinyproxy` package) on 127.0.0.1 in a temp directory, in the foreground,
/// with Basic credentials; its log lists every request it forwarded (`Request (file descriptor
/// N): POST http://… HTTP/1.1`, `CONNECT 127.0.0.1:PORT HTTP/1.1`).
public final class TinyProxy: @unchecked Sendable {
    public static let executable = "/usr/bin/tinyproxy"
    /// Whether the proxy tests run: when tinyproxy is installed, and always under CI, where a
    /// proxy that cannot start is a failure with the reason, never a skip.
    public static var shouldRun: Bool {
        FileManager.default.isExecutableFile(atPath: executable) || ProcessInfo.processInfo.environment["CI"] != nil
    }

    public let directory: String
    public let port: Int
    private let process: Subprocess
    public var logFile: String { directory + "/tinyproxy.log" }

    /// Starts tinyproxy requiring `user`/`password`, and waits until it accepts connections.
    public init(user: String, password: String) async throws {
        guard FileManager.default.isExecutableFile(atPath: Self.executable) else {
            throw SubprocessError("\(Self.executable) is absent: install tinyproxy (scripts/install-deps.sh --test) to run the proxy tests")
        }
        directory = NSTemporaryDirectory() + "outpost-tinyproxy-" + UUID().uuidString.prefix(8).lowercased()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        port = try LoopbackPort.free()
        let configuration = """
            Port \(port)
            Listen 127.0.0.1
            Timeout 60
            LogFile "\(directory)/tinyproxy.log"
            LogLevel Info
            PidFile "\(directory)/tinyproxy.pid"
            MaxClients 50
            Allow 127.0.0.1
            BasicAuth \(user) \(password)

            """
        try configuration.write(toFile: directory + "/tinyproxy.conf", atomically: true, encoding: .utf8)
        process = try Subprocess(
            Self.executable, ["-d", "-c", directory + "/tinyproxy.conf"], stdout: .truncate(directory + "/stdout.log"),
            stderr: .append(directory + "/stdout.log"))
        for _ in 0..<100 {
            guard process.isRunning, !LoopbackPort.accepts(port) else { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        guard LoopbackPort.accepts(port) else {
            process.killAndReap()
            let output = (try? String(contentsOfFile: directory + "/stdout.log", encoding: .utf8)) ?? ""
            throw SubprocessError("tinyproxy did not start on 127.0.0.1:\(port): \(output)")
        }
    }

    /// The log's lines so far.
    public func log() -> [String] {
        ((try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    public func stop() async {
        _ = await process.stop(signal: SIGTERM, grace: 5)
        try? FileManager.default.removeItem(atPath: directory)
    }
}
