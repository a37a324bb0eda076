import Foundation
import TestSupport
import Testing

extension EndToEnd {
    /// The hub goes away, the agent is killed or stopped, the hub refuses an event for good.
    @Suite("Resilience")
    struct ResilienceTests {
        @Test("hub down: files are committed and archived, events wait in the outbox, and arrive when it is up")
        func hubDownThenUp() async throws {
            try await Scenario.run("hub-down") { s in
                try await s.agent.start()
                var expected: [String] = []
                for file in 0..<3 {
                    let docnums = (1...10).map { IDocFixtures.docnum(700_000 + file * 100 + $0) }
                    expected += docnums.map { IDocFixtures.eventID(docnum: $0) }
                    try s.dirs.publish("down-\(file).xml", IDocFixtures.xmlFile(docnums: docnums))
                }
                try await s.eventually("all three files are committed and archived while the hub is down") {
                    s.dirs.archivedFiles().count == 3
                }
                let status = try await s.agent.status()
                // The 30 documents, plus the heartbeats the agent committed meanwhile.
                #expect(status["pending_events"] as? Int ?? 0 >= 30, "\(status)")
                #expect(status["pending_bytes"] as? Int ?? 0 > 0)
                try await s.eventually("status shows the delivery error") {
                    try await s.agent.status()["last_delivery_error"] is String
                }

                try await s.hub.start()
                try await s.waitForHubEvents(30)
                try await s.waitForDrainedOutbox()
                let events = try await s.hub.events()
                #expect(events.map(\.id) == expected, "\(s.logs)")
                #expect(events.partitionKeysOutOfOrder().isEmpty)
            }
        }

        @Test("kill -9 of the agent mid-flight, three times: all 2,000 IDocs arrive exactly once, in order per key")
        func killNineMidFlight() async throws {
            let files = 40, perFile = 50
            let senders = ["E2EAAACLNT", "E2EBBBCLNT"]
            var expected: Set<String> = []
            var contents: [(name: String, bytes: [UInt8])] = []
            for file in 0..<files {
                let sender = senders[file % 2]
                let docnums = (0..<perFile).map { IDocFixtures.docnum(1_000_000 + file * 1000 + $0) }
                expected.formUnion(docnums.map { IDocFixtures.eventID(docnum: $0, sender: sender) })
                contents.append((String(format: "bulk-%02d.xml", file), IDocFixtures.xmlFile(docnums: docnums, sender: sender)))
            }
            try await Scenario.run("kill-9") { s in
                s.agent.settings.settle = "100ms"
                s.agent.settings.batchMaxEvents = 25
                try await s.hub.start()
                try await s.agent.start()
                // Three kills, each at a different stage: while files are being committed (some of
                // the chunk archived, some still waiting), at a random moment, and while events
                // are being sent (the hub has some of the committed ones, not all).
                var midIngestKills = 0, midSendKills = 0
                let chunks = stride(from: 0, to: files, by: 8).map { contents[$0..<min($0 + 8, files)] }
                for (index, chunk) in chunks.enumerated() {
                    let archivedBefore = s.dirs.archivedFiles().count
                    let storedBefore = try await s.hub.stats().events
                    for file in chunk { try s.dirs.publish(file.name, file.bytes) }
                    switch index {
                    case 0:
                        let caught = await Self.pollTightly {
                            s.dirs.archivedFiles().count > archivedBefore && !TestDirs.names(in: s.dirs.drop).isEmpty
                        }
                        if caught { midIngestKills += 1 }
                    case 1:
                        try await Task.sleep(for: .milliseconds(Int.random(in: 20...400)))
                    case 2:
                        let allSoFar = (archivedBefore + chunk.count) * perFile
                        let caught = await Self.pollTightly {
                            guard let stored = try? await s.hub.stats().events else { return false }
                            return stored > storedBefore && stored < allSoFar
                        }
                        if caught { midSendKills += 1 }
                    default:
                        continue
                    }
                    await s.agent.kill9()
                    try await s.agent.start()
                }
                #expect(s.agent.starts == 4)
                #expect(midIngestKills == 1, "the first kill must land while files are being committed")
                #expect(midSendKills == 1, "the third kill must land while events are being sent")

                try await s.waitForHubEvents(files * perFile, timeout: 120)
                try await s.waitForEmptyDropDirectory()
                let events = try await s.hub.events()
                #expect(events.count == files * perFile)
                #expect(Set(events.map(\.id)) == expected, "\(s.logs)")
                #expect(events.partitionKeysOutOfOrder().isEmpty, "order per partition key broken\n\(s.logs)")
                #expect(TestDirs.names(in: s.dirs.error).isEmpty, "nothing may be quarantined")
                #expect(try await s.hub.stats().rejectedDocuments == 0)
                try await s.eventually("every file is archived") { s.dirs.archivedFiles().count == files }
            }
        }

