import Foundation
import Testing
import TestSupport

extension EndToEnd {
    /// The built agent with `hub.mode: structured` and `binary` sending to a receiver built on the
    /// official CloudEvents Python SDK instead of the Outpost hub: every IDoc arrives, in order,
    /// with its attributes and data, and the outbox drains.
    @Suite("Any CloudEvents receiver as the hub", .enabled("python3 has no cloudevents package") { await CloudEventsReceiver.shouldRun() })
    struct CloudEventsReceiverModeTests {
        @Test("structured and binary mode: each IDoc of the file reaches the SDK receiver intact", arguments: ["structured", "binary"])
        func eachMode(_ mode: String) async throws {
            let receiver = try await CloudEventsReceiver()
            do {
                try await Scenario.run("ce-\(mode)") { s in
                    s.agent.settings.mode = mode
                    s.agent.settings.hubURLs = [receiver.url]
                    try await s.agent.start()
                    let docnums = (1...12).map { IDocFixtures.docnum(600_000 + $0) }
                    try s.dirs.publish("ORDERS_\(mode).xml", IDocFixtures.xmlFile(docnums: docnums))

                    var documents: [[String: Any]] = []
                    try await s.eventually("the receiver has the 12 IDocs") {
                        documents = try receiver.events().filter {
                            ($0["attributes"] as? [String: Any])?["type"] as? String == "sap.idoc.ORDERS"
                        }
                        return documents.count >= 12
                    }
                    #expect(documents.count == 12)
                    let attributes = documents.compactMap { $0["attributes"] as? [String: Any] }
                    #expect(attributes.map { $0["id"] as? String } == docnums.map { IDocFixtures.eventID(docnum: $0) })
                    for (document, docnum) in zip(documents, docnums) {
                        #expect(document["mode"] as? String == mode)
                        #expect((document["data"] as? String)?.contains("<DOCNUM>\(docnum)</DOCNUM>") == true)
                        let attributes = document["attributes"] as? [String: Any] ?? [:]
                        #expect(attributes["subject"] as? String == docnum)
                        #expect(attributes["agentid"] as? String == "e2e-agent")
                        #expect(attributes["filename"] as? String == "ORDERS_\(mode).xml")
                        #expect(attributes["datacontenttype"] as? String == "application/xml")
                    }
                    try await s.waitForDrainedOutbox()
                }
            } catch {
                await receiver.stop()
                throw error
            }
            await receiver.stop()
        }
    }
}
