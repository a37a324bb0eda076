@testable import Intake
import EventModel
import Foundation
import Testing

/// The bound between a decoding input and the outbox writer: counted in bytes of event JSON,
/// so that an input of large documents holds a few of them in memory, not hundreds.
struct EventHandoffTests {
    static func event(_ id: Int) -> EncodedEvent {
        EncodedEvent(id: "e\(id)", type: "t", subject: "s", partitionKey: "p", json: [])
    }

    /// Runs a producer on a thread of its own (a blocked `put` must not hold a test thread).
    static func produce(_ body: @escaping @Sendable () -> Void) {
        Thread(block: body).start()
    }

    /// Waits until `condition` holds (or ~5 s pass), then reports whether it does.
    static func settles(_ condition: () -> Bool) async throws -> Bool {
        for _ in 0..<500 where !condition() { try await Task.sleep(for: .milliseconds(10)) }
        return condition()
    }

    @Test("chunks wait only while they would hold more than the byte capacity; order and bytes are kept")
    func byteBound() async throws {
        let handoff = EventHandoff(byteCapacity: 1000)
        let put = Counter()
        Self.produce {
            for index in 0..<10 {
                guard (try? handoff.put([Self.event(index)], bytes: 300)) != nil else { return }
                put.increment()
            }
            handoff.finish(throwing: nil)
        }
        // 3 × 300 fit in 1000; the fourth would not.
        #expect(try await Self.settles { put.count == 3 })
        try await Task.sleep(for: .milliseconds(200))
        #expect(put.count == 3, "a chunk was queued past the byte capacity")
        #expect(handoff.waitingBytes == 900)
        var taken: [String] = []
        if let chunk = try handoff.take() { taken += chunk.map(\.id) }
        #expect(try await Self.settles { put.count == 4 })
        while let chunk = try handoff.take() { taken += chunk.map(\.id) }
        #expect(taken == (0..<10).map { "e\($0)" })
        #expect(handoff.waitingBytes == 0)
    }

    @Test("a chunk larger than the capacity passes alone, and the next waits for it to be taken")
    func oversizedChunk() async throws {
        let handoff = EventHandoff(byteCapacity: 1000)
        try handoff.put([Self.event(0)], bytes: 5000)
        let second = Counter()
        Self.produce {
            if (try? handoff.put([Self.event(1)], bytes: 10)) != nil { second.increment() }
        }
        try await Task.sleep(for: .milliseconds(200))
        #expect(second.count == 0, "queued beside a chunk already past the capacity")
        #expect(try handoff.take()?.map(\.id) == ["e0"])
        #expect(try await Self.settles { second.count == 1 })
        #expect(try handoff.take()?.map(\.id) == ["e1"])
    }

    @Test("cancel makes a waiting producer throw")
    func cancelUnblocks() async throws {
        let handoff = EventHandoff(byteCapacity: 10)
        try handoff.put([Self.event(0)], bytes: 10)
        let thrown = Counter()
        Self.produce {
            do { try handoff.put([Self.event(1)], bytes: 10) } catch is EventHandoff.Cancelled { thrown.increment() } catch {}
        }
        try await Task.sleep(for: .milliseconds(100))
        handoff.cancel()
        #expect(try await Self.settles { thrown.count == 1 })
    }

    /// Emits `count` documents of `size` bytes each, counting them.
    struct LargeDocumentCodec: DocumentCodec {
        let format = DocumentFormat.idocFlat
        let count: Int
        let size: Int
        let emitted: Counter

        func decode(_ input: DocumentInput, limits: CodecLimits, emit: (DocumentRecord) throws -> Void) throws {
            let body = [UInt8](repeating: UInt8(ascii: "a"), count: size)
            try body.withUnsafeBytes { data in
                for ordinal in 0..<count {
                    let control = ControlRecord(mandt: "100", docnum: "\(ordinal)", idoctyp: "BIG01", mestyp: "BIG", sndprn: "SND")
                    try emit(DocumentRecord(ordinal: ordinal, control: control, contentType: "text/plain", data: data))
                    emitted.increment()
                }
            }
        }
    }

    @Test("an input of 1 MB documents decodes only a few ahead of the writer, not hundreds of megabytes")
    func largeDocumentsStayBounded() async throws {
        let emitted = Counter()
        let codec = LargeDocumentCodec(count: 6, size: 1 << 20, emitted: emitted)
        let origin = DocumentOrigin(
            agentID: "a", region: "r", sourceName: "s", fileName: "big.txt", fileSHA256: String(repeating: "0", count: 64),
            pickupTime: 0)
        let job = DecodeJob(.bytes([]), codec: codec, limits: .default, origin: origin)
        // Nothing is taken: the decoder stops once the waiting chunks are full. (The first
        // document's event, a little over 1 MiB, waits; the second would take the waiting
        // chunks past 2 MiB, so the decoder holds it until the first is taken.)
        #expect(try await Self.settles { emitted.count >= 1 })
        try await Task.sleep(for: .milliseconds(300))
        #expect(emitted.count <= 2, "\(emitted.count) documents of 1 MB decoded ahead of the writer")
        #expect(job.handoff.waitingBytes <= max(DecodeJob.waitingBytes, (1 << 20) + 4096))
        var taken = 0
        while let chunk = try job.handoff.take() { taken += chunk.count }
        await job.finished()
        #expect(taken == 6)
    }
}
