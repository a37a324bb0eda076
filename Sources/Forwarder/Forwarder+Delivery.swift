import EventModel
import Foundation
import Logging
import Outbox

extension Forwarder {
    /// Resolves one batch: sends it (and, after a 413 or a 4xx, its halves, in order) until
    /// every event is delivered or dead-lettered, or the task is cancelled (abandoned: the
    /// events stay pending).
    func deliver(_ batch: consuming [OutboundEvent]) async {
        let members = batch.map { ($0.sequence, $0.partitionKey) }
        var keysReleased = false
        defer { release(members, keysReleased: keysReleased) }
        var queue: [[OutboundEvent]] = [batch]
        // The sink has the whole batch: its keys' next events may go now, before the outbox
        // records this delivery (a write that may wait behind an intake commit). The events
        // stay in flight, never picked again, until it is written; a crash before that sends
        // them again, after the key's later events, as duplicates the hub absorbs.
        func releaseKeysOnceResolved() {
            guard queue.isEmpty, !keysReleased else { return }
            releaseKeys(members.map(\.1))
            keysReleased = true
        }
        var attempt = 0
        while !queue.isEmpty {
            if Task.isCancelled { return }
            let started = ContinuousClock.now
            let outcome = await sink.deliver(queue[0])
            let seconds = started.duration(to: .now) / .seconds(1)
            switch outcome {
            case .delivered(let rejected):
                state.withLock { $0.answering.add(seconds) }
                // Only sequences and ids are kept: the JSON is freed while the delivery is recorded.
                let resolved = queue.removeFirst().map(DeliveredEvent.init)
                releaseKeysOnceResolved()
                await acknowledge(resolved, rejected: rejected)
                adjustLimit(success: seconds <= settings.latencyTarget)
                state.withLock { $0.hubFailure = nil }
                resume()
                attempt = 0
            case .retry(let after, let reason):
                attempt += 1
                adjustLimit(success: false)
                state.withLock {
                    $0.retriesTotal += 1
                    $0.hubFailure = reason
                }
                metrics.retries.increment()
                let delay = Backoff.delay(
                    attempt: attempt, initial: settings.retryInitial, max: settings.retryMax, retryAfter: after)
                logger.warning("delivery.retry", metadata: [
                    "attempt": "\(attempt)", "error": "\(reason)", "outpost.events": "\(queue[0].count)",
                    "event_id": "\(queue[0][0].id)",
                    "outpost.retry_in": "\(String(format: "%.2f", delay))s",
                ])
                try? await outbox.recordFailedAttempt(queue[0].map(\.sequence), error: reason)
                try? await outbox.setState(OutboxStateKey.lastError, reason)
                if !(await sleep(delay)) { return }
            case .pause(let reason):
                attempt += 1
                let first = state.withLock { s -> Bool in
                    defer { s.pausedReason = reason }
                    return s.pausedReason == nil
                }
                if first {
                    logger.error("delivery.paused", metadata: ["error": "\(reason)"])
                    try? outbox.setStateNow(OutboxStateKey.deliveryPaused, reason)
                }
                let delay = Backoff.delay(
                    attempt: attempt, initial: max(settings.retryInitial, 1), max: min(settings.retryMax, 30), retryAfter: nil)
                if !(await sleep(delay)) { return }
            case .tooLarge, .reject:
                let reason: String
                if case .reject(let r) = outcome { reason = r } else { reason = "the hub refused the batch as too large (413)" }
                state.withLock { $0.hubFailure = nil }  // it answered
                let current = queue.removeFirst()
                if current.count == 1 {
                    let culprit = DeliveredEvent(current[0])
                    releaseKeysOnceResolved()
                    await acknowledge([], rejected: [culprit.id: reason], among: [culprit])
                    resume()
                } else {
                    let mid = current.count / 2
                    queue.insert(contentsOf: [Array(current[..<mid]), Array(current[mid...])], at: 0)
                }
                attempt = 0
            }
        }
    }

