import EventModel
import Foundation
import Logging
import Outbox
import Synchronization

/// Moves events from the outbox to a sink: outbox → forwarder → sink → outbox ack.
///
/// - Events of one `partitionkey` are never in two batches at once, and a batch keeps its
///   keys until the sink has resolved it (delivered, dead-lettered or abandoned), so each
///   key's events reach the sink in outbox order, across retries and splits. The keys are
///   free as soon as the sink has the batch; its events stay in flight (never picked twice)
///   until the outbox has recorded the delivery.
/// - Batches of different keys run in parallel, up to a limit that grows additively while
///   the hub answers fast and halves on retries and slow answers (AIMD), never above
///   `maxConcurrency`.
/// - A retried batch keeps its slot while it waits, so work in flight plus waiting retries
///   never exceeds `maxConcurrency` batches: no retry storm, bounded memory.
public final class Forwarder: Sendable {
    let outbox: Outbox
    let sink: any EventSink
    let settings: ForwarderSettings
    let logger: Logger
    let metrics: ForwarderMetrics
    let state: Mutex<DispatchState>
    private let wakeStream: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation
    private let onNotify: @Sendable () -> Void

    /// - Parameter onNotify: called with each ``notify()`` too (the agent's idle memory
    ///   release learns of new work this way).
    public init(
        outbox: Outbox, sink: any EventSink, settings: ForwarderSettings, logger: Logger,
        metrics: ForwarderMetrics = ForwarderMetrics(), onNotify: @escaping @Sendable () -> Void = {}
    ) {
        self.onNotify = onNotify
        self.outbox = outbox
        self.sink = sink
        self.settings = settings
        self.logger = logger
        self.metrics = metrics
        self.state = Mutex(DispatchState(limit: Double(min(4, settings.maxConcurrency))))
        (wakeStream, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Tells the forwarder there is new work (new events committed, dead letters replayed).
    public func notify() {
        state.withLock { $0.quiet = nil }
        wake.yield()
        onNotify()
    }

    /// Whether the last read of the whole outbox found nothing pending, with no batch in flight,
    /// and nothing was committed since (no ``notify()``).
    public var foundEmpty: Bool {
        state.withLock { $0.quiet != nil }
    }

    /// A snapshot for status and tests.
    public var snapshot: ForwarderSnapshot {
        state.withLock {
            ForwarderSnapshot(
                inFlightBatches: $0.activeBatches, inFlightEvents: $0.inFlight.count,
                concurrencyLimit: Int($0.limit.rounded(.down)), paused: $0.pausedReason,
                delivered: $0.deliveredTotal, deadLettered: $0.deadLetteredTotal, retries: $0.retriesTotal,
                lastLoopAt: $0.lastLoopAt, hubFailure: $0.hubFailure, windowReads: $0.windowReads,
                windowRows: $0.windowRows, keySharingBatches: $0.keySharingBatches)
        }
    }

    /// Asks the forwarder to stop: no new batches start; in-flight ones get
    /// `drainTimeout` seconds, then are abandoned. ``run()`` returns after that.
    public func beginShutdown() {
        state.withLock { $0.shuttingDown = true }
        wake.yield()
    }

    /// Runs until ``beginShutdown()`` (then drains) or until the task is cancelled.
    public func run() async {
        let dispatcher = Task { await self.dispatchLoop() }
        await withTaskCancellationHandler {
            await dispatcher.value
        } onCancel: {
            dispatcher.cancel()
        }
    }

    private func dispatchLoop() async {
        let ticker = Task { [wake, settings] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(Int(settings.idlePoll * 1000)))
                wake.yield()
            }
        }
        defer { ticker.cancel() }
        await withDiscardingTaskGroup { group in
            var drainTimer: Task<Void, Never>?
            for await _ in wakeStream {
                if Task.isCancelled { break }
                let now = Date().timeIntervalSince1970
                state.withLock { $0.lastLoopAt = now }
                if state.withLock({ $0.shuttingDown }) {
                    let active = state.withLock { $0.activeBatches }
                    if active == 0 { break }
                    if drainTimer == nil {
                        logger.info("forwarder.draining", metadata: ["outpost.batches": "\(active)"])
                        let deadline = settings.drainTimeout
                        drainTimer = Task { [self] in
                            try? await Task.sleep(for: .milliseconds(Int(deadline * 1000)))
                            state.withLock { $0.abandon = true }
                        }
                    }
                    if state.withLock({ $0.abandon }) {
                        logger.warning("forwarder.abandoned", metadata: ["outpost.batches": "\(active)"])
                        group.cancelAll()
                        break
                    }
                    continue
                }
                while let batch = await nextBatch() {
                    let handoff = BatchHandoff(batch)
                    group.addTask { await self.deliver(handoff.take()) }
                }
            }
            drainTimer?.cancel()
        }
    }

