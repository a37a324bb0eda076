import Foundation
import TestSupport
import Glibc
import Testing

/// The built `outpost` and `outpost-hub` binaries, an sshd, and the public IDoc samples:
/// every sample reaches the hub through the SFTP source, exactly once.
@Suite(.enabled(if: IntegrationGate.runs(TestSSHServer.isAvailable), "needs OpenSSH's /usr/sbin/sshd: apt-get install -y openssh-server"))
struct SFTPEndToEndTests {
    @Test("the public samples go from an SFTP server to the hub, once each")
    func samplesReachTheHub() async throws {
        let binaries = try Binaries.locate()
        let samples = try Binaries.samplesDirectory()
        let sampleNames = try FileManager.default.contentsOfDirectory(atPath: samples)
            .filter { $0.hasSuffix(".xml") || $0.hasSuffix(".txt") }.sorted()
        #expect(!sampleNames.isEmpty, "no samples in \(samples)")

        // What the agent should send: the ids `outpost parse` prints for each sample.
        var expectedIDs: Set<String> = []
        var refusedSamples = 0
        for name in sampleNames {
            let result = try Binaries.run(binaries.outpost, ["parse", samples + "/" + name, "--region", "emea", "--agent", "plant-e2e"])
            if result.status != 0 { refusedSamples += 1; continue }
            for line in result.output.split(separator: "\n") {
                let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                if let id = object?["id"] as? String { expectedIDs.insert(id) }
            }
        }
        #expect(!expectedIDs.isEmpty)

        let fixture = try SFTPFixture()
        let work = fixture.server.directory
        let key = try fixture.server.authorizeKey(type: "ed25519")
        let knownHosts = try fixture.server.writeKnownHosts(hashed: true)
        let token = "sftp-e2e-token"
        let tokenFile = try fixture.server.writeSecret(token, name: "hub.token")
        let hubPort = try TestSSHServer.freePort()
        let tokenSHA = HashingIntake.sha256Hex(Array(token.utf8))
        try """
            listen: 127.0.0.1:\(hubPort)
            storage:
              sqlite: \(work)/hub.sqlite
            read_access: open
            agents:
              - id: plant-e2e
                region: emea
                token_sha256: \(tokenSHA)

            """.write(toFile: work + "/hub.yaml", atomically: true, encoding: .utf8)
        try """
            agent:
              id: plant-e2e
              region: emea
              data_dir: \(work)/agent
            sources:
              - name: partner-sftp
                type: sftp
                host: 127.0.0.1
                port: \(fixture.server.port)
                user: \(TestSSHServer.user)
                private_key_file: \(key)
                known_hosts_file: \(knownHosts)
                remote_dir: \(fixture.inbox)
                poll_interval: 200ms
                settle: 300ms
                format: auto
                after: move
                remote_archive_dir: \(fixture.archive)
                remote_error_dir: \(fixture.errors)
            hub:
              url: http://127.0.0.1:\(hubPort)/v1/events
              token_file: \(tokenFile)
              retry_initial: 100ms
              retry_max: 1s
            outbox:
              high_watermark: 64MiB
              low_watermark: 32MiB
              min_free_disk: 1MiB
            admin:
              listen: null

            """.write(toFile: work + "/agent.yaml", atomically: true, encoding: .utf8)
        chmod(fixture.server.remoteRoot, 0o777)
        for name in sampleNames {
            try FileManager.default.copyItem(atPath: samples + "/" + name, toPath: fixture.inbox + "/" + name)
            chmod(fixture.inbox + "/" + name, 0o644)
        }

        let hub = try Binaries.start(binaries.hub, ["serve", "--config", work + "/hub.yaml"], log: work + "/hub.log")
        defer { Binaries.stop(hub) }
        let agent = try Binaries.start(binaries.outpost, ["run", "--config", work + "/agent.yaml"], log: work + "/agent.log")
        defer { Binaries.stop(agent) }

        // The agent's own heartbeats reach the hub too; this test is about the source's events.
        var stored: [[String: Any]] = []
        try await eventually(timeout: 60, "every sample's events at the hub (agent log: \(work)/agent.log)") {
            stored = Binaries.events(hubPort: hubPort).filter { ($0["type"] as? String) != "outpost.agent.heartbeat" }
            let ids = Set(stored.compactMap { $0["id"] as? String })
            let rejected = stored.filter { ($0["type"] as? String) == "outpost.document.rejected" }.count
            return expectedIDs.isSubset(of: ids) && rejected >= refusedSamples
        }
        try await eventually("every sample moved off the inbox") {
            fixture.names(in: fixture.inbox).allSatisfy { $0 == "archive" }
        }
        let ids = stored.compactMap { $0["id"] as? String }
        #expect(ids.count == Set(ids).count, "duplicate events at the hub")
        let documentIDs = Set(stored.filter { ($0["type"] as? String) != "outpost.document.rejected" }.compactMap { $0["id"] as? String })
        #expect(documentIDs == expectedIDs)
        #expect(stored.allSatisfy { ($0["source"] as? String) == "outpost://plant-e2e/partner-sftp" })
        let archived = fixture.names(in: fixture.archive)
        let quarantined = fixture.names(in: fixture.errors).filter { !$0.hasSuffix(".reason.json") }
        #expect((archived + quarantined).sorted() == sampleNames)
        #expect(quarantined.count == refusedSamples)
    }
}

/// Finds and runs the built executables.
enum Binaries {
    struct Paths {
        var outpost: String
        var hub: String
    }

    static func locate() throws -> Paths {
        do {
            return Paths(outpost: try PackageLayout.executable("outpost"), hub: try PackageLayout.executable("outpost-hub"))
        } catch {
            throw TestFailure("\(error)")
        }
    }

    static func samplesDirectory() throws -> String {
        do { return try PackageLayout.publicSamples().path } catch { throw TestFailure("\(error)") }
    }

    static func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let result = try Subprocess.runBlocking(executable, arguments, timeout: 60)
        return (result.status, result.stdout)
    }

    static func start(_ executable: String, _ arguments: [String], log: String) throws -> Subprocess {
        try Subprocess(executable, arguments, stdout: .truncate(log), stderr: .append(log))
    }

    static func stop(_ process: Subprocess) {
        process.send(SIGTERM)
        if process.waitForExitBlocking(timeout: 15) == nil { process.killAndReap() }
    }

    /// Every stored event, via `GET /v1/events` pages.
    static func events(hubPort: Int) -> [[String: Any]] {
        var events: [[String: Any]] = []
        var cursor: String?
        repeat {
            var url = "http://127.0.0.1:\(hubPort)/v1/events?limit=500"
            if let cursor { url += "&after=\(cursor)" }
            guard let data = try? TestSSHServer.shell("curl", "-sf", url).data(using: .utf8),
                  let page = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
            else { return events }
            events += page["events"] as? [[String: Any]] ?? []
            cursor = page["next"] as? String
        } while cursor != nil
        return events
    }
}
