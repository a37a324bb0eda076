import EventModel
import Foundation
import Synchronization

/// An ``EventSink`` that answers each call from a script and records what it saw: every
/// batch in call order, how many calls were in flight at once, and whether a partition key
/// was ever in two batches at the same time.
final class ScriptedSink: EventSink {
    /// Not the HTTP sink's measure: the forwarder must ask the sink, not assume one.
    static let size = BatchBodySize(framing: 5, perEvent: 60)
    var batchBodySize: BatchBodySize { Self.size }

    /// One `deliver` call as the sink saw it.
    struct Call: Sendable {
        /// 1-based, in the order calls arrived.
        var number: Int
        var events: [OutboundEvent]
        var startedAt: ContinuousClock.Instant
        var outcome: DeliveryOutcome?

        var sequences: [Int64] { events.map(\.sequence) }
        var ids: [String] { events.map(\.id) }
        /// The body's size by the sink's own measure, which the forwarder must fill batches by.
        var bodyBytes: Int { ScriptedSink.size.of(storedBytes: events.map(\.json.count)) }
    }

    /// What to answer to a call, and how long to take (seconds; a cancelled call returns
    /// early and answers `.retry`).
    typealias Script = @Sendable (Call) -> (outcome: DeliveryOutcome, delay: Double)

    private struct Record {
        var calls: [Call] = []
        var inFlight = 0
        var maxInFlight = 0
        var busyKeys: [String: Int] = [:]
        var keyOverlaps: [String] = []
        var shutdown = false
    }

    let description = "scripted-sink"
    private let script: Script
    private let record = Mutex(Record())

    init(_ script: @escaping Script) {
        self.script = script
    }

    /// A sink that answers every call the same way after `delay` seconds.
    convenience init(always outcome: DeliveryOutcome, delay: Double = 0) {
        self.init { _ in (outcome, delay) }
    }

    func deliver(_ batch: [OutboundEvent]) async -> DeliveryOutcome {
        let keys = Set(batch.map(\.partitionKey))
        let call = record.withLock { r -> Call in
            let call = Call(number: r.calls.count + 1, events: batch, startedAt: .now)
            r.calls.append(call)
            r.inFlight += 1
            r.maxInFlight = max(r.maxInFlight, r.inFlight)
            for key in keys {
                if r.busyKeys[key, default: 0] > 0 { r.keyOverlaps.append(key) }
                r.busyKeys[key, default: 0] += 1
            }
            return call
        }
        var (outcome, delay) = script(call)
        if delay > 0 { try? await Task.sleep(for: .milliseconds(Int(delay * 1000))) }
        // Like a real client, a cancelled call has not reached the hub.
        if Task.isCancelled { outcome = .retry(after: nil, reason: "cancelled") }
        record.withLock { r in
            r.calls[call.number - 1].outcome = outcome
            r.inFlight -= 1
            for key in keys { r.busyKeys[key, default: 0] -= 1 }
        }
        return outcome
    }

    func shutdown() async { record.withLock { $0.shutdown = true } }

    /// Every call so far, in arrival order.
    var calls: [Call] { record.withLock { $0.calls } }
    /// Calls that have answered `.delivered`, in arrival order.
    var deliveredCalls: [Call] {
        calls.filter { if case .delivered = $0.outcome { true } else { false } }
    }
    var callCount: Int { record.withLock { $0.calls.count } }
    var inFlight: Int { record.withLock { $0.inFlight } }
    var maxInFlight: Int { record.withLock { $0.maxInFlight } }
    /// Keys that arrived while another batch holding them was still in flight.
    var keyOverlaps: [String] { record.withLock { $0.keyOverlaps } }
}
