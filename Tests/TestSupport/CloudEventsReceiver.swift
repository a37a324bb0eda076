import Foundation

/// scripts/cloudevents-receiver.py on 127.0.0.1: an HTTP receiver built on the official
/// CloudEvents Python SDK (`from_http`), appending each event it parsed to a JSON-lines file.
public final class CloudEventsReceiver: @unchecked Sendable {
    /// Whether the receiver tests run: when python3 has the `cloudevents` package, and always
    /// under CI, where a receiver that cannot start is a failure with the reason, never a skip.
    public static func shouldRun() async -> Bool {
        let available = (try? await Subprocess.run("python3", ["-c", "import cloudevents"], timeout: 60).status) == 0
        return available || ProcessInfo.processInfo.environment["CI"] != nil
    }

    public let port: Int
    public let directory: String
    private let process: Subprocess
    public var url: String { "http://127.0.0.1:\(port)/events" }

    /// Starts the receiver; `failFirst` requests get 503, the event `rejectID` gets 400.
    public init(failFirst: Int = 0, rejectID: String? = nil) async throws {
        directory = NSTemporaryDirectory() + "outpost-ce-receiver-" + UUID().uuidString.prefix(8).lowercased()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        port = try LoopbackPort.free()
        let script = PackageLayout.root.appendingPathComponent("scripts/cloudevents-receiver.py").path
        var arguments = [script, "--port", "\(port)", "--out", directory + "/events.jsonl", "--fail-first", "\(failFirst)"]
        if let rejectID { arguments += ["--reject-id", rejectID] }
        process = try Subprocess(
            "python3", arguments, stdout: .truncate(directory + "/output.log"), stderr: .append(directory + "/output.log"))
        for _ in 0..<300 {
            guard process.isRunning, !LoopbackPort.accepts(port) else { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        guard LoopbackPort.accepts(port) else {
            process.killAndReap()
            let output = (try? String(contentsOfFile: directory + "/output.log", encoding: .utf8)) ?? ""
            throw SubprocessError(
                "the CloudEvents receiver did not start (pip install cloudevents; scripts/install-deps.sh --test): \(output)")
        }
    }

    /// The events received so far, in arrival order.
    public func events() throws -> [[String: Any]] {
        guard let text = try? String(contentsOfFile: directory + "/events.jsonl", encoding: .utf8) else { return [] }
        return try text.split(separator: "\n").map {
            guard let object = try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] else {
                throw SubprocessError("receiver wrote a line that is not an object: \($0)")
            }
            return object
        }
    }

    public func stop() async {
        _ = await process.stop(signal: SIGTERM, grace: 5)
        try? FileManager.default.removeItem(atPath: directory)
    }
}
