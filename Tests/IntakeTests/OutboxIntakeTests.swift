import Intake
import EventModel
import Foundation
import Outbox
import Testing

@Suite("OutboxIntake")
struct OutboxIntakeTests {
    @Test("a file submitted by descriptor is committed: its events and receipt are in the outbox")
    func commitFile() async throws {
        let fixture = try AgentFixture()
        defer { fixture.removeAll() }
        let content = Array("A1\nA2\nA3\n".utf8)
        let path = try fixture.writeFile("orders.txt", content)
        let sha = try systemSHA256(content)

        let result = try await fixture.submitFile(path)

        #expect(result == .committed(events: 3, inserted: 3, sha256: sha))
        #expect(fixture.commits.count == 1, "onCommit wakes the forwarder")
        let events = try await fixture.pendingEvents()
        #expect(events.map { $0["id"] as? String } == ["idoc:SND:100:A1", "idoc:SND:100:A2", "idoc:SND:100:A3"])
        #expect(events.map { $0["data"] as? String } == ["A1", "A2", "A3"])
        let first = try #require(events.first)
        #expect(first["type"] as? String == "sap.idoc.LINE")
        #expect(first["source"] as? String == "outpost://agent-1/drop")
        #expect(first["agentid"] as? String == "agent-1")
        #expect(first["region"] as? String == "emea")
        #expect(first["filename"] as? String == "orders.txt")
        #expect(first["filesha256"] as? String == sha)
        #expect(first["partitionkey"] as? String == "idoc:SND:100")

        let receipt = try #require(try await fixture.outbox.receipt(source: "drop", sha256: sha))
        #expect(receipt.outcome == .committed)
        #expect(receipt.events == 3)
        #expect(receipt.size == Int64(content.count))
        #expect(receipt.fileName == "orders.txt")
    }

    @Test("the same content submitted again is .alreadyCommitted and adds nothing")
    func sameFileAgain() async throws {
        let fixture = try AgentFixture()
        defer { fixture.removeAll() }
        let content = Array("A1\nA2\n".utf8)
        let path = try fixture.writeFile("a.txt", content)
        _ = try await fixture.submitFile(path)
        let copy = try fixture.writeFile("a-copy.txt", content)

        #expect(try await fixture.submitFile(path) == .alreadyCommitted(sha256: try systemSHA256(content)))
        #expect(try await fixture.submitFile(copy) == .alreadyCommitted(sha256: try systemSHA256(content)))
        #expect(try await fixture.pendingEvents().count == 2)
        #expect(fixture.commits.count == 1)

        // Another source has its own receipts; the events themselves are deduplicated by id.
        let other = try await fixture.submitFile(path, source: "other")
        #expect(other == .committed(events: 2, inserted: 0, sha256: try systemSHA256(content)))
        #expect(try await fixture.pendingEvents().count == 2)
    }

    @Test("an input without a receipt (a queue message) is recognised by its events' ids, whatever its name")
    func messageRecognisedByItsEvents() async throws {
        let fixture = try AgentFixture()
        defer { fixture.removeAll() }
        let content = Array("M1\nM2\n".utf8)
        let sha = try systemSHA256(content)
        func message(_ name: String, _ bytes: [UInt8] = content) -> IncomingDocument {
            IncomingDocument(
                sourceName: "queue", fileName: name, input: .bytes(bytes), size: Int64(bytes.count), format: .idocFlat,
                keepsReceipt: false)
        }

        #expect(try await fixture.intake.submit(message("msg-1")) == .committed(events: 2, inserted: 2, sha256: sha))
        #expect(try await fixture.outbox.receipt(source: "queue", sha256: sha) == nil, "no receipt per message")

        // Delivered again, under its id or under another name (a message without an id is
        // named by its delivery tag): the same events, kept out by their ids, and no id conflict.
        #expect(try await fixture.intake.submit(message("msg-1")) == .committed(events: 2, inserted: 0, sha256: sha))
        #expect(try await fixture.intake.submit(message("amqp-7")) == .committed(events: 2, inserted: 0, sha256: sha))
        #expect(try await fixture.pendingEvents().map { $0["filename"] as? String } == ["msg-1", "msg-1"])
        #expect(try await fixture.outbox.deadLetters().isEmpty)
        #expect(try await fixture.outbox.receipt(source: "queue", sha256: sha) == nil)

        // One that overlaps adds only its new event.
        let overlap = Array("M2\nM3\n".utf8)
        #expect(try await fixture.intake.submit(message("msg-2", overlap))
            == .committed(events: 2, inserted: 1, sha256: try systemSHA256(overlap)))
        #expect(try await fixture.pendingEvents().map { $0["docnum"] as? String } == ["M1", "M2", "M3"])

