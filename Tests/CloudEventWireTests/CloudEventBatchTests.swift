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
}
