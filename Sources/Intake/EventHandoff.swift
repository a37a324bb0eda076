import EventModel
import Foundation

/// A bounded hand-over of encoded events from the thread that decodes a document to the
/// outbox writer, so that parsing and SQLite inserts run on two cores at once.
///
/// The producer ``put(_:bytes:)``s chunks and ends with ``finish(throwing:)``; the consumer
/// ``take()``s them in order until `nil` (or the producer's error). The chunks waiting hold
/// at most `byteCapacity` bytes, or one chunk when a single chunk is larger, so memory stays
/// bounded whatever the size of the input or of its documents. ``cancel()`` makes a blocked
/// or later ``put(_:bytes:)`` throw, so a failed commit stops the decoder promptly.
final class EventHandoff: @unchecked Sendable {
    /// Thrown by ``put(_:bytes:)`` once the consumer has cancelled.
    struct Cancelled: Error {}

    private let condition = NSCondition()
    private let byteCapacity: Int
    // Guarded by `condition`.
    private var chunks: [(events: [EncodedEvent], bytes: Int)] = []
    private var head = 0
    private var queuedBytes = 0
    private var finished = false
    private var failure: (any Error)?
    private var cancelled = false

    init(byteCapacity: Int) {
        self.byteCapacity = byteCapacity
    }

    /// Bytes in the chunks put and not yet taken.
    var waitingBytes: Int {
        condition.lock()
        defer { condition.unlock() }
        return queuedBytes
    }

    /// Producer: adds a chunk of `bytes` bytes, waiting while it would take the chunks queued
    /// past `byteCapacity` (a chunk is always taken when none waits).
    func put(_ chunk: [EncodedEvent], bytes: Int) throws {
        condition.lock()
        defer { condition.unlock() }
        while queuedBytes > 0 && queuedBytes + bytes > byteCapacity && !cancelled { condition.wait() }
        if cancelled { throw Cancelled() }
        chunks.append((chunk, bytes))
        queuedBytes += bytes
        condition.broadcast()
    }

    /// Producer: no more chunks; `error` is what ended decoding, if anything did.
    func finish(throwing error: (any Error)?) {
        condition.lock()
        finished = true
        failure = error
        condition.broadcast()
        condition.unlock()
    }

    /// Consumer: the next chunk, `nil` after the last one; rethrows the producer's error once
    /// the chunks before it are taken.
    func take() throws -> [EncodedEvent]? {
        condition.lock()
        defer { condition.unlock() }
        while head == chunks.count && !finished { condition.wait() }
        if head < chunks.count {
            let (chunk, bytes) = chunks[head]
            chunks[head] = ([], 0)
            queuedBytes -= bytes
            head += 1
            if head == chunks.count {
                chunks.removeAll(keepingCapacity: true)
                head = 0
            }
            condition.broadcast()
            return chunk
        }
        if let failure { throw failure }
        return nil
    }

    /// Consumer: stop the producer (its next ``put(_:)`` throws ``Cancelled``).
    func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        condition.unlock()
    }
}
