import Foundation
import Testing
import TestSupport

extension EndToEnd {
    /// Bad, hostile and half-written input: quarantined or waited for, never fatal, never leaked.
    @Suite("Quarantine")
    struct QuarantineTests {
        @Test("hostile inputs are each quarantined with their reason, and the agent goes on")
        func hostileInputs() async throws {
            let hostile: [(name: String, bytes: [UInt8], reason: String)] = [
                ("internal-entity.xml", IDocFixtures.internalEntity, "dtd_forbidden"),
                ("billion-laughs.xml", IDocFixtures.billionLaughs, "dtd_forbidden"),
                ("xxe.xml", IDocFixtures.externalEntity, "dtd_forbidden"),
                ("truncated.xml", IDocFixtures.truncated, "truncated"),
                ("binary.dat", IDocFixtures.binaryGarbage, "unknown_format"),
                ("no-control-record.xml", IDocFixtures.missingControlRecord, "no_control_record"),
                ("deep.xml", IDocFixtures.deepNesting, "too_deep"),
            ]
            try await Scenario.run("hostile") { s in
                try await s.hub.start()
                try await s.agent.start()
                for input in hostile { try s.dirs.publish(input.name, input.bytes) }
                try await s.eventually("all \(hostile.count) hostile files are quarantined with reason files") {
                    TestDirs.names(in: s.dirs.error).count == 2 * hostile.count
                }
                for input in hostile {
                    let reason = try s.reason(of: input.name)
                    #expect(reason["reason"] as? String == input.reason, "\(input.name): \(reason)\n\(s.logs)")
                    #expect(FileManager.default.contents(atPath: s.dirs.error + "/" + input.name) == Data(input.bytes))
                }

                let good = IDocFixtures.docnum(400_001)
                try s.dirs.publish("good.xml", IDocFixtures.xmlFile(docnums: [good]))
                try await s.waitForHubEvents(hostile.count + 1)
                #expect(s.agent.process?.isRunning == true, "the agent survives hostile input")
                let events = try await s.hub.events()
                #expect(events.filter { $0.type == "sap.idoc.ORDERS" }.map(\.id) == [IDocFixtures.eventID(docnum: good)])
                let stats = try await s.hub.stats()
                #expect(stats.rejectedDocuments == hostile.count)
                #expect(stats.rejectedReasons == hostile.map(\.reason).sorted())

                let leaked = "root:x:0"
                #expect(!(try await s.hub.rawEventPages()).contains(leaked), "/etc/passwd content reached the hub")
                for name in TestDirs.names(in: s.dirs.error) where name.hasSuffix(".reason.json") {
                    let text = String(decoding: FileManager.default.contents(atPath: s.dirs.error + "/" + name) ?? Data(), as: UTF8.self)
                    #expect(!text.contains(leaked), "\(name) leaks /etc/passwd")
                }
                #expect(!s.agent.log(since: 0).contains(leaked), "the agent log leaks /etc/passwd")
            }
        }

        @Test("a symlink in the drop directory is quarantined as a link; its target is never read")
        func symlink() async throws {
            try await Scenario.run("symlink") { s in
                try await s.hub.start()
                try await s.agent.start()
                let secret = IDocFixtures.docnum(500_001)
                let target = s.dirs.outside + "/secret.xml"
                let content = Data(IDocFixtures.xmlFile(docnums: [secret]))
                #expect(FileManager.default.createFile(atPath: target, contents: content))
                try FileManager.default.createSymbolicLink(atPath: s.dirs.drop + "/link.xml", withDestinationPath: target)

                try await s.eventually("the link is quarantined with its reason file") {
                    TestDirs.names(in: s.dirs.error) == ["link.xml", "link.xml.reason.json"]
                }
                #expect(try s.reason(of: "link.xml")["reason"] as? String == "symlink")
                let moved = try FileManager.default.destinationOfSymbolicLink(atPath: s.dirs.error + "/link.xml")
                #expect(moved == target, "the link itself is moved, not a copy of its target")

                let good = IDocFixtures.docnum(500_002)
                try s.dirs.publish("after-link.xml", IDocFixtures.xmlFile(docnums: [good]))
                try await s.waitForHubEvents(2)
                let events = try await s.hub.events()
                #expect(!events.contains { $0.id == IDocFixtures.eventID(docnum: secret) }, "the link target was sent")
                #expect(!(try await s.hub.rawEventPages()).contains(secret))
                #expect(Set(events.map(\.type)) == ["outpost.document.rejected", "sap.idoc.ORDERS"])
                #expect(FileManager.default.contents(atPath: target) == content, "the target must stay untouched")
                #expect(try await s.hub.stats().rejectedReasons == ["symlink"])
            }
        }

