import Foundation
import Testing
import TestSupport

extension EndToEnd {
    /// Several `outpost-hub serve` processes on one PostgreSQL database, agents sending through
    /// all of them, one replica killed and the database restarted mid-stream: every document is
    /// stored exactly once.
    @Suite("Hub replicas on PostgreSQL", .enabled(if: TestPostgres.shouldRun, "PostgreSQL cannot run here: \(TestPostgres.unavailableReason ?? "")"))
    struct HubReplicaTests {
        /// One replica: its own port, log and configuration, the shared database.
        final class Replica: @unchecked Sendable {
            let index: Int
            let port: Int
            let work: String
            var process: ChildProcess?
            var logPath: String { work + "/hub-\(index).log" }

            init(index: Int, work: String) throws {
                self.index = index
                self.work = work
                port = try FreePort.pick()
            }

            func start(configuration: String) async throws {
                let path = work + "/hub-\(index).yaml"
                try configuration.replacingOccurrences(of: "PORT", with: String(port)).write(toFile: path, atomically: true, encoding: .utf8)
                let child = try ChildProcess(
                    name: "hub-\(index)", executable: try Binaries.path("outpost-hub"), arguments: ["serve", "--config", path],
                    logPath: logPath)
                process = child
                try await Eventually.poll("replica \(index) answers /healthz", timeout: 60, logs: { child.logTail() }) {
                    guard child.isRunning else { throw ScenarioError("replica \(index) exited\n\(child.logTail())", fatal: true) }
                    return (try? await LoopbackHTTP.get(port: self.port, path: "/healthz", timeout: 2))?.status == 200
                }
            }

            func kill9() async {
                process?.send(SIGKILL)
                _ = await process?.waitForExit(timeout: 30)
                process = nil
            }
        }

        @Test("three replicas, two agents, a replica kill -9ed and PostgreSQL restarted mid-stream: each document once")
        func replicasSurviveFailures() async throws {
            let database = try await TestPostgres.start()
            defer { database.destroy() }
            let url = try database.createDatabase()
            let world = try TestDirs(label: "replicas")
            defer { if ProcessInfo.processInfo.environment["OUTPOST_E2E_KEEP"] == nil { world.remove() } }

            // Two agents in two regions, each with its own token and directories.
            let regions = [("e2e-emea", "emea"), ("e2e-apac", "apac")]
            var agentsYAML = ""
            var tokenFiles: [String] = []
            for (id, _) in regions {
                let token = UUID().uuidString
                let file = world.work + "/\(id).token"
                try (token + "\n").write(toFile: file, atomically: true, encoding: .utf8)
                chmod(file, 0o600)
                tokenFiles.append(file)
                let hashed = try await CommandResult.run(try Binaries.path("outpost-hub"), ["hash-token"], stdin: file)
                let region = regions.first { $0.0 == id }!.1
                agentsYAML += "  - {id: \(id), region: \(region), token_sha256: \(hashed.stdout.trimmingCharacters(in: .whitespacesAndNewlines))}\n"
            }
            let hubYAML = """
                listen: 127.0.0.1:PORT
                storage:
                  postgres: \(url)
                  statement_timeout: 5s
                  pool_size: 4
                read_access: open
                agents:
                \(agentsYAML)
                """
            let replicas = try (0..<3).map { try Replica(index: $0, work: world.work) }
            defer { replicas.forEach { $0.process?.killAndReap() } }
            // All three start at once: migrations run once, under the database's advisory lock.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for replica in replicas { group.addTask { try await replica.start(configuration: hubYAML) } }
                try await group.waitForAll()
            }

            var agents: [(AgentProcess, TestDirs)] = []
            defer { agents.forEach { $0.0.killAndReap() } }
            for (index, (id, region)) in regions.enumerated() {
                let dirs = try TestDirs(label: "replicas-\(region)")
                let agent = AgentProcess(dirs: dirs, id: id, region: region, hubPort: 0, tokenFile: tokenFiles[index])
                agent.settings.hubURLs = replicas.map { "http://127.0.0.1:\($0.port)/v1/events" }
                agent.settings.batchMaxEvents = 20
                agent.settings.settle = "50ms"
                try await agent.start()
                agents.append((agent, dirs))
            }
            defer { if ProcessInfo.processInfo.environment["OUTPOST_E2E_KEEP"] == nil { agents.forEach { $0.1.remove() } } }
            let logs = { () -> String in
                replicas.map { "--- replica \($0.index)\n\(PackageLayout.tail($0.logPath, lines: 15))" }.joined(separator: "\n")
                    + agents.map { "\n--- agent \($0.0.id)\n\($0.0.logTail(lines: 15))" }.joined()
            }