    /// Picks the next batch: the oldest pending events whose keys are free, within the
    /// batch limits. Returns nil when the concurrency limit is reached, delivery is paused,
    /// or nothing is ready.
    func nextBatch() async -> [OutboundEvent]? {
        let windowSize = (settings.maxConcurrency + 1) * settings.batchMaxEvents
        for _ in 0..<3 {
            let now = ContinuousClock.now
            // The outbox's files before the read: what a read that finds the outbox empty
            // stands for (a quiet agent's idle polls then leave SQLite alone).
            let stamp = outbox.fileStamp()
            let (ready, epoch, pickEpoch, rewake, read) = state.withLock { s in
                guard !s.shuttingDown, s.pausedReason == nil, Double(s.activeBatches) < s.limit.rounded(.down) else {
                    return (false, s.releaseEpoch, s.pickEpoch, false, WindowRead.none)
                }
                guard !s.quietStands(stamp: stamp, at: now, for: .milliseconds(Int(settings.quietRead * 1000))) else {
                    return (false, s.releaseEpoch, s.pickEpoch, false, WindowRead.none)
                }
                if s.quiet != nil {
                    // The outbox changed (or may have) since it was found empty: read all of it,
                    // not only what is numbered above the last read (a replayed dead letter
                    // keeps its number).
                    s.quiet = nil
                    s.wholeRead = nil
                }
                guard !s.fruitlessReadIsFresh(at: now) else {
                    defer { s.rewakeScheduled = true }
                    return (false, s.releaseEpoch, s.pickEpoch, !s.rewakeScheduled, WindowRead.none)
                }
                s.recordedDuringRead.removeAll(keepingCapacity: true)
                s.reading = true
                return (true, s.releaseEpoch, s.pickEpoch, false, s.nextWindowRead(limit: windowSize, at: now))
            }
            if rewake {
                // Look again once the fruitless read has gone stale, whatever wakes us meanwhile.
                Task { [self] in
                    try? await Task.sleep(for: DispatchState.fruitlessReadValidity)
                    state.withLock { $0.rewakeScheduled = false }
                    wake.yield()
                }
            }
            guard ready else { return nil }
            let rows: [PendingEvent]
            state.withLock { $0.windowReads += 1 }
            do {
                switch read {
                case .whole: rows = try await outbox.pendingWindow(limit: windowSize)
                case .after(let sequence, let limit): rows = try await outbox.pendingWindow(after: sequence, limit: limit)
                case .none: rows = []
                }
            } catch {
                state.withLock { $0.reading = false }
                logger.error("forwarder.outbox_read_failed", metadata: ["error": "\(error)"])
                return nil
            }
            let body = sink.batchBodySize
            let picked = state.withLock { (s: inout DispatchState) -> [PendingEvent]? in
                s.reading = false
                s.windowRows += rows.count
                // Events came back from flight since the read: read again, in order.
                guard s.pickEpoch == pickEpoch else { return nil }
                s.learn(rows, from: read, limit: windowSize, pickEpoch: pickEpoch, at: now)
                s.quiet = nil
                if case .whole = read, rows.isEmpty, s.inFlight.isEmpty, s.activeBatches == 0 {
                    s.quiet = (stamp, now)
                }
                var picked: [PendingEvent] = []
                var bytes = body.framing
                // Whether a key may go is decided at its first event and looked up by the
                // key's text after that: a window holds few keys (a host's senders), and
                // comparing with each costs less than hashing the key at every event.
                var decided = KeyDecisions()
                var keysTaken = 0
                var strays = false
                let keyLimit = s.keysPerBatch()
                for e in s.known {
                    // `known` never holds events in flight (`learn` leaves them out, a pick takes
                    // them out): a guard against sending one twice should that ever change.
                    if s.inFlight.contains(e.sequence) {
                        strays = true
                        continue
                    }
                    let allowed: Bool
                    if let known = decided.answer(for: e.partitionKey) {
                        allowed = known
                    } else {
                        allowed = s.busyKeys[e.partitionKey] == nil && keysTaken < keyLimit
                        if allowed { keysTaken += 1 }
                        decided.record(allowed, for: e.partitionKey)
                    }
                    guard allowed else { continue }
                    let size = e.bytes + body.perEvent
                    if picked.count >= settings.batchMaxEvents { break }
                    if !picked.isEmpty && bytes + size > settings.batchMaxBytes { break }
                    picked.append(e)
                    bytes += size
                }
                guard !picked.isEmpty else {
                    // Pending events, all of busy keys: a commit rarely changes that.
                    if !s.known.isEmpty { s.fruitlessRead = (epoch, now) }
                    return []
                }
                s.fruitlessRead = nil
                for e in picked { s.inFlight.insert(e.sequence) }
                for (key, count) in DispatchState.runs(of: picked.lazy.map(\.partitionKey)) {
                    s.busyKeys[key, default: 0] += count
                }
                // The picked events are a part of `known`, in its order.
                var next = 0
                s.known.removeAll { e in
                    guard next < picked.count, picked[next].sequence == e.sequence else { return false }
                    next += 1
                    return true
                }
                if strays { s.known.removeAll { s.inFlight.contains($0.sequence) } }
                // Every other event known is of a key now busy (one key's stream, typically):
                // the read right after this one would find nothing, so it counts as done.
                var runKey: String?
                var runBusy = true
                if !s.known.isEmpty, s.known.allSatisfy({ e in
                    if e.partitionKey != runKey {
                        runKey = e.partitionKey
                        runBusy = s.busyKeys[e.partitionKey] != nil
                    }
                    return runBusy
                }) {
                    s.fruitlessRead = (epoch, now)
                }
                s.activeBatches += 1
                if keyLimit < Int.max { s.keySharingBatches += 1 }
                return picked
            }
            guard let picked else { continue }  // something was released meanwhile: look again
            if picked.isEmpty { return nil }
            do {
                let events = try await outbox.outboundEvents(picked.map(\.sequence))
                let prepared = now.duration(to: .now) / .seconds(1)
                state.withLock { $0.preparing.add(prepared) }
                if events.isEmpty {
                    release(picked.map { ($0.sequence, $0.partitionKey) })
                    continue
                }
                if events.count < picked.count {
                    let found = Set(events.map(\.sequence))
                    release(picked.filter { !found.contains($0.sequence) }.map { ($0.sequence, $0.partitionKey) }, batchDone: false)
                }
                return events
            } catch {
                logger.error("forwarder.outbox_read_failed", metadata: ["error": "\(error)"])
                release(picked.map { ($0.sequence, $0.partitionKey) })
                return nil
            }
        }
        return nil
    }

