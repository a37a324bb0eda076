import EventModel
import Foundation
@testable import HTTPSink
import HubServer
import Hummingbird
import HummingbirdTesting
import Testing

/// Request bodies of changing sizes from one HTTP sink, one after another, against a real hub
/// on a loopback socket: each arrives whole and holds only its own events, though each is
/// written over the request buffer of the batch before it (``SpareBodies``).
@Suite("Hub request bodies", .serialized)
struct HubRequestBodyTests {
    /// An event whose data names it and is `padding` bytes longer.
    static func event(_ id: String, padding: Int) -> OutboundEvent {
        let data = "<ORDERS05>\(id)\(String(repeating: "x", count: padding))</ORDERS05>"
        let json = #"{"specversion":"1.0","id":"\#(id)","source":"outpost://plant-emea-01/sap-outbound","type":"sap.idoc.ORDERS","time":"2026-11-26T10:15:00Z","data":"\#(data)","agentid":"plant-emea-01","region":"emea"}"#
        return OutboundEvent(sequence: 1, id: id, partitionKey: "k", json: Array(json.utf8))
    }

    @Test("batches larger and smaller than the one before each store exactly their events")
    func changingSizes() async throws {
        let storage = InMemoryHubStorage()
        try await HubCompressionTests.application(storage).test(.live) { client in
            let sink = try HTTPSink(
                url: "http://127.0.0.1:\(client.port ?? 0)/v1/events", token: HubCompressionTests.token, requestTimeout: 10)
            var sent: [OutboundEvent] = []
            // (events, padding): a large body, a much smaller one, a larger one than the first, one event.
            let shapes = [(40, 3_000), (3, 10), (60, 5_000), (1, 0), (25, 1_000)]
            for (round, (count, padding)) in shapes.enumerated() {
                let batch = (0..<count).map { Self.event("r\(round)-e\($0)", padding: padding + $0) }
                #expect(await sink.deliver(batch) == .delivered(rejected: [:]), "round \(round)")
                sent += batch
                #expect(await storage.statistics(recentRejections: 0).events == sent.count, "round \(round)")
            }
            #expect(sink.spareBodies.count == 1, "one batch at a time: one buffer, written over by each")
            sink.releaseMemory()
            #expect(sink.spareBodies.count == 0, "given back when the agent is quiet")
            await sink.shutdown()
            for event in sent {
                let stored = try #require(await storage.event(id: event.id), "\(event.id) missing")
                let object = try #require(try JSONSerialization.jsonObject(with: stored) as? [String: Any])
                let expected = try #require(try JSONSerialization.jsonObject(with: Data(event.json)) as? [String: Any])
                #expect(object["data"] as? String == expected["data"] as? String, "\(event.id) holds other data")
            }
        }
    }
}
