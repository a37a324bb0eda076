import Foundation

/// The reference hub (`outpost-hub serve`) on 127.0.0.1, on SQLite in the test's directory.
/// It can be stopped and started again on the same port and database.
final class HubProcess: @unchecked Sendable {
    let port: Int
    let agentID: String
    let region: String
    private let dirs: TestDirs
    private let tokenSHA256: String
    private(set) var process: ChildProcess?
    /// More agents the hub accepts besides ``agentID`` (with the SHA-256 of their tokens).
    var otherAgents: [(id: String, region: String, tokenSHA256: String)] = []
    var logPath: String { dirs.work + "/hub.log" }
    var configPath: String { dirs.work + "/outpost-hub.yaml" }

    init(dirs: TestDirs, port: Int, agentID: String, region: String, tokenSHA256: String) {
        self.dirs = dirs
        self.port = port
        self.agentID = agentID
        self.region = region
        self.tokenSHA256 = tokenSHA256
    }

    /// The agent's token digest in the hub's file (another one locks the agent out).
    var acceptedTokenSHA256: String?
    /// Text appended to the hub's file as it is.
    var trailer = ""
    private var options: [String] = []
    private var maxBatchBytes: String?

    /// Writes the configuration and starts the hub; returns once `/healthz` answers 200.
    /// `options` are more top-level lines of its configuration (`header_timeout: 2s`).
    func start(maxBatchBytes: String? = nil, options: [String] = []) async throws {
        self.options = options
        self.maxBatchBytes = maxBatchBytes
        try configurationYAML().write(toFile: configPath, atomically: true, encoding: .utf8)
        let child = try ChildProcess(
            name: "hub", executable: try Binaries.path("outpost-hub"), arguments: ["serve", "--config", configPath],
            logPath: logPath)
        process = child
        try await Eventually.poll("the hub answers GET /healthz on port \(port)", timeout: 60, logs: { self.logTail() }) {
            guard child.isRunning else {
                throw ScenarioError("the hub exited during start-up\n--- hub log\n\(self.logTail())", fatal: true)
            }
            return (try? await LoopbackHTTP.get(port: self.port, path: "/healthz", timeout: 2))?.status == 200
        }
    }

    /// Writes the configuration for the current settings and sends SIGHUP (`systemctl reload`).
    func reload() throws {
        guard let process else { throw ScenarioError("the hub is not running") }
        try configurationYAML().write(toFile: configPath, atomically: true, encoding: .utf8)
        process.send(SIGHUP)
    }

    func configurationYAML() -> String {
        var yaml = """
            listen: 127.0.0.1:\(port)
            storage:
              sqlite: \(dirs.hubData)/hub.sqlite
            read_access: open
            agents:
              - id: \(agentID)
                region: \(region)
                token_sha256: \(acceptedTokenSHA256 ?? tokenSHA256)

            """
        for agent in otherAgents {
            yaml += "  - id: \(agent.id)\n    region: \(agent.region)\n    token_sha256: \(agent.tokenSHA256)\n"
        }
        for option in options { yaml += option + "\n" }
        if let maxBatchBytes { yaml += "max_batch_bytes: \(maxBatchBytes)\n" }
        return yaml + trailer
    }

    /// Graceful stop (SIGTERM); the hub must exit within `timeout` seconds.
    func stop(timeout: Double = 20) async throws {
        guard let process else { return }
        process.send(SIGTERM)
        guard await process.waitForExit(timeout: timeout) != nil else {
            throw ScenarioError("the hub did not stop within \(Int(timeout)) s of SIGTERM\n\(logTail())")
        }
        self.process = nil
    }

    func killAndReap() {
        process?.killAndReap()
    }

    func logTail(lines: Int = 30) -> String {
        process?.logTail(lines: lines)
            ?? (FileManager.default.contents(atPath: logPath).map {
                String(decoding: $0, as: UTF8.self).split(separator: "\n").suffix(lines).joined(separator: "\n")
            } ?? "(hub not started)")
    }

    /// `GET /v1/stats`.
    func stats() async throws -> HubStats {
        let response = try await LoopbackHTTP.get(port: port, path: "/v1/stats")
        guard response.status == 200 else { throw ScenarioError("GET /v1/stats answered \(response.status)") }
        return HubStats(try response.jsonObject())
    }

