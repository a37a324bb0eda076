import Foundation
import TestSupport

/// One end-to-end test's world: its directories, a hub and an agent that share a token and a
/// port. ``run(_:_:)`` kills whatever still runs and removes the directories afterwards, also
/// when the test fails (set `OUTPOST_E2E_KEEP=1` to keep them for a post-mortem).
final class Scenario: @unchecked Sendable {
    let dirs: TestDirs
    let hub: HubProcess
    let agent: AgentProcess
    let token: String
    let tokenFile: String

    private init(label: String) async throws {
        dirs = try TestDirs(label: label)
        token = (0..<24).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        tokenFile = dirs.work + "/agent.token"
        try (token + "\n").write(toFile: tokenFile, atomically: true, encoding: .utf8)
        chmod(tokenFile, 0o600)
        let hashed = try await CommandResult.run(
            try Binaries.path("outpost-hub"), ["hash-token"], stdin: tokenFile)
        let digest = hashed.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        guard hashed.status == 0, digest.count == 64 else { throw ScenarioError("hash-token failed: \(hashed)") }
        let port = try FreePort.pick()
        hub = HubProcess(dirs: dirs, port: port, agentID: "e2e-agent", region: "test", tokenSHA256: digest)
        agent = AgentProcess(dirs: dirs, id: "e2e-agent", region: "test", hubPort: port, tokenFile: tokenFile)
    }

    /// Runs `body` in a fresh scenario; errors carry both processes' log tails.
    static func run(_ label: String, _ body: (Scenario) async throws -> Void) async throws {
        let scenario = try await Scenario(label: label)
        defer { scenario.tearDown() }
        do {
            try await body(scenario)
        } catch {
            throw ScenarioError("\(error)\n\(scenario.logs)")
        }
        if let crash = scenario.crash {
            throw ScenarioError("\(crash), which no check of the test noticed\n\(scenario.logs)")
        }
    }

    /// A crash of the agent or the hub during the test (ended by a fault, or the runtime's
    /// crash report in its log): a test whose checks passed does not hide one that made it
    /// wait for a restart, or one after its last check.
    private var crash: String? {
        CrashReport.of("the agent", exitStatus: agent.process?.status, logAt: agent.logPath)
            ?? CrashReport.of("the hub", exitStatus: hub.process?.status, logAt: hub.logPath)
    }

    private func tearDown() {
        agent.killAndReap()
        hub.killAndReap()
        if ProcessInfo.processInfo.environment["OUTPOST_E2E_KEEP"] == nil { dirs.remove() }
    }

    /// Both log tails, for failure messages.
    var logs: String {
        "--- agent log (tail)\n\(agent.logTail())\n--- hub log (tail)\n\(hub.logTail())"
    }

    /// Polls `condition` (see ``Eventually``), with this scenario's logs on timeout.
    func eventually(_ what: String, timeout: Double = 60, _ condition: () async throws -> Bool) async throws {
        try await Eventually.poll(what, timeout: timeout, logs: { self.logs }, condition)
    }

    /// Waits until the hub stores exactly `count` events (heartbeats not counted).
    func waitForHubEvents(_ count: Int, timeout: Double = 60) async throws {
        var seen = -1
        try await Eventually.poll(
            "the hub stores \(count) events", timeout: timeout, logs: { "last seen: \(seen) events\n" + self.logs }
        ) {
            seen = try await hub.stats().events
            if seen > count { throw ScenarioError("the hub stores \(seen) events, more than the \(count) expected", fatal: true) }
            return seen == count
        }
    }

    /// Waits until the outbox has nothing pending (everything delivered or dead-lettered).
    func waitForDrainedOutbox(timeout: Double = 60) async throws {
        try await eventually("the agent's outbox has no pending events", timeout: timeout) {
            try await agent.status()["pending_events"] as? Int == 0
        }
    }

    /// Waits until the drop directory holds no document (all picked up; hidden temp files aside).
    func waitForEmptyDropDirectory(timeout: Double = 60) async throws {
        try await eventually("the drop directory is empty", timeout: timeout) {
            TestDirs.names(in: dirs.drop).isEmpty
        }
    }

    /// Reads `<error_dir>/<name>.reason.json`.
    func reason(of name: String) throws -> [String: Any] {
        let path = dirs.error + "/" + name + ".reason.json"
        guard let data = FileManager.default.contents(atPath: path),
              let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { throw ScenarioError("no readable reason file \(path); error_dir holds \(TestDirs.names(in: dirs.error))") }
        return object
    }
}