            // Files stream in all along (each agent a file of 40 IDocs every 40 ms); meanwhile a
            // replica dies, then the database restarts, then the replica comes back.
            let dropDirs = agents.map(\.1)
            let publisher = Task { () -> Set<String> in
                var expected: Set<String> = []
                var number = 0
                var file = 0
                while !Task.isCancelled {
                    for (agentIndex, dirs) in dropDirs.enumerated() {
                        let sender = agentIndex == 0 ? "PRDCLNT100" : "APACLNT200"
                        let docnums = (0..<40).map { _ -> String in
                            number += 1
                            return IDocFixtures.docnum(700_000 + number)
                        }
                        expected.formUnion(docnums.map { IDocFixtures.eventID(docnum: $0, sender: sender) })
                        try? dirs.publish("stream-\(file).xml", IDocFixtures.xmlFile(docnums: docnums, sender: sender))
                    }
                    file += 1
                    try? await Task.sleep(for: .milliseconds(40))
                }
                return expected
            }
            try await Task.sleep(for: .seconds(1))
            await replicas[1].kill9()
            try await Task.sleep(for: .seconds(1))
            try database.stop(immediate: true)
            try await Task.sleep(for: .seconds(2))
            try await database.boot()
            try await Task.sleep(for: .seconds(1))
            try await replicas[1].start(configuration: hubYAML)
            try await Task.sleep(for: .seconds(1))
            publisher.cancel()
            let expected = await publisher.value
            let filesPerAgent = expected.count / 40 / agents.count

            // Everything arrives, through whichever replica; every replica reports the same.
            let reader = replicas[0]
            var stored: [String] = []
            try await Eventually.poll("every document is stored", timeout: 180, logs: { "stored \(stored.count) of \(expected.count)\n" + logs() }) {
                stored = try await Self.documentIDs(port: reader.port)
                return Set(stored).isSuperset(of: expected)
            }
            #expect(stored.count == expected.count, "each document once: \(stored.count) rows for \(expected.count) documents")
            #expect(Set(stored) == expected)
            for replica in replicas {
                let stats = try await LoopbackHTTP.get(port: replica.port, path: "/v1/stats").jsonObject()
                let types = stats["types"] as? [String: Int] ?? [:]
                #expect(types["sap.idoc.ORDERS"] == expected.count, "replica \(replica.index): \(types)")
                #expect(stats["id_conflicts"] as? Int == 0)
            }
            for (agent, dirs) in agents {
                try await Eventually.poll("\(agent.id) has delivered everything", timeout: 60, logs: logs) {
                    try await agent.status()["pending_events"] as? Int == 0
                }
                #expect(dirs.archivedFiles().count == filesPerAgent)
                #expect(TestDirs.names(in: dirs.error).isEmpty)
            }
            // The outage was mid-stream: deliveries stalled while the database was down (the
            // replicas held the batches until it answered again, or answered 503).
            let stalls = agents.map { Self.longestPause(between: "delivery.batch_delivered", in: $0.0.log(since: 0)) }
            #expect(stalls.contains { $0 >= 1.5 }, "no delivery waited for the database: longest pauses \(stalls) s")
        }

        /// The longest time between two consecutive log lines with `message`, seconds.
        static func longestPause(between message: String, in log: String) -> Double {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            let times = log.split(separator: "\n").filter { $0.contains("msg=\(message) ") }.compactMap { line -> Date? in
                guard let stamp = line.split(separator: " ").first, stamp.hasPrefix("ts=") else { return nil }
                return formatter.date(from: String(stamp.dropFirst(3)))
            }
            return zip(times, times.dropFirst()).map { $1.timeIntervalSince($0) }.max() ?? 0
        }

        /// The ids of every stored document (heartbeats left out), following `next`.
        static func documentIDs(port: Int) async throws -> [String] {
            var ids: [String] = []
            var cursor: String?
            repeat {
                let response = try await LoopbackHTTP.get(
                    port: port, path: "/v1/events?type=sap.idoc.ORDERS&limit=1000" + (cursor.map { "&after=\($0)" } ?? ""))
                guard response.status == 200 else { throw ScenarioError("GET /v1/events answered \(response.status)") }
                let page = try response.jsonObject()
                ids += (page["events"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
                cursor = page["next"] as? String
            } while cursor != nil
            return ids
        }
    }
}
