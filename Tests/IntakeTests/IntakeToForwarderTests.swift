import CloudEventWire
import Intake
import EventModel
import Forwarder
import Foundation
import Glibc
import Outbox
import Synchronization
import Testing

@Suite("Intake to forwarder")
struct IntakeToForwarderTests {
    @Test("a committed file wakes the forwarder; the sink gets its events as a valid batch body with sequences")
    func commitWakesForwarder() async throws {
        let fixture = try AgentFixture()
        defer { fixture.removeAll() }
        let sink = BodyRecordingSink()
        var settings = ForwarderSettings()
        settings.idlePoll = 600  // only onCommit's notify can wake it
        let forwarder = Forwarder(outbox: fixture.outbox, sink: sink, settings: settings, logger: quietLogger)
        let intake = OutboxIntake(
            outbox: fixture.outbox, codecs: [.idocFlat: LineCodec()], agentID: "agent-1", region: "emea", gate: nil,
            logger: quietLogger, onCommit: { forwarder.notify() })
        let run = Task { await forwarder.run() }

        let content = Array("D1\n\"quoted\"\\n\nD3\n".utf8)
        let path = try fixture.writeFile("in.txt", content)
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        _ = try await intake.submit(IncomingDocument(
            sourceName: "drop", fileName: "in.txt", input: .fileDescriptor(fd), size: Int64(content.count), format: .idocFlat))

        #expect(await eventually { sink.bodies.count == 1 })
        forwarder.beginShutdown()
        await run.value

        let body = try #require(sink.bodies.first)
        let batch = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [[String: Any]])
        #expect(batch.map { $0["docnum"] as? String } == ["D1", "\"quoted\"\\n", "D3"])
        let sequences = try batch.map { try #require($0["sequence"] as? String) }
        #expect(sequences.allSatisfy { $0.count == 20 && $0.allSatisfy(\.isNumber) })
        #expect(sequences == sequences.sorted())
        #expect(try await fixture.outbox.status().pendingEvents == 0)
    }
}

/// Keeps the request body a hub would receive for each batch, and accepts it.
private final class BodyRecordingSink: EventSink {
    let description = "body-recording-sink"
    let batchBodySize = CloudEventBatch.size
    private let recorded = Mutex<[[UInt8]]>([])

    var bodies: [[UInt8]] { recorded.withLock { $0 } }

    func deliver(_ batch: [OutboundEvent]) async -> DeliveryOutcome {
        let body = CloudEventBatch.body(batch)
        recorded.withLock { $0.append(body) }
        return .delivered(rejected: [:])
    }

    func shutdown() async {}
}
