import Foundation
import Testing

extension EndToEnd {
    /// Good input travels from the drop directory to the hub and the file is archived.
    @Suite("Delivery")
    struct DeliveryTests {
        @Test("a 50-IDoc XML file becomes 50 events, in file order, and is archived under YYYY-MM-DD")
        func multiIDocXMLFile() async throws {
            try await Scenario.run("multi-idoc") { s in
                try await s.hub.start()
                try await s.agent.start()
                let docnums = (1...50).map { IDocFixtures.docnum(100_000 + $0) }
                let file = IDocFixtures.xmlFile(docnums: docnums)
                try s.dirs.publish("ORDERS_batch.xml", file)

                try await s.waitForHubEvents(50)
                let events = try await s.hub.events()
                #expect(events.map(\.id) == docnums.map { IDocFixtures.eventID(docnum: $0) }, "\(s.logs)")
                #expect(events.partitionKeysOutOfOrder().isEmpty)
                #expect(Set(events.map(\.partitionKey)) == ["idoc:\(IDocFixtures.sender):\(IDocFixtures.client)"])
                #expect(events.allSatisfy { $0.type == "sap.idoc.ORDERS" && $0["agentid"] == "e2e-agent" })
                #expect(events.allSatisfy { $0["filename"] == "ORDERS_batch.xml" })
                for (event, docnum) in zip(events, docnums) {
                    #expect(event["subject"] == docnum)
                    #expect(event.data.contains("<DOCNUM>\(docnum)</DOCNUM>"))
                    #expect(event.data.components(separatedBy: "<IDOC ").count == 2, "one IDoc per event")
                }

                try await s.eventually("the file is archived") { s.dirs.archivedFiles().count == 1 }
                let archived = s.dirs.archivedFiles()
                #expect(archived.first?.wholeMatch(of: /\d{4}-\d{2}-\d{2}\/ORDERS_batch\.xml/) != nil, "\(archived)")
                let pickupDays = [Date(timeIntervalSinceNow: -300), Date()].map(TestDirs.utcDay)
                #expect(pickupDays.contains(String(archived[0].prefix(10))), "archived under the UTC pickup date")
                #expect(FileManager.default.contents(atPath: s.dirs.archive + "/" + archived[0]) == Data(file))
                #expect(TestDirs.names(in: s.dirs.drop).isEmpty)
                #expect(TestDirs.names(in: s.dirs.error).isEmpty)
            }
        }

        @Test("a flat IDoc file (524-character EDI_DC40 records) becomes one event per IDoc")
        func flatFile() async throws {
            try await Scenario.run("flat") { s in
                try await s.hub.start()
                try await s.agent.start()
                let docnums = (1...3).map { IDocFixtures.docnum(200_000 + $0) }
                try s.dirs.publish("INVOIC_flat.txt", IDocFixtures.flatFile(docnums: docnums))

                try await s.waitForHubEvents(3)
                let events = try await s.hub.events()
                #expect(events.map(\.id) == docnums.map { IDocFixtures.eventID(docnum: $0) }, "\(s.logs)")
                for (event, docnum) in zip(events, docnums) {
                    #expect(event.type == "sap.idoc.INVOIC")
                    #expect(event["idoctype"] == "INVOIC02")
                    #expect(event["datacontenttype"] == "text/plain")
                    #expect(event.data.hasPrefix("EDI_DC40  \(IDocFixtures.client)\(docnum)"))
                    #expect(event.data.split(separator: "\n").count == 3, "control record + 2 data records")
                }
                try await s.eventually("the file is archived") { s.dirs.archivedFiles().count == 1 }
            }
        }

        @Test("the public samples: four delivered with their ids, DEBMAS01 without control record quarantined")
        func publicSamples() async throws {
            let samples = try Binaries.publicSamples()
            let expected: [String: String] = [
                "invoic02-ext-zinv_ardo.xml": "idoc:PS4CLNT100:100:0000000000182520",
                "orders05-namespaced-ext.xml": "idoc:EQ2CLNT100:100:0000000064132944",
                "cremas05-one-line.xml": "idoc:ECQCLNT100:100:0000000129056123",
                "invoic02-flat.txt": "idoc:SAPPOE011:011:0000003073898324",
            ]
            let rejected = "debmas01-no-control-record.xml"
            try await Scenario.run("samples") { s in
                try await s.hub.start()
                try await s.agent.start()
                for name in expected.keys.sorted() + [rejected] {
                    try s.dirs.publish(copyOf: samples.appendingPathComponent(name).path)
                }

                try await s.waitForHubEvents(5)
                let events = try await s.hub.events()
                let documents = events.filter { $0.type != "outpost.document.rejected" }
                #expect(Set(documents.map(\.id)) == Set(expected.values), "\(s.logs)")
                for event in documents {
                    #expect(expected[event["filename"] ?? ""] == event.id, "event \(event.id) from \(event["filename"] ?? "?")")
                }
                let stats = try await s.hub.stats()
                #expect(stats.rejectedDocuments == 1)
                #expect(stats.rejectedReasons == ["no_control_record"])
                #expect(stats.types["outpost.document.rejected"] == 1)

                try await s.eventually("four files archived and one quarantined") {
                    s.dirs.archivedFiles().count == 4 && TestDirs.names(in: s.dirs.error).count == 2
                }
                #expect(TestDirs.names(in: s.dirs.error) == [rejected, rejected + ".reason.json"])
                let reason = try s.reason(of: rejected)
                #expect(reason["reason"] as? String == "no_control_record", "\(reason)")
                #expect(reason["file"] as? String == rejected)
                #expect(Set(s.dirs.archivedFiles().map { String($0.dropFirst(11)) }) == Set(expected.keys))
            }
        }

        @Test("the same file dropped twice is archived twice and sent once")
        func sameFileTwice() async throws {
            try await Scenario.run("twice") { s in
                try await s.hub.start()
                try await s.agent.start()
                let docnums = (1...5).map { IDocFixtures.docnum(300_000 + $0) }
                let file = IDocFixtures.xmlFile(docnums: docnums)
                try s.dirs.publish("twice.xml", file)
                try await s.waitForHubEvents(5)
                try await s.eventually("the first copy is archived") { s.dirs.archivedFiles().count == 1 }

                try s.dirs.publish("twice.xml", file)
                try await s.eventually("the second copy is archived beside the first") {
                    s.dirs.archivedFiles().count == 2
                }
                try await s.waitForDrainedOutbox()
                let archived = s.dirs.archivedFiles().map { String($0.dropFirst(11)) }.sorted()
                #expect(archived == ["twice.xml", "twice.xml.1"], "\(s.dirs.archivedFiles())")
                let stats = try await s.hub.stats()
                #expect(stats.events == 5, "\(s.logs)")
                #expect(stats.duplicatesDropped == 0, "the agent must recognise the file by its receipt and not send again")
                #expect(s.agent.log(since: 0).contains("intake.already_committed"))
                #expect(try await s.agent.status()["delivered_retained"] as? Int == 5 + stats.heartbeats)
            }
        }
    }
}
