import Foundation

/// The agent (`outpost run`) with one `file_drop` source on the test's directories, sending
/// to the test's hub. It can be stopped, killed and started again on the same outbox.
final class AgentProcess: @unchecked Sendable {
    /// The configuration knobs the scenarios change; the rest is fixed.
    struct Settings {
        var settle = "200ms"
        var include: [String]? = nil
        var batchMaxBytes: String? = nil
        var batchMaxEvents: Int? = nil
        var retryInitial = "100ms"
        var retryMax = "1s"
        var logLevel = "info"
        /// Run the agent as this user (through `setpriv`; the test must run as root), e.g.
        /// `nobody`, so that file permissions apply to it.
        var runAsUser: String? = nil
        /// The hub's replicas, instead of the one hub on `hubPort`.
        var hubURLs: [String]? = nil
        /// More `sources:` entries, as YAML list items indented by two spaces.
        var extraSources = ""
        var requestTimeout = "10s"
        /// Text appended to the file as it is (to make it invalid, for instance).
        var trailer = ""
        /// `hub.compression`, when set.
        var compression: String? = nil
        /// `hub.mode`, when set.
        var mode: String? = nil
        /// `hub.proxy` and `hub.proxy_credentials_file`, when set.
        var proxy: String? = nil
        var proxyCredentialsFile: String? = nil
    }

    let id: String
    let region: String
    private let dirs: TestDirs
    private let hubPort: Int
    private let tokenFile: String
    private(set) var process: ChildProcess?
    var settings = Settings()
    var logPath: String { dirs.work + "/agent.log" }
    var configPath: String { dirs.work + "/outpost.yaml" }
    /// How many times the agent was started.
    private(set) var starts = 0

    init(dirs: TestDirs, id: String, region: String, hubPort: Int, tokenFile: String) {
        self.dirs = dirs
        self.id = id
        self.region = region
        self.hubPort = hubPort
        self.tokenFile = tokenFile
    }

    /// The agent configuration file's text for the current settings.
    func configurationYAML() -> String {
        var yaml = """
            agent:
              id: \(id)
              region: \(region)
              data_dir: \(dirs.agentData)
            sources:
              - name: drop
                type: file_drop
                path: \(dirs.drop)
                settle: \(settings.settle)
                archive_dir: \(dirs.archive)
                error_dir: \(dirs.error)

            """
        if let include = settings.include {
            yaml += "    include: [\(include.map { "\"\($0)\"" }.joined(separator: ", "))]\n"
        }
        yaml += settings.extraSources
        yaml += """
            hub:
              url: \(settings.hubURLs.map { "[" + $0.joined(separator: ", ") + "]" } ?? "http://127.0.0.1:\(hubPort)/v1/events")
              token_file: \(tokenFile)
              retry_initial: \(settings.retryInitial)
              retry_max: \(settings.retryMax)
              request_timeout: \(settings.requestTimeout)

            """
        if let batchMaxBytes = settings.batchMaxBytes { yaml += "  batch_max_bytes: \(batchMaxBytes)\n" }
        if let batchMaxEvents = settings.batchMaxEvents { yaml += "  batch_max_events: \(batchMaxEvents)\n" }
        if let compression = settings.compression { yaml += "  compression: \(compression)\n" }
        if let mode = settings.mode { yaml += "  mode: \(mode)\n" }
        if let proxy = settings.proxy { yaml += "  proxy: \(proxy)\n" }
        if let file = settings.proxyCredentialsFile { yaml += "  proxy_credentials_file: \(file)\n" }
        yaml += """
            outbox:
              min_free_disk: 1MiB
            admin:
              listen: null
            logging:
              level: \(settings.logLevel)

            """
        return yaml + settings.trailer
    }

    /// Writes the configuration and starts `outpost run`; returns once the agent logged
    /// that it started (or throws with its log if it exits first).
    func start() async throws {
        try configurationYAML().write(toFile: configPath, atomically: true, encoding: .utf8)
        let logged = logLength()
        var executable = try Binaries.path("outpost")
        var arguments = ["run", "--config", configPath]
        if let user = settings.runAsUser {
            arguments = ["--reuid=\(user)", "--regid=\(user == "nobody" ? "nogroup" : user)", "--clear-groups", "--", executable] + arguments
            executable = "/usr/bin/setpriv"
        }
        let child = try ChildProcess(name: "agent", executable: executable, arguments: arguments, logPath: logPath)
        process = child
        starts += 1
        try await Eventually.poll("the agent logs agent.started", timeout: 60, logs: { self.logTail() }) {
            guard child.isRunning else {
                throw ScenarioError("the agent exited during start-up\n--- agent log\n\(self.logTail())", fatal: true)
            }
            return self.log(since: logged).contains("agent.started")
        }
    }

    /// Writes the configuration for the current settings and sends SIGHUP (`systemctl reload`).
    func reload() throws {
        guard let process else { throw ScenarioError("the agent is not running") }
        try configurationYAML().write(toFile: configPath, atomically: true, encoding: .utf8)
        process.send(SIGHUP)
    }

    /// SIGTERM; returns the exit status (nil if it did not exit within `timeout`).
    func terminate(timeout: Double = 20) async -> Int32? {
        guard let process else { return nil }
        process.send(SIGTERM)
        let status = await process.waitForExit(timeout: timeout)
        if status != nil { self.process = nil }
        return status
    }

    /// `kill -9` and reap.
    func kill9() async {
        guard let process else { return }
        process.send(SIGKILL)
        _ = await process.waitForExit(timeout: 30)
        self.process = nil
    }

    func killAndReap() {
        process?.killAndReap()
    }

    /// `outpost <arguments> --config <this agent's config>`.
    func cli(_ arguments: [String], timeout: Double = 60) async throws -> CommandResult {
        try await CommandResult.run(
            try Binaries.path("outpost"), arguments + ["--config", configPath], timeout: timeout)
    }

    /// `outpost status --json`, parsed.
    func status() async throws -> [String: Any] {
        let result = try await cli(["status", "--json"])
        guard result.status == 0,
              let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        else { throw ScenarioError("outpost status --json failed: \(result)") }
        return object
    }

    func logTail(lines: Int = 40) -> String {
        let all = log(since: 0).split(separator: "\n", omittingEmptySubsequences: false)
        return all.suffix(lines).joined(separator: "\n")
    }

    /// The log text from byte `offset` on.
    func log(since offset: Int) -> String {
        guard let data = FileManager.default.contents(atPath: logPath), data.count > offset else { return "" }
        return String(decoding: data[offset...], as: UTF8.self)
    }

    func logLength() -> Int {
        (try? FileManager.default.attributesOfItem(atPath: logPath)[.size] as? Int) ?? 0
    }
}
