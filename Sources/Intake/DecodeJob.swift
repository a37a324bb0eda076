import EventModel
import Foundation
import Synchronization

/// Decodes one input into CloudEvents on a thread of its own, handing them over in chunks
/// through a bounded ``EventHandoff``: it starts as soon as the input is hashed and runs
/// ahead of the outbox writer by at most the handoff's capacity, counted in bytes of event
/// JSON, so that an input of large documents (IDocs of megabytes) holds a few of them, not
/// hundreds. Per input being decoded: at most ``waitingBytes`` in chunks waiting, plus the
/// chunk being built and the one being inserted (each at most ``chunkBytes`` plus one event).
///
/// A small input in memory whose events fit in the hand-off is decoded at once on the
/// caller's thread instead (``DedicatedQueue/inPlaceBytes``); one whose events do not fit is
/// decoded again on a thread of its own, so that the hand-off's bound holds whatever the codec.
///
/// The input (a descriptor the source owns) is read until ``finished()`` returns, so the
/// intake awaits that before it returns to the source, on every path.
final class DecodeJob: Sendable {
    /// A chunk is handed over at this many events or bytes, whichever comes first.
    static let chunkEvents = 32
    static let chunkBytes = 256 << 10
    /// Bytes of chunks that may wait for the writer: for events of a few kilobytes, some
    /// hundreds of them (a whole 1 MB file of 5 KB IDocs decodes ahead of its commit).
    static let waitingBytes = 2 << 20

    let handoff = EventHandoff(byteCapacity: DecodeJob.waitingBytes)
    private let state = Mutex<(done: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

    /// Whether every event is in the hand-off already and decoding succeeded (a small input
    /// decoded in place): taking them cannot throw, and nothing is read after this.
    let complete: Bool

    /// Starts decoding `input` with `codec`.
    init(_ input: DocumentInput, codec: any DocumentCodec, limits: CodecLimits, origin: DocumentOrigin) {
        if DedicatedQueue.isSmallEnoughInPlace(input),
           let succeeded = Self.decodeInPlace(input, codec: codec, limits: limits, origin: origin, into: handoff) {
            complete = succeeded
            state.withLock { $0.done = true }
            return
        }
        complete = false
        let handoff = handoff
        DedicatedQueue.run("outpost.decode") { [self] in
            do {
                try DecodeJob.decode(input, codec: codec, limits: limits, origin: origin) { try handoff.put($0, bytes: $1) }
                handoff.finish(throwing: nil)
            } catch {
                handoff.finish(throwing: error)
            }
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                state.done = true
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }
    }

    /// Stops the decoder early (its next hand-over throws).
    func cancel() { handoff.cancel() }

    /// Returns once the decoder has stopped reading the input.
    func finished() async {
        await withCheckedContinuation { continuation in
            let done = state.withLock { state -> Bool in
                if !state.done { state.waiter = continuation }
                return state.done
            }
            if done { continuation.resume() }
        }
    }

    /// Thrown by the decoding in place once its events would not fit in the hand-off.
    private struct OutgrewHandoff: Error {}

    /// Decodes `input` on this thread: its chunks all go to `handoff` (which they fit, so no
    /// hand-over waits) and the hand-off is finished, with the codec's error if it failed.
    /// Whether it succeeded; nil, leaving `handoff` untouched, when the events would take more
    /// than the hand-off holds.
    private static func decodeInPlace(
        _ input: DocumentInput, codec: any DocumentCodec, limits: CodecLimits, origin: DocumentOrigin,
        into handoff: EventHandoff
    ) -> Bool? {
        var chunks: [(events: [EncodedEvent], bytes: Int)] = []
        var total = 0
        var failure: (any Error)?
        do {
            try decode(input, codec: codec, limits: limits, origin: origin) { chunk, bytes in
                total += bytes
                guard total <= waitingBytes else { throw OutgrewHandoff() }
                chunks.append((chunk, bytes))
            }
        } catch is OutgrewHandoff {
            return nil
        } catch {
            failure = error
        }
        do {
            for chunk in chunks { try handoff.put(chunk.events, bytes: chunk.bytes) }
            handoff.finish(throwing: failure)
        } catch {
            handoff.finish(throwing: error)
            return false
        }
        return failure == nil
    }

    /// Decodes `input`, handing its events over in chunks to `put`.
    private static func decode(
        _ input: DocumentInput, codec: any DocumentCodec, limits: CodecLimits, origin: DocumentOrigin,
        put: ([EncodedEvent], Int) throws -> Void
    ) throws {
        var encoder = CloudEventEncoder(origin: origin)
        try input.rewind()
        var chunk: [EncodedEvent] = []
        var bytes = 0
        chunk.reserveCapacity(chunkEvents)
        try codec.decode(input, limits: limits) { record in
            let event = encoder.encode(record)
            bytes += event.json.count
            chunk.append(event)
            if chunk.count == chunkEvents || bytes >= chunkBytes {
                try put(chunk, bytes)
                chunk = []
                bytes = 0
                chunk.reserveCapacity(chunkEvents)
            }
        }
        if !chunk.isEmpty { try put(chunk, bytes) }
    }
}
