import Foundation
import Testing

extension EndToEnd {
    /// `SIGHUP` (`systemctl reload outpost`) while files stream in: sources added, changed and
    /// removed, the hub connection replaced, an invalid file refused — and every document
    /// arrives once.
    @Suite("Reload")
    struct ReloadTests {
        static func occurrences(of text: String, in log: String) -> Int { log.components(separatedBy: text).count - 1 }

        @Test("reloading repeatedly while files stream in loses and duplicates nothing")
        func reloadsWhileFilesStreamIn() async throws {
            try await Scenario.run("reload") { s in
                let second = s.dirs.work + "/drop2"
                try FileManager.default.createDirectory(atPath: second, withIntermediateDirectories: true)
                func secondSource(settle: String) -> String {
                    "  - {name: second, type: file_drop, path: \(second), settle: \(settle), archive_dir: \(s.dirs.archive)/second, error_dir: \(s.dirs.error)}\n"
                }
                try await s.hub.start()
                try await s.agent.start()
                let logStart = s.agent.logLength()

                // 120 files of one IDoc each, half into each directory, written while the agent reloads.
                let total = 120
                let docnums = (1...total).map { IDocFixtures.docnum(700_000 + $0) }
                let writer = Task {
                    for (index, docnum) in docnums.enumerated() {
                        let name = "ORDERS_\(docnum).xml"
                        let file = IDocFixtures.xmlFile(docnums: [docnum])
                        if index % 2 == 0 {
                            try s.dirs.publish(name, file)
                        } else {
                            let temporary = second + "/.\(name).tmp"
                            FileManager.default.createFile(atPath: temporary, contents: Data(file))
                            try FileManager.default.moveItem(atPath: temporary, toPath: second + "/" + name)
                        }
                        try await Task.sleep(for: .milliseconds(25))
                    }
                }

                let steps: [(String, (inout AgentProcess.Settings) -> Void)] = [
                    ("add the second source", { $0.extraSources = secondSource(settle: "100ms") }),
                    ("change the first source", { $0.settle = "150ms" }),
                    ("an invalid file", { $0.trailer = "colour: blue\n" }),
                    ("remove the second source", { $0.trailer = ""; $0.extraSources = "" }),
                    ("add it again, changed", { $0.extraSources = secondSource(settle: "50ms") }),
                    ("replace the hub connection", { $0.requestTimeout = "15s" }),
                ]
                // A reload ends with exactly one of these lines; each is counted before the signal
                // goes, so an agent that answers at once cannot slip past the count.
                func outcomes() -> Int {
                    let log = s.agent.log(since: logStart)
                    return ["agent.reloaded", "agent.reload.refused", "agent.reload.failed"]
                        .reduce(0) { $0 + Self.occurrences(of: $1, in: log) }
                }
                for (what, change) in steps {
                    try await Task.sleep(for: .milliseconds(450))
                    change(&s.agent.settings)
                    let before = outcomes()
                    let appliedBefore = Self.occurrences(of: "agent.reloaded", in: s.agent.log(since: logStart))
                    try s.agent.reload()
                    try await s.eventually("the agent handles the reload: \(what)", timeout: 20) { outcomes() > before }
                    #expect(outcomes() == before + 1, "one outcome per reload: \(what)")
                    let applied = Self.occurrences(of: "agent.reloaded", in: s.agent.log(since: logStart)) - appliedBefore
                    #expect(applied == (what == "an invalid file" ? 0 : 1), "\(what): \(s.agent.logTail())")
                }
                try await writer.value
                try await s.waitForHubEvents(total, timeout: 90)
                let events = try await s.hub.events()
                #expect(Set(events.map(\.id)) == Set(docnums.map { IDocFixtures.eventID(docnum: $0) }), "\(s.logs)")
                #expect(events.count == total)
                try await s.eventually("both directories are empty") {
                    TestDirs.names(in: s.dirs.drop).isEmpty && TestDirs.names(in: second).filter { !$0.hasPrefix(".") }.isEmpty
                }
                let log = s.agent.log(since: logStart)
                #expect(Self.occurrences(of: "agent.reloaded", in: log) == 5, "\(log)")
                #expect(Self.occurrences(of: "agent.reload.refused", in: log) == 1)
                #expect(log.contains("agent.reload.problem") && log.contains("colour"), "every problem of the refused file is logged")
                #expect(log.contains("outpost.sources_started=second"))
                #expect(log.contains("outpost.sources_restarted=drop"))
                #expect(log.contains("outpost.sources_stopped=second"))
                #expect(log.contains("outpost.hub=\"replaced") || log.contains("outpost.hub=replaced"), "\(log)")
                #expect(s.agent.process?.isRunning == true, "the agent runs on")
                let status = try await s.agent.status()
                #expect(status["pending_events"] as? Int == 0)
            }
        }
    
        @Test("the hub reloads its agents list and mapping; a file with problems is refused and it serves on")
        func hubReloadsAgentsAndMapping() async throws {
            try await Scenario.run("hub-reload") { s in
                // The hub starts with another token for the agent: its batches are refused (401).
                s.hub.acceptedTokenSHA256 = String(repeating: "0", count: 64)
                try await s.hub.start()
                try await s.agent.start()
                let docnums = (1...5).map { IDocFixtures.docnum(800_000 + $0) }
                try s.dirs.publish("ORDERS_locked_out.xml", IDocFixtures.xmlFile(docnums: docnums))
                try await s.eventually("the agent is refused") {
                    s.hub.logTail(lines: 200).contains("401") || s.agent.logTail(lines: 200).contains("401")
                }
                #expect(try await s.hub.stats().events == 0)

                // A file with a problem: refused, every problem logged, the hub serves on.
                s.hub.trailer = "mapping: {tolerance_percent: lots}\n"
                try s.hub.reload()
                try await s.eventually("the hub refuses the file") { s.hub.logTail(lines: 200).contains("hub.reload.refused") }
                #expect(s.hub.logTail(lines: 200).contains("hub.reload.problem"))
                #expect(try await LoopbackHTTP.get(port: s.hub.port, path: "/healthz").status == 200)

                // The agent's own token and a mapping tolerance: applied without a restart.
                s.hub.acceptedTokenSHA256 = nil
                s.hub.trailer = "mapping: {tolerance_percent: 5}\n"
                try s.hub.reload()
                try await s.eventually("the hub reloads") { s.hub.logTail(lines: 200).contains("hub.reloaded") }
                try await s.waitForHubEvents(5)
                let events = try await s.hub.events()
                #expect(Set(events.map(\.id)) == Set(docnums.map { IDocFixtures.eventID(docnum: $0) }))
                #expect(s.hub.process?.isRunning == true)
            }
        }
    }
}