        // A rejected message still leaves its (rejected) receipt.
        let bad = Array("BAD\n".utf8)
        guard case .rejected = try await fixture.intake.submit(message("msg-3", bad)) else {
            Issue.record("a BAD line is rejected")
            return
        }
        #expect(try await fixture.outbox.receipt(source: "queue", sha256: try systemSHA256(bad))?.outcome == .rejected)

        // A file (the default) keeps its receipt as before.
        let file = try fixture.writeFile("m.txt", content)
        #expect(try await fixture.submitFile(file, source: "queue") == .committed(events: 2, inserted: 0, sha256: sha))
        #expect(try await fixture.outbox.receipt(source: "queue", sha256: sha)?.outcome == .committed)
        #expect(try await fixture.submitFile(file, source: "queue") == .alreadyCommitted(sha256: sha))
    }

    @Test("a file whose content overlaps an earlier one commits only the new events")
    func overlappingContent() async throws {
        let fixture = try AgentFixture()
        defer { fixture.removeAll() }
        _ = try await fixture.submitFile(try fixture.writeFile("a.txt", Array("A1\nA2\n".utf8)))
        let content = Array("A2\nA3\n".utf8)
        let result = try await fixture.submitFile(try fixture.writeFile("b.txt", content))
        #expect(result == .committed(events: 2, inserted: 1, sha256: try systemSHA256(content)))
        #expect(try await fixture.pendingEvents().map { $0["docnum"] as? String } == ["A1", "A2", "A3"])
    }

    @Test("a rejected file commits one rejection event and none of its good documents")
    func rejectedFile() async throws {
        let fixture = try AgentFixture()
        defer { fixture.removeAll() }
        let content = Array("G1\nBAD\nG2\n".utf8)
        let path = try fixture.writeFile("broken.txt", content)
        let sha = try systemSHA256(content)

        let result = try await fixture.submitFile(path)

        #expect(result == .rejected(DocumentRejection(.malformedFlat, "line 2 is BAD"), sha256: sha))
        let events = try await fixture.pendingEvents()
        try #require(events.count == 1)
        let rejection = events[0]
        #expect(rejection["type"] as? String == "outpost.document.rejected")
        #expect(rejection["id"] as? String == "rejected:drop:\(sha)")
        #expect(rejection["reason"] as? String == "malformed_flat")
        let data = try #require(rejection["data"] as? [String: Any])
        #expect(data["detail"] as? String == "line 2 is BAD")
        #expect(data["filename"] as? String == "broken.txt")
        #expect(data["size"] as? Int == content.count)
        #expect(try await fixture.outbox.receipt(source: "drop", sha256: sha)?.outcome == .rejected)
        #expect(fixture.commits.count == 1)

        // Submitting it again rejects it again without a second event.
        #expect(try await fixture.submitFile(path) == result)
        #expect(try await fixture.pendingEvents().count == 1)
    }

    @Test("an input of unknown format is rejected with the first bytes named")
    func unknownFormat() async throws {
        let fixture = try AgentFixture()
        defer { fixture.removeAll() }
        let path = try fixture.writeFile("mystery.bin", Array("hello world".utf8))
        guard case .rejected(let rejection, _) = try await fixture.submitFile(path, format: nil) else {
            Issue.record("expected a rejection")
            return
        }
        #expect(rejection.code == .unknownFormat)
        #expect(rejection.detail.contains("hello world"))

        let xml = try fixture.writeFile("doc.xml", Array("<ORDERS05/>".utf8))
        guard case .rejected(let noCodec, _) = try await fixture.submitFile(xml, format: nil) else {
            Issue.record("expected a rejection: this agent has no XML codec")
            return
        }
        #expect(noCodec.code == .unknownFormat)
        #expect(noCodec.detail.contains("idoc-xml"))
    }

    @Test("auto-detection hands a flat IDoc to the flat codec")
    func autoDetect() async throws {
        let fixture = try AgentFixture()
        defer { fixture.removeAll() }
        let path = try fixture.writeFile("flat.txt", Array("EDI_DC40 1\nEDI_DC40 2\n".utf8))
        guard case .committed(let events, _, _) = try await fixture.submitFile(path, format: nil) else {
            Issue.record("expected a commit")
            return
        }
        #expect(events == 2)
    }

    @Test("reject(...) commits a rejection event for an input that was never read")
    func rejectUnread() async throws {
        let fixture = try AgentFixture()
        defer { fixture.removeAll() }
        try await fixture.intake.reject(
            sourceName: "drop", fileName: "huge.xml", size: 1 << 30, fingerprint: "huge.xml:1073741824:1700000000",
            rejection: DocumentRejection(.fileTooLarge, "1 GiB above max_file_size 256 MiB"),
            quarantinedAs: "/srv/error/huge.xml")

        let events = try await fixture.pendingEvents()
        try #require(events.count == 1)
        #expect(events[0]["id"] as? String == "rejected:drop:huge.xml:1073741824:1700000000")
        #expect(events[0]["type"] as? String == "outpost.document.rejected")
        #expect(events[0]["reason"] as? String == "file_too_large")
        let data = try #require(events[0]["data"] as? [String: Any])
        #expect(data["quarantined_as"] as? String == "/srv/error/huge.xml")
        #expect(data["size"] as? Int == 1 << 30)
        #expect(fixture.commits.count == 1)

        // The same refusal again is the same event.
        try await fixture.intake.reject(
            sourceName: "drop", fileName: "huge.xml", size: 1 << 30, fingerprint: "huge.xml:1073741824:1700000000",
            rejection: DocumentRejection(.fileTooLarge, "1 GiB above max_file_size 256 MiB"), quarantinedAs: nil)
        #expect(try await fixture.pendingEvents().count == 1)
    }

    @Test("raw format: the whole input is one event with data_base64", arguments: [false, true])
    func rawEvent(byDescriptor: Bool) async throws {
        let fixture = try AgentFixture()
        defer { fixture.removeAll() }
        let content: [UInt8] = [0x00, 0x01, 0x02, 0xFF, 0x22, 0x5C]
        let result: IntakeResult
        if byDescriptor {
            result = try await fixture.submitFile(try fixture.writeFile("blob.bin", content), format: .raw)
        } else {
            result = try await fixture.intake.submit(IncomingDocument(
                sourceName: "queue", fileName: "msg-1", input: .bytes(content), size: Int64(content.count), format: .raw))
        }
        let sha = try systemSHA256(content)
        #expect(result == .committed(events: 1, inserted: 1, sha256: sha))

        let events = try await fixture.pendingEvents()
        try #require(events.count == 1)
        #expect(events[0]["data_base64"] as? String == Data(content).base64EncodedString())
        #expect(events[0]["data"] == nil)
        #expect(events[0]["datacontenttype"] as? String == "application/octet-stream")
        #expect(events[0]["id"] as? String == "doc:\(sha):0")
        #expect(events[0]["type"] as? String == "outpost.document.raw")
    }

    @Test("raw format refuses an input above the document size limit", arguments: [false, true])
    func rawTooLarge(byDescriptor: Bool) async throws {
        let fixture = try AgentFixture(limits: CodecLimits(maxDocumentBytes: 1000))
        defer { fixture.removeAll() }
        let content = [UInt8](repeating: 0x41, count: 5000)
        let result: IntakeResult
        if byDescriptor {
            result = try await fixture.submitFile(try fixture.writeFile("big.bin", content), format: .raw)
        } else {
            result = try await fixture.intake.submit(IncomingDocument(
                sourceName: "queue", fileName: "msg-1", input: .bytes(content), size: Int64(content.count), format: .raw))
        }
        guard case .rejected(let rejection, _) = result else {
            Issue.record("expected a rejection, got \(result)")
            return
        }
        #expect(rejection.code == .documentTooLarge)
        #expect(try await fixture.pendingEvents().map { $0["type"] as? String } == ["outpost.document.rejected"])
    }
}