    /// `connections` of `GET /v1/stats`: the listener's counters (open, refused, header_timeouts…).
    func connectionCounters() async throws -> [String: Int] {
        let response = try await LoopbackHTTP.get(port: port, path: "/v1/stats")
        guard response.status == 200, let counters = try response.jsonObject()["connections"] as? [String: Int] else {
            throw ScenarioError("GET /v1/stats answered \(response.status) without connection counters")
        }
        return counters
    }

    /// Every stored event in arrival order (follows `next` cursors). The agent's own
    /// `outpost.agent.heartbeat` events are left out unless asked for: the scenarios count documents.
    func events(includingHeartbeats: Bool = false) async throws -> [HubEvent] {
        var all: [HubEvent] = []
        var cursor: String?
        repeat {
            let path = "/v1/events?limit=1000" + (cursor.map { "&after=\($0)" } ?? "")
            let response = try await LoopbackHTTP.get(port: port, path: path)
            guard response.status == 200 else {
                throw ScenarioError("GET \(path) answered \(response.status): \(String(decoding: response.body, as: UTF8.self))")
            }
            let page = try response.jsonObject()
            guard let events = page["events"] as? [[String: Any]] else { throw ScenarioError("GET \(path): no events array") }
            all += events.map(HubEvent.init)
            cursor = page["next"] as? String
        } while cursor != nil
        return includingHeartbeats ? all : all.filter { $0.type != HubEvent.heartbeatType }
    }

    /// The raw body of `GET /v1/events` pages, for searching leaked content.
    func rawEventPages() async throws -> String {
        var text = ""
        var cursor: String?
        repeat {
            let response = try await LoopbackHTTP.get(port: port, path: "/v1/events?limit=1000" + (cursor.map { "&after=\($0)" } ?? ""))
            text += String(decoding: response.body, as: UTF8.self)
            cursor = (try? response.jsonObject())?["next"] as? String
        } while cursor != nil
        return text
    }
}

/// The parts of `GET /v1/stats` the tests read.
struct HubStats {
    /// Stored events other than the agent's heartbeats (the documents and rejections).
    let events: Int
    /// Stored `outpost.agent.heartbeat` events.
    let heartbeats: Int
    let duplicatesDropped: Int
    let rejectedDocuments: Int
    let rejectedReasons: [String]
    let types: [String: Int]

    init(_ object: [String: Any]) {
        let types = object["types"] as? [String: Int] ?? [:]
        let heartbeats = types[HubEvent.heartbeatType] ?? 0
        self.heartbeats = heartbeats
        events = (object["events"] as? Int).map { $0 - heartbeats } ?? -1
        duplicatesDropped = object["duplicates_dropped"] as? Int ?? -1
        let rejected = object["rejected_documents"] as? [String: Any]
        rejectedDocuments = rejected?["count"] as? Int ?? -1
        rejectedReasons = (rejected?["recent"] as? [[String: Any]] ?? []).compactMap { $0["reason"] as? String }.sorted()
        self.types = types
    }
}

/// One stored CloudEvent, with the attributes the tests check.
struct HubEvent {
    static let heartbeatType = "outpost.agent.heartbeat"
    let json: [String: Any]
    var id: String { json["id"] as? String ?? "" }
    var type: String { json["type"] as? String ?? "" }
    var partitionKey: String { json["partitionkey"] as? String ?? "" }
    var sequence: Int64 { (json["sequence"] as? String).flatMap { Int64($0) } ?? -1 }
    var data: String { json["data"] as? String ?? "" }
    subscript(_ attribute: String) -> String? { json[attribute] as? String }

    init(_ json: [String: Any]) {
        self.json = json
    }
}

extension [HubEvent] {
    /// Partition keys whose events did not arrive in increasing `sequence` order.
    func partitionKeysOutOfOrder() -> [String] {
        var last: [String: Int64] = [:]
        var broken: Set<String> = []
        for event in self {
            if let previous = last[event.partitionKey], event.sequence <= previous { broken.insert(event.partitionKey) }
            last[event.partitionKey] = event.sequence
        }
        return broken.sorted()
    }
}
