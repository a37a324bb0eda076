import Foundation
import Glibc
import TestSupport
import Testing

extension EndToEnd {
    /// `outpost check-config`, `parse` and `status` as an operator runs them.
    @Suite("Command line")
    struct CommandLineTests {
        @Test("check-config lists every problem of a broken configuration and exits 1")
        func checkConfigListsEveryProblem() async throws {
            try await Scenario.run("check-config") { s in
                let path = s.dirs.work + "/broken.yaml"
                try """
                    agent:
                      id: broken agent
                      data_dir: relative/data
                    sources:
                      - name: drop
                        type: file_drop
                        path: \(s.dirs.drop)
                        settle: 2
                        error_dir: \(s.dirs.error)
                        archive_dir: \(s.dirs.archive)
                        colour: blue
                    hub:
                      url: http://127.0.0.1:1/v1/events
                      token_file: \(s.dirs.work)/no-such.token
                      batch_max_bytes: 4MB

                    """.write(toFile: path, atomically: true, encoding: .utf8)
                let result = try await CommandResult.run(
                    try Binaries.path("outpost"), ["check-config", "--config", path])
                #expect(result.status == 1, "\(result)")
                let output = result.stderr
                for mention in ["region", "broken agent", "relative/data", "settle", "colour", "4MB"] {
                    #expect(output.contains(mention), "check-config does not mention `\(mention)`: \(result)")
                }

                try s.agent.configurationYAML().write(toFile: s.agent.configPath, atomically: true, encoding: .utf8)
                let ok = try await s.agent.cli(["check-config"])
                #expect(ok.status == 0, "\(ok)")
                #expect(ok.stdout.contains("ok"))
            }
        }

        @Test("an outbox a newer version changed: run, status and outbox-recover refuse it and change nothing")
        func newerOutboxIsRefused() async throws {
            try await Scenario.run("newer-outbox") { s in
                try await s.agent.start()
                try s.dirs.publish("ORDERS_newer.xml", IDocFixtures.xmlFile(docnums: [IDocFixtures.docnum(880_001)]))
                try await s.waitForEmptyDropDirectory()
                #expect(await s.agent.terminate() == 0)
                let outbox = s.dirs.agentData + "/outbox.sqlite"
                func sqlite(_ sql: String) async throws -> String {
                    let result = try await CommandResult.run("/usr/bin/sqlite3", [outbox, sql])
                    guard result.status == 0 else { throw ScenarioError("sqlite3 failed: \(result)") }
                    return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                }
                let pending = try await sqlite("SELECT count(*) FROM event WHERE state = 'pending'")
                #expect(Int(pending).map { $0 >= 1 } == true, "the document is committed, the hub being down: \(pending)")
                _ = try await sqlite("INSERT INTO grdb_migrations (identifier) VALUES ('v9-from-a-newer-version')")

                let run = try await CommandResult.run(
                    try Binaries.path("outpost"), ["run", "--config", s.agent.configPath], timeout: 30)
                #expect(run.status == 2, "\(run)")
                #expect(run.stderr.contains("newer Outpost") && run.stderr.contains("v9-from-a-newer-version"), "\(run)")
                let status = try await s.agent.cli(["status"])
                #expect(status.status == 2 && status.stderr.contains("newer Outpost"), "\(status)")
                let recover = try await s.agent.cli(["outbox-recover"])
                #expect(recover.status == 1 && recover.stderr.contains("newer Outpost"), "\(recover)")

                let files = TestDirs.names(in: s.dirs.agentData)
                #expect(files.contains("outbox.sqlite") && !files.contains { $0.contains("damaged") }, "no damaged copy, no new outbox: \(files)")
                #expect(try await sqlite("SELECT count(*) FROM event WHERE state = 'pending'") == pending)
            }
        }