    /// Ends events' time in flight: they may be picked again (when still pending) and, unless
    /// `keysReleased` says ``releaseKeys(_:)`` did it already, their keys are free.
    ///
    /// After ``releaseKeys(_:)`` the events were normally just recorded delivered: nothing
    /// new to pick, so a fruitless read still stands, unless the batch's slot was what
    /// stopped the last pick.
    func release(_ events: [(Int64, String)], batchDone: Bool = true, keysReleased: Bool = false) {
        state.withLock { s in
            for (seq, _) in events {
                s.inFlight.remove(seq)
                if keysReleased, s.reading { s.recordedDuringRead.insert(seq) }
            }
            if !keysReleased {
                for (key, count) in DispatchState.runs(of: events.lazy.map(\.1)) { s.releaseKey(key, count: count) }
            }
            let slotWasFull = Double(s.activeBatches) >= s.limit.rounded(.down)
            if batchDone { s.activeBatches -= 1 }
            if !keysReleased || slotWasFull { s.releaseEpoch &+= 1 }
            if !keysReleased { s.pickEpoch &+= 1 }
        }
        wake.yield()
    }

    /// Frees the keys of a batch the sink has whole, while its events stay in flight until
    /// the outbox records their delivery (one key per event, as they were taken).
    func releaseKeys(_ keys: [String]) {
        state.withLock { s in
            for (key, count) in DispatchState.runs(of: keys) { s.releaseKey(key, count: count) }
            s.releaseEpoch &+= 1
        }
        wake.yield()
    }
}

/// What the forwarder is doing, for status and tests.
public struct ForwarderSnapshot: Sendable, Equatable {
    public var inFlightBatches: Int
    public var inFlightEvents: Int
    public var concurrencyLimit: Int
    public var paused: String?
    public var delivered: Int
    public var deadLettered: Int
    public var retries: Int
    /// When the dispatch loop last went round (seconds since 1970; it wakes at least every
    /// `idlePoll`). A stale value means the forwarder is wedged, not merely idle.
    public var lastLoopAt: Double?
    /// Why the last attempt failed, while the hub is not answering (cleared by the next
    /// delivered batch); nil when the hub is reachable or nothing was sent yet.
    public var hubFailure: String?
    /// How many times the pending window was consulted to find a batch.
    public var windowReads: Int
    /// Pending events those reads took from the outbox: a read of the whole window takes up
    /// to `(max_concurrency + 1) × batch_max_events`, one in between only the events
    /// committed since the read before.
    public var windowRows: Int
    /// Batches made with the free keys shared out over the free slots (the sink answering
    /// slower than batches are made).
    public var keySharingBatches: Int
}

