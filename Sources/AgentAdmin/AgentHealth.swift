import Intake
import Forwarder
import Foundation
import Synchronization

/// What the agent knows about its own health: whether it can commit to the outbox (proved
/// by each heartbeat commit), whether the forwarder's loop goes round, whether the hub answers.
///
/// `/readyz`, the systemd watchdog and `STATUS=` lines read it. The watchdog is fed only
/// from these facts, never from a timer alone, so a wedged pipeline stops the pings.
public final class AgentHealth: Sendable {
    let forwarder: Forwarder
    let gate: IntakeGate?
    /// A forwarder loop older than this is wedged (it wakes every `idle_poll`, 250 ms).
    let forwarderStaleAfter: Double
    /// A last successful commit older than this (and no success since) means the outbox is stuck.
    let commitStaleAfter: Double
    private let commits = Mutex(CommitRecord())

    struct CommitRecord {
        var lastSuccessAt: Double?
        var lastFailure: String?
    }

    /// - Parameters:
    ///   - forwarderStaleAfter: seconds without a forwarder loop round before it counts as wedged.
    ///   - commitStaleAfter: seconds without a successful commit (heartbeats commit every
    ///     minute) before the outbox counts as stuck.
    public init(forwarder: Forwarder, gate: IntakeGate?, forwarderStaleAfter: Double = 15, commitStaleAfter: Double = 180) {
        self.forwarder = forwarder
        self.gate = gate
        self.forwarderStaleAfter = forwarderStaleAfter
        self.commitStaleAfter = commitStaleAfter
    }

    /// Records the outcome of a commit (a heartbeat's).
    public func recordCommit(at time: Double, failure: String?) {
        commits.withLock {
            if let failure {
                $0.lastFailure = failure
            } else {
                $0.lastSuccessAt = time
                $0.lastFailure = nil
            }
        }
    }

    /// Whether a commit has succeeded since the start (READY=1 waits for it).
    public var hasCommitted: Bool { commits.withLock { $0.lastSuccessAt != nil } }

    /// Why the pipeline is not making progress, or an empty list when it is (or is idle and
    /// healthy). The watchdog pings only when this is empty.
    public func stalls(now: Double) -> [String] {
        var problems: [String] = []
        if let loop = forwarder.snapshot.lastLoopAt {
            if now - loop > forwarderStaleAfter {
                problems.append("forwarder loop last ran \(Int(now - loop)) s ago")
            }
        } else {
            problems.append("forwarder loop has not run yet")
        }
        let record = commits.withLock { $0 }
        if let last = record.lastSuccessAt {
            if now - last > commitStaleAfter {
                problems.append("no successful outbox commit for \(Int(now - last)) s"
                    + (record.lastFailure.map { " (last error: \($0))" } ?? ""))
            }
        } else if let failure = record.lastFailure {
            problems.append("outbox commit failed: \(failure)")
        }
        return problems
    }

    /// The answer of `/readyz`.
    public func readiness(now: Double) -> Readiness {
        let snapshot = forwarder.snapshot
        let record = commits.withLock { $0 }
        var readiness = Readiness()
        if let failure = record.lastFailure {
            readiness.outbox = "cannot commit: \(failure)"
        } else if record.lastSuccessAt == nil {
            readiness.outbox = "starting: no commit yet"
        } else {
            readiness.outbox = "ok"
        }
        readiness.intake = gate?.pausedReason.map { "paused: \($0)" } ?? "accepting"
        if let paused = snapshot.paused {
            readiness.hub = "paused: \(paused)"
        } else if let failure = snapshot.hubFailure {
            readiness.hub = "unreachable: \(failure)"
        } else {
            readiness.hub = "ok"
        }
        let stalls = stalls(now: now)
        readiness.problems = stalls
        if readiness.outbox != "ok" || !stalls.isEmpty {
            readiness.status = .notReady
        } else if readiness.hub != "ok" || readiness.intake != "accepting" {
            readiness.status = .degraded
        } else {
            readiness.status = .ready
        }
        return readiness
    }
}

/// The JSON body of `/readyz`.
public struct Readiness: Sendable, Equatable, Codable {
    /// `ready` (200), `degraded` (200: documents are committed, delivery or intake waits) or
    /// `not_ready` (503: the agent cannot commit or is wedged).
    public enum Status: String, Sendable, Codable {
        case ready
        case degraded
        case notReady = "not_ready"
    }
    public var status: Status = .notReady
    public var outbox = ""
    public var intake = ""
    public var hub = ""
    public var problems: [String] = []
}