    /// Marks the batch delivered except the events named in `rejected`, which are
    /// dead-lettered. Retries the bookkeeping on a database error (the events would
    /// otherwise be sent again, which the hub absorbs, but never lost).
    private func acknowledge(_ delivered: [DeliveredEvent], rejected: [String: String], among: [DeliveredEvent]? = nil) async {
        let all = among ?? delivered
        // Nothing refused (the usual answer): no lookup of each event's id.
        let dead = rejected.isEmpty ? [] : all.compactMap { e in rejected[e.id].map { (sequence: e.sequence, reason: $0) } }
        let ok = (rejected.isEmpty ? delivered : delivered.filter { rejected[$0.id] == nil }).map(\.sequence)
        for attempt in 1...5 {
            do {
                let committedAt = try await outbox.acknowledge(delivered: ok, deadLetters: dead)
                state.withLock {
                    $0.deliveredTotal += ok.count
                    $0.deadLetteredTotal += dead.count
                }
                recordDelivery(committedAt: committedAt, deadLetters: dead.count)
                if !ok.isEmpty {
                    logger.info("delivery.batch_delivered", metadata: [
                        "outpost.events": "\(ok.count)", "event_id": "\(delivered[0].id)",
                        "outpost.last_event_id": "\(delivered[delivered.count - 1].id)",
                    ])
                }
                let ids = dead.isEmpty ? [:] : Dictionary(all.map { ($0.sequence, $0.id) }, uniquingKeysWith: { first, _ in first })
                for d in dead {
                    logger.error("delivery.dead_letter", metadata: [
                        "outpost.sequence": "\(d.sequence)", "event_id": "\(ids[d.sequence] ?? "")", "error": "\(d.reason)",
                    ])
                }
                return
            } catch {
                logger.error("delivery.ack_failed", metadata: ["attempt": "\(attempt)", "error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(attempt * 200))
            }
        }
    }

    /// Counts delivered events and their latency (commit, which is pickup, → hub ack).
    private func recordDelivery(committedAt: [Double], deadLetters: Int) {
        let now = Date().timeIntervalSince1970
        if !committedAt.isEmpty { metrics.delivered.increment(by: committedAt.count) }
        if deadLetters > 0 { metrics.deadLetters.increment(by: deadLetters) }
        for createdAt in committedAt {
            metrics.latency.recordNanoseconds(Int64(max(0, now - createdAt) * 1e9))
        }
    }

    private func resume() {
        let wasPaused = state.withLock { s -> Bool in
            defer { s.pausedReason = nil }
            return s.pausedReason != nil
        }
        if wasPaused {
            logger.notice("delivery.resumed")
            try? outbox.setStateNow(OutboxStateKey.deliveryPaused, nil)
        }
    }

    /// Additive increase while the hub keeps up, multiplicative decrease when it does not.
    private func adjustLimit(success: Bool) {
        state.withLock { s in
            let ceiling = Double(settings.maxConcurrency)
            if success {
                s.limit = min(ceiling, s.limit + 1 / max(1, s.limit))
            } else {
                s.limit = max(1, s.limit / 2)
            }
        }
    }

    /// Sleeps `seconds` unless cancelled or shutting down; returns whether the batch should
    /// go on. A batch waiting for a retry during shutdown gives up at once: its events stay
    /// pending in the outbox, and draining could only wait for the drain timeout.
    /// It wakes at least every 250 ms to look, and never earlier than `seconds` in all (a
    /// `Retry-After` is waited out in full).
    private func sleep(_ seconds: Double) async -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(seconds)
        while clock.now < deadline {
            if Task.isCancelled { return false }
            if state.withLock({ $0.abandon || $0.shuttingDown }) { return false }
            try? await Task.sleep(for: min(deadline - clock.now, .milliseconds(250)))
        }
        return !Task.isCancelled
    }
}

/// Full-jitter exponential backoff.
public enum Backoff {
    /// A delay in `[0, min(max, initial·2^(attempt-1))]`, or what the hub asked for
    /// (`Retry-After`, capped at `max`) when that is longer.
    public static func delay(attempt: Int, initial: Double, max maximum: Double, retryAfter: Double?) -> Double {
        let exponent = Double(min(attempt - 1, 30))
        let cap = min(maximum, initial * pow(2, exponent))
        let jittered = Double.random(in: 0...Swift.max(cap, 0.001))
        if let retryAfter { return min(maximum, Swift.max(retryAfter, jittered)) }
        return jittered
    }
}

/// What recording a delivery needs of an event: not its JSON.
struct DeliveredEvent: Sendable {
    var sequence: Int64
    var id: String

    init(_ event: OutboundEvent) {
        sequence = event.sequence
        id = event.id
    }
}