        /// Polls `condition` every 2 ms for up to 10 s; returns whether it became true.
        static func pollTightly(_ condition: () async -> Bool) async -> Bool {
            let deadline = Date().addingTimeInterval(10)
            while Date() < deadline {
                if await condition() { return true }
                try? await Task.sleep(for: .milliseconds(2))
            }
            return false
        }

        @Test("413 for one event dead-letters it with the reason; `dlq replay --all` delivers it once the hub accepts it")
        func deadLetterAndReplay() async throws {
            try await Scenario.run("dlq") { s in
                try await s.hub.start(maxBatchBytes: "64KiB")
                try await s.agent.start()
                let small1 = IDocFixtures.docnum(800_001), big = IDocFixtures.docnum(800_002), small2 = IDocFixtures.docnum(800_003)
                let file = "<?xml version=\"1.0\"?>\n<ORDERS05>"
                    + IDocFixtures.xmlIDoc(docnum: small1)
                    + IDocFixtures.xmlIDoc(docnum: big, payload: String(repeating: "X", count: 100_000))
                    + IDocFixtures.xmlIDoc(docnum: small2) + "</ORDERS05>\n"
                try s.dirs.publish("with-big.xml", Array(file.utf8))
                let bigID = IDocFixtures.eventID(docnum: big)

                try await s.waitForHubEvents(2)
                try await s.waitForDrainedOutbox()
                #expect(try await s.hub.events().map(\.id) == [small1, small2].map { IDocFixtures.eventID(docnum: $0) })
                #expect(try await s.agent.status()["dead_letters"] as? Int == 1)
                let list = try await s.agent.cli(["dlq", "list"])
                #expect(list.status == 0, "\(list)")
                #expect(list.stdout.split(separator: "\n").count == 1 && list.stdout.hasPrefix(bigID + "\t"), "\(list)")
                let show = try await s.agent.cli(["dlq", "show", bigID])
                #expect(show.status == 0, "\(show)")
                #expect(show.stdout.contains("413"), "the reason names the hub's answer: \(show)")
                #expect(show.stdout.contains("\"id\":\"\(bigID)\""), "show prints the event JSON")
                let missing = try await s.agent.cli(["dlq", "show", "idoc:NOPE:000:0"])
                #expect(missing.status == 1, "\(missing)")

                try await s.hub.stop()
                try await s.hub.start(maxBatchBytes: "16MiB")
                let replay = try await s.agent.cli(["dlq", "replay", "--all"])
                #expect(replay.status == 0, "\(replay)")
                #expect(replay.stdout.contains("re-queued 1 event(s)"), "\(replay)")
                try await s.waitForHubEvents(3)
                let arrived = try await s.hub.events()
                #expect(arrived.last?.id == bigID)
                #expect(arrived.last?.data.count ?? 0 > 100_000)
                try await s.waitForDrainedOutbox()
                let after = try await s.agent.cli(["dlq", "list"])
                #expect(after.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "no dead letters", "\(after)")
                #expect(try await s.agent.status()["dead_letters"] as? Int == 0)
            }
        }

        @Test("the reader of the agent's log goes away (a closed pipe): the agent keeps ingesting and delivering")
        func closedLogPipe() async throws {
            try await Scenario.run("closed-log-pipe") { s in
                try await s.hub.start()
                try s.agent.configurationYAML().write(toFile: s.agent.configPath, atomically: true, encoding: .utf8)
                let fifo = s.dirs.work + "/agent-log.fifo"
                #expect(mkfifo(fifo, 0o600) == 0)
                // Opened first (without waiting for a writer), so that the agent's open succeeds.
                let reader = open(fifo, O_RDONLY | O_NONBLOCK)
                #expect(reader >= 0)
                let agent = try Subprocess(
                    try Binaries.path("outpost"), ["run", "--config", s.agent.configPath], stderr: .append(fifo))
                defer { agent.killAndReap() }
                var logged = ""
                var chunk = [UInt8](repeating: 0, count: 4096)
                try await s.eventually("the agent logs agent.started into the pipe") {
                    let count = read(reader, &chunk, chunk.count)
                    if count > 0 { logged += String(decoding: chunk[0..<count], as: UTF8.self) }
                    guard agent.isRunning else { throw ScenarioError("the agent exited: \(logged)", fatal: true) }
                    return logged.contains("agent.started")
                }
                close(reader)
                // Every later log line (pickup, commit, delivery) now meets a closed pipe.
                let docnums = (1...3).map { IDocFixtures.docnum(950_000 + $0) }
                try s.dirs.publish("after-close.xml", IDocFixtures.xmlFile(docnums: docnums))
                try await s.waitForHubEvents(3)
                #expect(agent.isRunning, "the agent still runs")
                agent.send(SIGTERM)
                let status = await agent.waitForExit(timeout: 20)
                #expect(status == 0, "exit status after SIGTERM")
            }
        }

