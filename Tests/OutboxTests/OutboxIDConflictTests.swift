import EventModel
import Foundation
import GRDB
import Outbox
import Testing

/// An id the outbox already holds, offered again: the same document (same data, whatever
/// else differs) is dropped; another document under that id is kept as a dead letter.
@Suite("Outbox id conflicts")
struct OutboxIDConflictTests {
    /// An event as the encoder writes it: members around `data` differ between reads.
    func document(_ id: String, data: String, time: String) -> EncodedEvent {
        let json = """
            {"specversion":"1.0","id":"\(id)","source":"outpost://a/s","type":"sap.idoc.ORDERS","subject":"1",\
            "time":"\(time)","datacontenttype":"application/xml","data":"\(data)","partitionkey":"idoc:SND:100",\
            "agentid":"a","filename":"PO.xml"}
            """
        return EncodedEvent(
            id: id, type: "sap.idoc.ORDERS", subject: "1", partitionKey: "idoc:SND:100", json: Array(json.utf8))
    }

    @Test("same id and data is a duplicate; same id and other data is kept as a dead letter id_conflict, once")
    func conflictKept() async throws {
        let fixture = try OutboxFixture()
        defer { fixture.removeAll() }
        let id = "idoc:SND:100:0000000000000001"
        #expect(try await fixture.appendChunk([document(id, data: "<ORDERS05>old</ORDERS05>", time: "t1")]) == 1)

        // Read again (other pickup time): the same document, dropped as before.
        let again = try await fixture.outbox.commit { tx in
            try tx.append(contentsOf: [self.document(id, data: "<ORDERS05>old</ORDERS05>", time: "t2")], source: "src", fileName: "f")
            return (tx.inserted, tx.conflictingIDs)
        }
        #expect(again.0 == 0)
        #expect(again.1.isEmpty)
        #expect(try await fixture.outbox.deadLetters().isEmpty)

        // The number reused for another document (after an SAP system refresh).
        let reused = document(id, data: "<ORDERS05>new</ORDERS05>", time: "t3")
        for round in 0..<2 {
            let counts = try await fixture.outbox.commit { tx in
                try tx.append(contentsOf: [reused], source: "src", fileName: "PO.xml")
                return (tx.inserted, tx.conflictingIDs)
            }
            #expect(counts.0 == 0)
            #expect(counts.1 == (round == 0 ? [id] : []), "the same conflicting version is kept once")
        }
        let dead = try await fixture.outbox.deadLetters()
        try #require(dead.count == 1)
        #expect(dead[0].id.hasPrefix(id + "~conflict-"))
        #expect(dead[0].reason.hasPrefix("id_conflict"))
        #expect(dead[0].fileName == "PO.xml")
        let shown = try #require(try await fixture.outbox.deadLetter(id: dead[0].id))
        let stored = try #require(shown.json)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(stored)) as? [String: Any])
        #expect(json["id"] as? String == dead[0].id, "a replay reaches the hub under the conflict's own id")
        #expect(json["data"] as? String == "<ORDERS05>new</ORDERS05>")
        #expect(try await fixture.pendingSequences().count == 1, "the first version is still the pending one")
        let status = try await fixture.outbox.status()
        #expect(status.deadLetters == 1)
        #expect(status.idConflicts == 1)

        #expect(try await fixture.outbox.replayDeadLetters(ids: [dead[0].id]) == 1)
        let pending = try await fixture.outbox.outboundEvents(fixture.pendingSequences())
        #expect(pending.map(\.id) == [id, dead[0].id])
    }

    @Test("a conflict within one chunk (the same id twice, other data) is kept too")
    func conflictWithinChunk() async throws {
        let fixture = try OutboxFixture()
        defer { fixture.removeAll() }
        let conflicts = try await fixture.outbox.commit { tx in
            try tx.append(
                contentsOf: [self.document("a", data: "one", time: "t"), self.document("a", data: "two", time: "t")],
                source: "src", fileName: "f")
            return tx.conflictingIDs
        }
        #expect(conflicts == ["a"])
        #expect(try await fixture.outbox.deadLetters().count == 1)
    }
}