        @Test(
            "a file the agent's user cannot read is retried once, then quarantined with reason unreadable; readable files go on",
            .enabled(if: getuid() == 0 && IntegrationGate.runs(FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")),
                     "needs root to run the agent as `nobody` (setpriv, util-linux)"))
        func unreadableFile() async throws {
            try await Scenario.run("unreadable") { s in
                // The agent runs as nobody: its directories, configuration and token must be its.
                for dir in [s.dirs.root, s.dirs.drop, s.dirs.archive, s.dirs.error, s.dirs.agentData, s.dirs.work] {
                    chmod(dir, 0o777)
                }
                // A token must be its reader's alone: given to nobody, mode 0600.
                let nobody = try #require(getpwnam("nobody"))
                chown(s.tokenFile, nobody.pointee.pw_uid, nobody.pointee.pw_gid)
                s.agent.settings.runAsUser = "nobody"
                try await s.hub.start()
                try await s.agent.start()
                try s.dirs.publish("locked.xml", IDocFixtures.xmlFile(docnums: [IDocFixtures.docnum(650_001)]))
                chmod(s.dirs.drop + "/locked.xml", 0o600)  // owned by root: unreadable to nobody
                let good = IDocFixtures.docnum(650_002)
                try s.dirs.publish("good.xml", IDocFixtures.xmlFile(docnums: [good]))
                chmod(s.dirs.drop + "/good.xml", 0o644)
                try await s.waitForHubEvents(2)  // the good IDoc and the rejection
                try await s.eventually("the unreadable file is quarantined") {
                    FileManager.default.fileExists(atPath: s.dirs.error + "/locked.xml.reason.json")
                }
                #expect(s.agent.log(since: 0).contains("file.unreadable"), "reported once before the quarantine")
                let reason = try JSONSerialization.jsonObject(
                    with: Data(contentsOf: URL(fileURLWithPath: s.dirs.error + "/locked.xml.reason.json"))) as? [String: Any]
                #expect(reason?["reason"] as? String == "unreadable")
                #expect(FileManager.default.fileExists(atPath: s.dirs.error + "/locked.xml"), "kept, not deleted")
                let stats = try await s.hub.stats()
                #expect(stats.rejectedReasons == ["unreadable"])
                #expect(try await s.hub.events().filter { $0.type == "sap.idoc.ORDERS" }.map(\.id) == [IDocFixtures.eventID(docnum: good)])
                #expect(s.agent.process?.isRunning == true)
            }
        }

        @Test("a writer that pauses longer than settle mid-file: the complete file arrives once, no rejection")
        func pausingWriter() async throws {
            try await Scenario.run("pausing-writer") { s in
                s.agent.settings.settle = "300ms"
                try await s.hub.start()
                try await s.agent.start()
                let docnums = (1...20).map { IDocFixtures.docnum(600_000 + $0) }
                let file = IDocFixtures.xmlFile(docnums: docnums)
                let path = s.dirs.drop + "/slow.xml"
                guard FileManager.default.createFile(atPath: path, contents: nil),
                      let writer = FileHandle(forWritingAtPath: path)
                else { throw ScenarioError("cannot create \(path)") }
                try writer.write(contentsOf: Data(file[..<(file.count / 2)]))
                try await Task.sleep(for: .milliseconds(1500))
                try writer.write(contentsOf: Data(file[(file.count / 2)...]))
                try writer.close()

                try await s.waitForHubEvents(20)
                try await s.waitForDrainedOutbox()
                try await s.eventually("the file is archived") { s.dirs.archivedFiles().count == 1 }
                let events = try await s.hub.events()
                #expect(events.map(\.id) == docnums.map { IDocFixtures.eventID(docnum: $0) }, "\(s.logs)")
                let stats = try await s.hub.stats()
                #expect(stats.events == 20)
                #expect(stats.rejectedDocuments == 0, "the half-written file must not be picked up\n\(s.logs)")
                #expect(stats.duplicatesDropped == 0)
                #expect(TestDirs.names(in: s.dirs.error).isEmpty)
                #expect(FileManager.default.contents(atPath: s.dirs.archive + "/" + s.dirs.archivedFiles()[0]) == Data(file))
            }
        }
    }
}
