import CloudEventWire
import EventModel
import Foundation
import Testing

@Suite struct CloudEventBatchTests {
    static func event(_ id: String, sequence: Int64, data: String) -> OutboundEvent {
        let json = #"{"specversion":"1.0","id":"\#(id)","source":"outpost://plant-1/drop","type":"sap.idoc.ORDERS","data":"\#(data)"}"#
        return OutboundEvent(sequence: sequence, id: id, partitionKey: "k", json: Array(json.utf8))
    }

    @Test func theBodyIsAJSONArrayWithTheSequenceSplicedIntoEachObject() throws {
        let events = [Self.event("a", sequence: 42, data: "<ORDERS05/>"), Self.event("b", sequence: 7, data: "x")]
        let body = CloudEventBatch.body(events)
        let array = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [[String: Any]])
        #expect(array.count == 2)
        #expect(array[0]["sequence"] as? String == "00000000000000000042")
        #expect(array[0]["id"] as? String == "a")
        #expect(array[0]["data"] as? String == "<ORDERS05/>")
        #expect(array[1]["sequence"] as? String == "00000000000000000007")
        #expect(array[1]["id"] as? String == "b")
        #expect(String(decoding: body.prefix(36), as: UTF8.self) == #"[{"sequence":"00000000000000000042","#)
    }

    @Test(arguments: [0, 1, 2, 17])
    func theSizeTheForwarderFillsBatchesByIsTheBodysSize(count: Int) {
        let events = (0..<count).map { Self.event("e\($0)", sequence: Int64($0 * 1_000), data: String(repeating: "d", count: $0 * 13)) }
        let body = CloudEventBatch.body(events)
        #expect(body.count == CloudEventBatch.bodySize(events))
        if count > 0 {
            #expect(body.count == CloudEventBatch.size.of(storedBytes: events.map(\.json.count)))
        } else {
            #expect(body == Array("[]".utf8))
        }
    }

    /// The body written in place (what the HTTP sink sends) against the same events appended
    /// one by one (what the structured mode and the AMQP sink send), byte for byte.
    @Test func theBodyWrittenInPlaceEqualsTheEventsAppendedOneByOne() {
        let sequences: [Int64] = [0, 7, 42, 1_000_000, 99_999_999_999_999_999, Int64.max]
        let events = sequences.enumerated().map { i, sequence in
            Self.event("e\(i)", sequence: sequence, data: String(repeating: "Grüße €", count: i * 7))
        }
        for count in 0...events.count {
            let batch = Array(events.prefix(count))
            var reference: [UInt8] = [UInt8(ascii: "[")]
            for (i, e) in batch.enumerated() {
                if i > 0 { reference.append(UInt8(ascii: ",")) }
                CloudEventBatch.appendEvent(e, to: &reference)
            }
            reference.append(UInt8(ascii: "]"))
            #expect(CloudEventBatch.body(batch) == reference, "\(count) events")
            // Both share the sequence prefix: checked here on its own, through a JSON parser.
            let parsed = (try? JSONSerialization.jsonObject(with: Data(reference))) as? [[String: Any]]
            let padded = batch.map { e -> String in
                let digits = String(e.sequence)
                return String(repeating: "0", count: 20 - digits.count) + digits
            }
            #expect(parsed?.compactMap { $0["sequence"] as? String } == padded)
            // Into a larger buffer: the bytes written and no more.
            var large = [UInt8](repeating: 0xEE, count: reference.count + 16)
            let written = large.withUnsafeMutableBytes { CloudEventBatch.write(batch, into: $0) }
            #expect(written == reference.count)
            #expect(Array(large[..<written]) == reference)
            #expect(large[written...].allSatisfy { $0 == 0xEE })
        }
    }
}