        @Test("outpost --version and outpost-hub --version print one version (the Debian packages' version)")
        func bothExecutablesPrintOneVersion() async throws {
            let agent = try await CommandResult.run(try Binaries.path("outpost"), ["--version"])
            let hub = try await CommandResult.run(try Binaries.path("outpost-hub"), ["--version"])
            #expect(agent.status == 0, "\(agent)")
            #expect(hub.status == 0, "\(hub)")
            let version = agent.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(version.range(of: #"^[0-9]+\.[0-9]+\.[0-9]+$"#, options: .regularExpression) != nil, "\(agent)")
            #expect(hub.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == version, "\(hub)")
        }

        @Test("with stdout and stderr closed pipes and SIGPIPE ignored (as systemd runs them), errors keep their exit codes")
        func closedOutputKeepsExitCodes() async throws {
            // Inherited by the children: a write to a closed pipe fails instead of killing
            // them. (Foundation's FileHandle.write stopped them with SIGILL instead of exit 1.)
            signal(SIGPIPE, SIG_IGN)
            let sample = try Binaries.publicSamples().appendingPathComponent("orders05-namespaced-ext.xml").path
            let runs: [(String, [String], Int32)] = [
                ("outpost", ["check-config", "--config", "/nonexistent/agent.yaml"], 1),
                // Standard output closed: the events cannot be written, a runtime failure.
                ("outpost", ["parse", sample], 2),
                ("outpost", ["parse", "/nonexistent/file.xml"], 1),
                ("outpost-hub", ["check-config", "--config", "/nonexistent/hub.yaml"], 1),
            ]
            for (binary, arguments, expected) in runs {
                let child = try Subprocess(
                    try Binaries.path(binary), arguments, stdout: .closedPipe, stderr: .closedPipe, keepIgnoredSIGPIPE: true)
                let status = await child.waitForExit(timeout: 60)
                #expect(status == expected, "`\(binary) \(arguments.joined(separator: " "))` exited \(status.map(String.init) ?? "never")")
            }
        }

        @Test("parse prints one JSON event per IDoc of a public sample, and refuses a rejected one with exit 1")
        func parsePrintsJSONLines() async throws {
            let samples = try Binaries.publicSamples()
            try await Scenario.run("parse") { s in
                let outpost = try Binaries.path("outpost")
                let xml = try await CommandResult.run(
                    outpost, ["parse", samples.appendingPathComponent("orders05-namespaced-ext.xml").path, "--region", "emea",
                              "--agent", "plant-01"])
                #expect(xml.status == 0, "\(xml)")
                let lines = xml.stdout.split(separator: "\n")
                #expect(lines.count == 1, "\(xml)")
                let event = try lines.first.flatMap {
                    try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
                }
                #expect(event?["id"] as? String == "idoc:EQ2CLNT100:100:0000000064132944")
                #expect(event?["specversion"] as? String == "1.0")
                #expect(event?["region"] as? String == "emea")
                #expect(event?["agentid"] as? String == "plant-01")
                #expect(event?["mestyp"] as? String == "/LUMBERL/VFI_ORDERS")
                #expect(event?["type"] as? String == "sap.idoc.LUMBERL.VFI_ORDERS")

                let flat = try await CommandResult.run(
                    outpost, ["parse", samples.appendingPathComponent("invoic02-flat.txt").path])
                #expect(flat.status == 0, "\(flat)")
                let flatEvents = try flat.stdout.split(separator: "\n").map {
                    try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
                }
                #expect(flatEvents.map { $0?["id"] as? String } == ["idoc:SAPPOE011:011:0000003073898324"], "\(flat)")

                let refused = try await CommandResult.run(
                    outpost, ["parse", samples.appendingPathComponent("debmas01-no-control-record.xml").path])
                #expect(refused.status == 1, "\(refused)")
                #expect(refused.stderr.contains("no_control_record"), "\(refused)")
                #expect(refused.stdout.isEmpty)
            }
        }

        @Test("status --json reads the outbox while `run` runs")
        func statusWhileRunning() async throws {
            try await Scenario.run("status") { s in
                try await s.hub.start()
                try await s.agent.start()
                try s.dirs.publish("status.xml", IDocFixtures.xmlFile(docnums: (1...4).map { IDocFixtures.docnum(950_000 + $0) }))
                try await s.waitForHubEvents(4)
                try await s.waitForDrainedOutbox()
                let status = try await s.agent.status()
                #expect(status["agent"] as? String == "e2e-agent")
                #expect(status["region"] as? String == "test")
                #expect(status["pending_events"] as? Int == 0)
                let heartbeats = try await s.hub.stats().heartbeats
                #expect(heartbeats >= 1, "the agent's start-up heartbeat reaches the hub")
                #expect(status["delivered_retained"] as? Int == 4 + heartbeats)
                #expect(status["dead_letters"] as? Int == 0)
                #expect(status["last_delivery_at"] is String, "\(status)")
                #expect(status["delivery_paused"] is NSNull)
                let text = try await s.agent.cli(["status"])
                #expect(text.status == 0, "\(text)")
                #expect(text.stdout.contains("0 pending event(s)"), "\(text)")
                #expect(s.agent.process?.isRunning == true, "status must not disturb the running agent")
            }
        }
    }
}
