import Foundation
import Testing

extension EndToEnd {
    /// The hub under attack: thousands of half-open and slow connections while real agents deliver.
    @Suite("Hub under attack")
    struct AttackTests {
        /// The hub's limits in this test: a short header timeout so that the crowd turns over
        /// several times in a short run; the default body rate; room for the crowd.
        static let hubOptions = ["header_timeout: 2s", "min_body_rate: 1KiB/s", "max_connections: 3000"]
        /// Hostile connections held open at all times (2,400 in all, under max_connections).
        static let crowd: [HostileCrowd.Kind: Int] = [.silent: 800, .partialLine: 800, .headerDribble: 600, .slowBody: 200]
        static let attackSeconds = 16.0
        /// The debug hub peaks near 95 MiB in this test (2,400 connections add their buffers).
        static let peakRSSBoundMiB = 160.0

        @Test("2,400 half-open and slow connections, renewed as they are closed: two agents' documents all arrive once, /healthz answers, memory stays bounded")
        func documentsArriveOnceUnderAttack() async throws {
            let limit = OpenFileLimit.raise(to: 8192)
            #expect(limit >= 4096, "the test needs 4,096 open files for its 2,400 connections; the limit is \(limit)")
            try await Scenario.run("attack") { s in
                let second = try await SecondAgent(hubPort: s.hub.port)
                defer { second.tearDown() }
                s.hub.otherAgents = [(second.agent.id, second.agent.region, second.tokenSHA256)]
                try await s.hub.start(options: Self.hubOptions)
                try await s.agent.start()
                try await second.agent.start()
                let hubPID = try #require(s.hub.process?.pid)

                let attack = HostileCrowd(port: s.hub.port, targets: Self.crowd)
                let health = HealthProbe(port: s.hub.port)
                let started = Date()
                var expected: Set<String> = []
                var file = 0
                // Both agents get a file of 10 IDocs every half second while the attack runs.
                while Date().timeIntervalSince(started) < Self.attackSeconds {
                    file += 1
                    for (dirs, sender) in [(s.dirs, IDocFixtures.sender), (second.dirs, SecondAgent.sender)] {
                        let docnums = (1...10).map { IDocFixtures.docnum(file * 100 + $0) }
                        expected.formUnion(docnums.map { IDocFixtures.eventID(docnum: $0, sender: sender) })
                        try dirs.publish("attack-\(file).xml", IDocFixtures.xmlFile(docnums: docnums, sender: sender))
                    }
                    try await Task.sleep(for: .milliseconds(500))
                }
                let counters = try await s.hub.connectionCounters()
                let tally = attack.stop()
                let probes = await health.stop()

                try await s.waitForHubEvents(expected.count, timeout: 120)
                let ids = try await s.hub.events().map(\.id)
                let peakMiB = try #require(ProcessMemory.peakResidentMiB(pid: hubPID))
                let figures = "tried \(tally.tried), peak held \(tally.peakHeld), closed by the hub \(tally.closedByServer.map { "\($0.key.rawValue) \($0.value)" }.sorted()), "
                    + "connect failures \(tally.connectFailed), hub counters \(counters), /healthz \(probes), hub peak RSS \(peakMiB) MiB"
                print("attack: " + figures)

                #expect(Set(ids) == expected, "lost: \(expected.subtracting(ids).sorted().prefix(5)); \(figures)")
                #expect(ids.count == Set(ids).count, "\(ids.count - Set(ids).count) documents stored twice")
                #expect(probes.failed == 0 && probes.answered >= Int(Self.attackSeconds / 2), "/healthz under attack: \(probes)")
                #expect(peakMiB < Self.peakRSSBoundMiB, "hub peak RSS \(peakMiB) MiB")
                // The crowd was really there, and the hub closed it again and again. The counters
                // are read just before the crowd stops, so they may trail its tally a little.
                #expect(tally.peakHeld >= 2_000, "\(figures)")
                #expect(tally.totalClosedByServer >= 2 * tally.peakHeld, "the hub did not keep closing the crowd: \(figures)")
                #expect(tally.tried >= tally.totalClosedByServer)
                let headerClosures = (tally.closedByServer[.silent] ?? 0) + (tally.closedByServer[.partialLine] ?? 0)
                    + (tally.closedByServer[.headerDribble] ?? 0)
                #expect(counters["header_timeouts", default: 0] >= headerClosures * 9 / 10, "\(figures)")
                #expect(counters["slow_bodies", default: 0] >= (tally.closedByServer[.slowBody] ?? 0) * 9 / 10, "\(figures)")
                #expect(counters["slow_bodies", default: 0] >= 1, "\(figures)")
                #expect(counters["refused"] == 0, "the crowd stays under max_connections: \(figures)")
                for (dirs, agent) in [(s.dirs, s.agent), (second.dirs, second.agent)] {
                    #expect(TestDirs.names(in: dirs.error).isEmpty, "\(agent.id) quarantined \(TestDirs.names(in: dirs.error))")
                }
            }
        }
    }
}

/// A second agent with its own directories and token, sending to the scenario's hub.
private struct SecondAgent {
    static let sender = "E2EATTACK2"
    let dirs: TestDirs
    let agent: AgentProcess
    let tokenSHA256: String

    init(hubPort: Int) async throws {
        dirs = try TestDirs(label: "attack-second")
        let tokenFile = dirs.work + "/agent.token"
        try ((0..<24).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined() + "\n")
            .write(toFile: tokenFile, atomically: true, encoding: .utf8)
        chmod(tokenFile, 0o600)
        let hashed = try await CommandResult.run(try Binaries.path("outpost-hub"), ["hash-token"], stdin: tokenFile)
        tokenSHA256 = hashed.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        guard hashed.status == 0, tokenSHA256.count == 64 else { throw ScenarioError("hash-token failed: \(hashed)") }
        agent = AgentProcess(dirs: dirs, id: "e2e-agent-2", region: "test2", hubPort: hubPort, tokenFile: tokenFile)
    }

    func tearDown() {
        agent.killAndReap()
        if ProcessInfo.processInfo.environment["OUTPOST_E2E_KEEP"] == nil { dirs.remove() }
    }
}