struct DispatchState: Sendable {
    var limit: Double
    var activeBatches = 0
    var inFlight = Set<Int64>()
    var busyKeys: [String: Int] = [:]
    /// Bumped when a release may make events pickable that were not (a key freed, events
    /// back from flight, a batch slot free): what a fruitless read is dated by.
    var releaseEpoch: UInt64 = 0
    /// Bumped when events come back from flight still pending (a batch abandoned, events
    /// not found): a window read before it would not place them before their keys' later
    /// events, so a pick from it is thrown away.
    var pickEpoch: UInt64 = 0
    /// Events recorded delivered (or dead) while a window read was under way, which that
    /// window may still show pending; a read is under way while `reading`.
    var recordedDuringRead = Set<Int64>()
    var reading = false
    var pausedReason: String?
    var shuttingDown = false
    var abandon = false
    var deliveredTotal = 0
    var deadLetteredTotal = 0
    var retriesTotal = 0
    var lastLoopAt: Double?
    var hubFailure: String?
    /// The last window read that found nothing to send (every key with pending events busy),
    /// at which release epoch and when.
    var fruitlessRead: (epoch: UInt64, at: ContinuousClock.Instant)?
    /// A wake-up is due when the fruitless read goes stale.
    var rewakeScheduled = false
    var windowReads = 0
    var windowRows = 0
    /// Pending events from earlier reads of the window, not in flight, in outbox order: with
    /// every pending event numbered up to `knownThrough` that is not in flight, as of the
    /// read they came from. A read then asks only for the events numbered above it (those
    /// committed since), not for the whole window again.
    var known: [PendingEvent] = []
    var knownThrough: Int64 = 0
    /// The pick epoch and time of the last read of the whole window; nil before the first.
    var wholeRead: (pickEpoch: UInt64, at: ContinuousClock.Instant)?
    /// The last read of the whole window found no pending event, with no batch in flight: the
    /// outbox's files as they stood before it, and when. See ``quietStands(stamp:at:for:)``.
    var quiet: (stamp: OutboxFileStamp, at: ContinuousClock.Instant)?

    /// How long the forwarder takes to make a batch (read the window, pick, read the events)
    /// and how long the sink takes to answer one, on average of the last few.
    var preparing = RunningMean()
    var answering = RunningMean()
    /// Batches picked with the free keys shared out over the free slots.
    var keySharingBatches = 0

    init(limit: Double) { self.limit = max(1, limit) }

    /// How many times longer the sink's answer must take than making a batch before the free
    /// keys are shared out over batches.
    static let keySharingRatio = 4.0

    /// Keys a batch may take. A batch takes the oldest events of every key not in flight, so
    /// where keys are interleaved (one sender after another) it takes them all, and no other
    /// batch can start until the sink has answered it. That costs nothing while the sink
    /// answers faster than the next batch is made; when its answers take longer (a hub that
    /// syncs each batch before answering, a distant one), the free keys of the window are
    /// shared out over the free batch slots instead, so that batches of different keys are in
    /// flight at once.
    func keysPerBatch() -> Int {
        guard let answer = answering.value, let prepare = preparing.value,
              answer > DispatchState.keySharingRatio * prepare
        else { return Int.max }
        var free = Set<String>()
        for e in known where busyKeys[e.partitionKey] == nil { free.insert(e.partitionKey) }
        let slots = max(1, Int(limit.rounded(.down)) - activeBatches)
        return max(1, (free.count + slots - 1) / slots)
    }

    /// How often the whole window is read again even when nothing came back from flight: an
    /// event can become pending again under an old number without the forwarder taking part
    /// (`outpost dlq replay`, from another process).
    static let wholeWindowInterval = Duration.seconds(1)

    /// What the next read of the window asks the outbox for.
    func nextWindowRead(limit: Int, at now: ContinuousClock.Instant) -> WindowRead {
        guard let wholeRead, wholeRead.pickEpoch == pickEpoch,
              wholeRead.at.duration(to: now) < DispatchState.wholeWindowInterval
        else { return .whole }
        let room = limit - known.count
        return room > 0 ? .after(knownThrough, limit: room) : .none
    }

