import NIOCore
import Testing

@testable import HTTPSink

/// The request buffers the HTTP sink keeps between batches.
@Suite("Spare request bodies")
struct SpareBodiesTests {
    /// The address of the storage behind `buffer`.
    private func storage(_ buffer: ByteBuffer) -> UnsafeRawPointer? {
        buffer.withVeryUnsafeBytes { UnsafeRawPointer($0.baseAddress) }
    }

    @Test("a buffer given back is taken again, empty, with its storage and room for the next body")
    func takenAgain() {
        let spares = SpareBodies()
        var body = spares.take(capacity: 1 << 20)
        body.writeBytes(Array(repeating: UInt8(ascii: "x"), count: 1 << 20))
        let first = storage(body)
        spares.give(body)
        body = ByteBuffer()  // the sink's reference is gone once the request is over
        #expect(spares.count == 1)
        let again = spares.take(capacity: 1_000)
        #expect(spares.count == 0)
        #expect(again.readableBytes == 0, "no byte of the body before")
        #expect(again.capacity >= 1 << 20)
        #expect(storage(again) == first, "the same pages, written over")
    }

    @Test("a spare smaller than the next body grows to hold it")
    func grows() {
        let spares = SpareBodies()
        spares.give(spares.take(capacity: 100))
        var body = spares.take(capacity: 100_000)
        #expect(body.capacity >= 100_000)
        body.writeBytes(Array(repeating: UInt8(ascii: "y"), count: 100_000))
        #expect(body.readableBytes == 100_000)
    }

    @Test("no more than the limit are kept, and a release gives every one back")
    func limitAndRelease() {
        let spares = SpareBodies(limit: 2)
        for _ in 0..<3 { spares.give(ByteBufferAllocator().buffer(capacity: 4_096)) }
        #expect(spares.count == 2)
        spares.release()
        #expect(spares.count == 0)
        #expect(spares.take(capacity: 10).readableBytes == 0, "a new buffer once none is kept")
    }

    @Test("a spare the HTTP client still holds is copied when written, never changed under it")
    func heldElsewhereIsCopied() {
        let spares = SpareBodies()
        var sent = spares.take(capacity: 64)
        sent.writeString("the body of the first batch")
        let held = sent  // the client's reference, still alive
        spares.give(sent)
        var next = spares.take(capacity: 64)
        next.writeString("the next body, written over the spare")
        #expect(held.getString(at: held.readerIndex, length: held.readableBytes) == "the body of the first batch")
        #expect(next.getString(at: next.readerIndex, length: next.readableBytes) == "the next body, written over the spare")
    }
}