        @Test("SIGTERM while batches are retrying against a down hub: exit 0 within seconds, nothing lost")
        func sigtermWhileRetrying() async throws {
            try await Scenario.run("sigterm") { s in
                s.agent.settings.retryInitial = "500ms"
                s.agent.settings.retryMax = "30s"
                try await s.agent.start()
                try s.dirs.publish("pending.xml", IDocFixtures.xmlFile(docnums: (1...5).map { IDocFixtures.docnum(900_000 + $0) }))
                // The start-up heartbeat is retried from the first second; wait for the file's
                // commit too, so that its events are among the retried ones.
                try await s.eventually("the file is committed and archived") { s.dirs.archivedFiles().count == 1 }
                try await s.eventually("the agent retries delivery") {
                    s.agent.log(since: 0).contains("delivery.retry")
                }
                let started = Date()
                let status = await s.agent.terminate(timeout: 15)
                let elapsed = Date().timeIntervalSince(started)
                #expect(status == 0, "exit status after SIGTERM\n\(s.logs)")
                #expect(elapsed < 5, "took \(elapsed) s to stop")
                #expect(s.agent.log(since: 0).contains("agent.stopped"))
                // A clean stop closes the outbox: its log is copied into the database file and
                // removed, so the stopped agent's outbox is one self-contained file.
                #expect(!FileManager.default.fileExists(atPath: s.dirs.agentData + "/outbox.sqlite-wal"),
                        "a clean stop leaves no write-ahead log\n\(s.logs)")
                // The 5 documents (and any heartbeat not yet delivered) stay in the outbox.
                let after = try await s.agent.status()
                #expect(after["pending_events"] as? Int ?? 0 >= 5, "the events stay in the outbox: \(after)")
            }
        }

        @Test("the data_dir deleted under the running agent: a later file is not committed into the lost outbox, stays in the drop directory, and arrives after a restart")
        func dataDirDeletedUnderTheAgent() async throws {
            try await Scenario.run("data-dir-deleted") { s in
                try await s.hub.start()
                try await s.agent.start()
                let before = IDocFixtures.docnum(810_001), after = IDocFixtures.docnum(810_002)
                try s.dirs.publish("before.xml", IDocFixtures.xmlFile(docnums: [before]))
                try await s.eventually("the first file is committed and archived") { s.dirs.archivedFiles().count == 1 }
                try FileManager.default.removeItem(atPath: s.dirs.agentData)
                let logged = s.agent.logLength()
                try s.dirs.publish("after.xml", IDocFixtures.xmlFile(docnums: [after]))
                try await s.eventually("the refused commit is logged") {
                    s.agent.log(since: logged).contains("was removed or replaced while the agent was running")
                }
                #expect(FileManager.default.fileExists(atPath: s.dirs.drop + "/after.xml"), "\(s.logs)")
                #expect(s.dirs.archivedFiles().count == 1)

                _ = await s.agent.terminate()
                try await s.agent.start()
                try await s.eventually("the file is picked up after the restart") { s.dirs.archivedFiles().count == 2 }
                try await s.eventually("both documents reach the hub") {
                    let ids = Set(try await s.hub.events().map(\.id))
                    return ids.isSuperset(of: [IDocFixtures.eventID(docnum: before), IDocFixtures.eventID(docnum: after)])
                }
            }
        }

        @Test("a scenario whose agent dies of a fault fails, though none of its checks looked")
        func aCrashNoCheckSawFailsTheScenario() async throws {
            var caught: ScenarioError?
            do {
                try await Scenario.run("crash-net") { s in
                    try await s.agent.start()
                    s.agent.process?.send(SIGBUS)
                    try await s.eventually("the agent has crashed") {
                        s.agent.process?.status != nil
                            || CrashReport.of("the agent", exitStatus: nil, logAt: s.agent.logPath) != nil
                    }
                }
            } catch let error as ScenarioError {
                caught = error
            }
            let message = try #require(caught, "the scenario passed over the agent's crash").description
            #expect(message.contains("the agent died of signal \(SIGBUS)") || message.contains("the agent crashed"), "\(message.prefix(300))")
        }
    }
}
