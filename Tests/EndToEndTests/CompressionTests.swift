import Foundation
import Testing

extension EndToEnd {
    /// The built agent sends to the built hub with each `hub.compression` setting; the hub stores
    /// the same events, data intact, whichever encoding carried them.
    @Suite("Compression on the wire")
    struct CompressionTests {
        @Test("gzip, zstd and none: the hub stores every IDoc of the file, in order, data intact",
              arguments: ["gzip", "zstd", "none"])
        func eachSetting(_ compression: String) async throws {
            try await Scenario.run("compression-\(compression)") { s in
                s.agent.settings.compression = compression
                s.agent.settings.batchMaxEvents = 20
                try await s.hub.start()
                try await s.agent.start()
                let docnums = (1...60).map { IDocFixtures.docnum(400_000 + $0) }
                try s.dirs.publish("ORDERS_\(compression).xml", IDocFixtures.xmlFile(docnums: docnums))

                try await s.waitForHubEvents(60)
                let events = try await s.hub.events()
                #expect(events.map(\.id) == docnums.map { IDocFixtures.eventID(docnum: $0) }, "\(s.logs)")
                for (event, docnum) in zip(events, docnums) {
                    #expect(event.data.contains("<DOCNUM>\(docnum)</DOCNUM>"))
                }
                try await s.waitForDrainedOutbox()
            }
        }
    }
}
