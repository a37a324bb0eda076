import EventModel
import Foundation
@testable import HTTPSink
import Testing
import TestSupport

/// The real HTTP sink in `structured` and `binary` mode against a receiver written with the
/// official CloudEvents Python SDK: every event arrives once, in order, with its attributes and
/// data intact; a 503 is retried, a 400 dead-letters that event alone.
@Suite("CloudEvents receivers", .serialized, .enabled("python3 has no cloudevents package") { await CloudEventsReceiver.shouldRun() })
struct CloudEventsReceiverTests {
    /// Events like the agent's: an ORDERS05 IDoc as XML text (non-ASCII, quotes, percent signs), a
    /// file name with spaces and umlauts, binary data as data_base64, a rejection with JSON data.
    static var events: [[String: Any]] {
        let xml = try! String(
            contentsOf: PackageLayout.root.appendingPathComponent("samples/orders05-purchase-order.xml"), encoding: .utf8)
        func event(_ id: String, _ extra: [String: Any]) -> [String: Any] {
            [
                "specversion": "1.0", "id": id, "source": "outpost://plant-emea-01/sap-outbound", "type": "sap.idoc.ORDERS",
                "subject": "0000000000123456", "time": "2026-11-26T10:15:00Z", "partitionkey": "PRDCLNT100:ORDERS",
                "agentid": "plant-emea-01", "region": "emea", "filename": "Bestellung Müller \"100%\".xml",
                "ordinal": "1",
            ].merging(extra) { $1 }
        }
        return [
            event("idoc:PRDCLNT100:100:0000000000123456", ["datacontenttype": "application/xml", "data": xml, "idoctype": "ORDERS05"]),
            event("idoc:PRDCLNT100:100:0000000000123457", [
                "datacontenttype": "application/xml", "data": "<ORDERS05><E1EDK01><BELNR>Grüße ✓</BELNR></E1EDK01></ORDERS05>",
            ]),
            event("raw:1", ["datacontenttype": "application/octet-stream", "data_base64": Data([0, 1, 2, 0xFF, 0xFE, 0x80]).base64EncodedString()]),
            event("rejected:1", [
                "type": "outpost.document.rejected", "datacontenttype": "application/json",
                "data": ["reason": "unparsable", "detail": "tag mismatch at line 3", "size": 120],
            ]),
        ]
    }

    static func outbound(_ events: [[String: Any]]) throws -> [OutboundEvent] {
        try events.enumerated().map { index, event in
            let json = try JSONSerialization.data(withJSONObject: event, options: [.sortedKeys, .withoutEscapingSlashes])
            return OutboundEvent(sequence: Int64(index + 1), id: event["id"] as! String, partitionKey: "k", json: Array(json))
        }
    }

    @Test("every event arrives once, in order, with its attributes and data", arguments: [HTTPSinkMode.structured, .binary])
    func eventsArriveIntact(mode: HTTPSinkMode) async throws {
        let receiver = try await CloudEventsReceiver()
        defer { Task { await receiver.stop() } }
        let sink = try HTTPSink(url: receiver.url, token: "tok", requestTimeout: 10, mode: mode)
        let outcome = await sink.deliver(try Self.outbound(Self.events))
        await sink.shutdown()
        #expect(outcome == .delivered(rejected: [:]))
        let received = try receiver.events()
        #expect(received.map { ($0["attributes"] as? [String: Any])?["id"] as? String } == Self.events.map { $0["id"] as? String })
        for (index, (sent, got)) in zip(Self.events, received).enumerated() {
            #expect(got["mode"] as? String == mode.rawValue)
            let attributes = try #require(got["attributes"] as? [String: Any])
            for (name, value) in sent where !["data", "data_base64"].contains(name) {
                #expect(attributes[name] as? String == value as? String, "event \(index) attribute \(name): \(attributes[name] ?? "missing")")
            }
            #expect(attributes["sequence"] as? String == String(format: "%020d", index + 1))
            if let text = sent["data"] as? String {
                #expect(got["data_type"] as? String == "text")
                #expect(got["data"] as? String == text, "event \(index) data")
            } else if let base64 = sent["data_base64"] as? String {
                // Binary data: the body's bytes (binary mode) or data_base64 (structured mode).
                #expect(Data(base64Encoded: got["data"] as? String ?? "") == Data(base64Encoded: base64), "event \(index) data")
            } else {
                let data = try #require(got["data"] as? [String: Any], "event \(index) data: \(got["data"] ?? "missing")")
                let canonical = { (value: [String: Any]) in try JSONSerialization.data(withJSONObject: value, options: .sortedKeys) }
                #expect(try canonical(data) == canonical(try #require(sent["data"] as? [String: Any])), "event \(index) data")
            }
            if mode == .binary {
                #expect(got["content_type"] as? String == sent["datacontenttype"] as? String)
            } else {
                #expect((got["content_type"] as? String)?.hasPrefix("application/cloudevents+json") == true)
            }
        }
    }

    @Test("503 is retried (nothing counted delivered); 400 dead-letters that event only, the others follow in order",
          arguments: [HTTPSinkMode.structured, .binary])
    func retryAndDeadLetter(mode: HTTPSinkMode) async throws {
        let rejectID = Self.events[1]["id"] as! String
        let receiver = try await CloudEventsReceiver(failFirst: 1, rejectID: rejectID)
        defer { Task { await receiver.stop() } }
        let sink = try HTTPSink(url: receiver.url, token: "tok", requestTimeout: 10, mode: mode)
        let batch = try Self.outbound(Self.events)
        let first = await sink.deliver(batch)
        guard case .retry = first else {
            Issue.record("a 503 should be retried, got \(first)")
            return
        }
        #expect(try receiver.events().isEmpty)
        let outcome = await sink.deliver(batch)
        await sink.shutdown()
        guard case .delivered(let rejected) = outcome else {
            Issue.record("expected delivered with one rejection, got \(outcome)")
            return
        }
        #expect(Array(rejected.keys) == [rejectID])
        #expect(rejected[rejectID]?.contains("400") == true)
        let ids = try receiver.events().map { ($0["attributes"] as? [String: Any])?["id"] as? String }
        #expect(ids == Self.events.map { $0["id"] as? String }.filter { $0 != rejectID })
    }

    @Test("binary mode percent-encodes header values per the HTTP binding")
    func percentEncoding() {
        #expect(CloudEventHTTPBinding.percentEncoded("Bestellung Müller \"100%\".xml") == "Bestellung%20M%C3%BCller%20%22100%25%22.xml")
        #expect(CloudEventHTTPBinding.percentEncoded("a/b:c~") == "a/b:c~")
    }
}
