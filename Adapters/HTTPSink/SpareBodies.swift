import NIOCore
import Synchronization

/// The request buffers of batches whose requests are over, kept for the next batches' bodies.
///
/// A batch body of a megabyte or more is mapped afresh by the allocator (the agent has blocks
/// of 128 KiB and more unmapped when freed), and the kernel faults in and zeroes each of its
/// pages as the events are copied in: in a profile of the forwarding alone, that took more
/// of the sink's time than the copy itself (docs/BENCHMARKS.md, "HTTP sink: request buffers
/// used again"). A buffer given back here is written over by a later batch, its pages already
/// there.
///
/// Each buffer comes from a request, so no more are kept than were in flight at once, and
/// never more than `limit`: one by default. Batches whose keys are interleaved go one at a
/// time, and one spare serves them all; each spare kept is a body's worth of memory beside
/// the batches in flight, which the agent's peak would carry. ``release()`` gives them all
/// back (the agent does when it has gone quiet). A buffer the HTTP client still holds a
/// reference to is copied, not overwritten, when written: the request it went out with never
/// changes.
final class SpareBodies: Sendable {
    private let buffers = Mutex<[ByteBuffer]>([])
    let limit: Int

    init(limit: Int = 1) {
        self.limit = limit
    }

    /// Buffers kept now.
    var count: Int { buffers.withLock { $0.count } }

    /// An empty buffer with room for `capacity` bytes: the spare last given back, or a new one.
    func take(capacity: Int) -> ByteBuffer {
        guard var buffer = buffers.withLock({ $0.popLast() }) else {
            return ByteBufferAllocator().buffer(capacity: capacity)
        }
        buffer.clear()
        buffer.reserveCapacity(capacity)
        return buffer
    }

    /// Keeps `buffer` for a later ``take(capacity:)``, unless `limit` are kept already.
    func give(_ buffer: ByteBuffer) {
        buffers.withLock { buffers in
            if buffers.count < limit { buffers.append(buffer) }
        }
    }

    /// Gives back every buffer kept.
    func release() {
        let dropped = buffers.withLock { buffers in
            defer { buffers = [] }
            return buffers
        }
        _ = dropped  // freed here, outside the lock
    }
}
