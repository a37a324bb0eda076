import EventModel
import Foundation

/// A bounded hand-over of encoded events from the thread that decodes a document to the
/// outbox writer, so that parsing and SQLite inserts run on two cores at once.
///
/// The producer ``put(_:)``s chunks and ends with ``finish(throwing:)``; the consumer
/// ``take()``s them in order until `nil` (or the producer's error). At most `capacity` chunks
/// wait at a time, so memory stays bounded whatever the document's size. ``cancel()`` makes
/// a blocked or later ``put(_:)`` throw, so a failed commit stops the decoder promptly.
final class EventHandoff: @unchecked Sendable {
    /// Thrown by ``put(_:)`` once the consumer has cancelled.
    struct Cancelled: Error {}

    private let condition = NSCondition()
    private let capacity: Int
    // Guarded by `condition`.
    private var chunks: [[EncodedEvent]] = []
    private var head = 0
    private var finished = false
    private var failure: (any Error)?
    private var cancelled = false

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// Producer: adds a chunk, waiting while `capacity` chunks are queued.
    func put(_ chunk: [EncodedEvent]) throws {
        condition.lock()
        defer { condition.unlock() }
        while chunks.count - head >= capacity && !cancelled { condition.wait() }
        if cancelled { throw Cancelled() }
        chunks.append(chunk)
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
            let chunk = chunks[head]
            chunks[head] = []
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
