import EventModel
import Foundation
import Synchronization

/// Decodes one input into CloudEvents on a thread of its own, handing them over in chunks
/// through a bounded ``EventHandoff``: it starts as soon as the input is hashed and runs
/// ahead of the outbox writer by at most the handoff's capacity.
///
/// The input (a descriptor the source owns) is read until ``finished()`` returns, so the
/// intake awaits that before it returns to the source, on every path.
final class DecodeJob: Sendable {
    /// Events per chunk, and chunks that may wait for the writer.
    static let chunkSize = 32
    static let capacity = 8
    private static let queue = DispatchQueue(label: "outpost.decode", attributes: .concurrent)

    let handoff = EventHandoff(capacity: DecodeJob.capacity)
    private let state = Mutex<(done: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

    /// Starts decoding `input` with `codec`.
    init(_ input: DocumentInput, codec: any DocumentCodec, limits: CodecLimits, origin: DocumentOrigin) {
        let handoff = handoff
        DecodeJob.queue.async { [self] in
            do {
                try DecodeJob.decode(input, codec: codec, limits: limits, origin: origin, into: handoff)
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

    private static func decode(
        _ input: DocumentInput, codec: any DocumentCodec, limits: CodecLimits, origin: DocumentOrigin,
        into handoff: EventHandoff
    ) throws {
        var encoder = CloudEventEncoder(origin: origin)
        try input.rewind()
        var chunk: [EncodedEvent] = []
        chunk.reserveCapacity(chunkSize)
        try codec.decode(input, limits: limits) { record in
            chunk.append(encoder.encode(record))
            if chunk.count == chunkSize {
                try handoff.put(chunk)
                chunk = []
                chunk.reserveCapacity(chunkSize)
            }
        }
        if !chunk.isEmpty { try handoff.put(chunk) }
    }
}