    /// Takes in the rows of a window read made for `read`: every event not in flight and not
    /// recorded delivered while it ran (the read may still show those pending).
    mutating func learn(
        _ rows: [PendingEvent], from read: WindowRead, limit: Int, pickEpoch: UInt64, at now: ContinuousClock.Instant
    ) {
        let fresh = rows.filter { !inFlight.contains($0.sequence) && !recordedDuringRead.contains($0.sequence) }
        switch read {
        case .whole:
            known = fresh
            // A full window may leave pending events above its last; a short one holds them all.
            if let last = rows.last?.sequence { knownThrough = rows.count >= limit ? last : max(knownThrough, last) }
            wholeRead = (pickEpoch, now)
        case .after:
            known.append(contentsOf: fresh)
            if let last = rows.last?.sequence { knownThrough = max(knownThrough, last) }
        case .none:
            break
        }
    }

    /// `count` events of `key` no longer in a batch the sink has not resolved.
    mutating func releaseKey(_ key: String, count: Int = 1) {
        if let n = busyKeys[key] {
            if n <= count { busyKeys[key] = nil } else { busyKeys[key] = n - count }
        }
    }

    /// The keys as runs of equal neighbours, each with its length: a batch's events of one
    /// key mostly stand together, so its key's count changes once per run, not per event.
    static func runs(of keys: some Sequence<String>) -> [(key: String, count: Int)] {
        var runs: [(key: String, count: Int)] = []
        for key in keys {
            if let last = runs.last, last.key == key {
                runs[runs.count - 1].count += 1
            } else {
                runs.append((key, 1))
            }
        }
        return runs
    }

    /// Whether an empty outbox still stands: no notice of new events since (``Forwarder/notify()``
    /// clears it), its files unchanged (a commit by another process, such as `outpost dlq
    /// replay`, writes them) and less than `interval` gone by (a stamp can miss a change: see
    /// ``OutboxFileStamp``). While it stands, the idle polls do not read the window: a quiet
    /// agent's reads every 2 s brought about 2.5 MiB of SQLite's and GRDB's code back into
    /// memory after each release of it.
    func quietStands(stamp: OutboxFileStamp, at now: ContinuousClock.Instant, for interval: Duration) -> Bool {
        guard let quiet, quiet.stamp == stamp else { return false }
        return quiet.at.duration(to: now) < interval
    }

    /// How long a fruitless read stands for commits: while no batch was released since, a new
    /// commit rarely brings a key that is not busy, so its wake-up does not read the window
    /// again until this passed (a release, or the idle poll after it, always reads).
    static let fruitlessReadValidity = Duration.milliseconds(100)

    func fruitlessReadIsFresh(at now: ContinuousClock.Instant) -> Bool {
        guard let fruitlessRead, fruitlessRead.epoch == releaseEpoch else { return false }
        return fruitlessRead.at.duration(to: now) < DispatchState.fruitlessReadValidity
    }
}

/// Answers per key for one pick, each given once: the first keys in a list compared by text,
/// any beyond them hashed.
struct KeyDecisions {
    static let listed = 8
    private var list: [(key: String, value: Bool)] = []
    private var more: [String: Bool] = [:]

    func answer(for key: String) -> Bool? {
        for entry in list where entry.key == key { return entry.value }
        return list.count < KeyDecisions.listed ? nil : more[key]
    }

    /// Records the answer for a key that has none yet.
    mutating func record(_ value: Bool, for key: String) {
        if list.count < KeyDecisions.listed { list.append((key, value)) } else { more[key] = value }
    }
}

/// A mean that follows the last few values (each new one weighs a quarter).
struct RunningMean: Sendable {
    private(set) var value: Double?

    mutating func add(_ sample: Double) {
        value = value.map { 0.75 * $0 + 0.25 * sample } ?? sample
    }
}

/// What a read of the window asks for.
enum WindowRead: Sendable {
    /// The oldest pending events, a window's worth.
    case whole
    /// The pending events numbered above a number, at most `limit`.
    case after(Int64, limit: Int)
    /// Nothing: the events already known fill the window.
    case none
}

/// A batch handed to the task that delivers it, which takes it: the task's closure keeps no
/// events, so their JSON is freed once the sink has them all.
final class BatchHandoff: Sendable {
    private let events: Mutex<[OutboundEvent]>

    init(_ events: [OutboundEvent]) { self.events = Mutex(events) }

    func take() -> [OutboundEvent] { events.withLock { events in defer { events = [] }; return events } }
}
