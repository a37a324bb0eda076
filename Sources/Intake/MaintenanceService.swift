import Forwarder
import Foundation
import Logging
import Outbox
import ServiceLifecycle

/// Housekeeping: prunes delivered events older than `retain_delivered` (and old receipts),
/// re-reads the outbox counters, re-evaluates the intake gate.
///
/// While the agent is quiet (``QuietSpell``) a round does only the gate, which reads no
/// database; the outbox's part is put off until just before the next release of memory
/// (``runPutOff()``).
public struct MaintenanceService: Service, CustomStringConvertible {
    public let description = "outbox maintenance"
    let outbox: Outbox
    let retainDelivered: Double
    let gate: IntakeGate?
    let logger: Logger
    let interval: Double
    let quiet: QuietSpell?

    public init(
        outbox: Outbox, retainDelivered: Double, gate: IntakeGate?, logger: Logger, interval: Double = 30,
        quiet: QuietSpell? = nil
    ) {
        self.outbox = outbox
        self.retainDelivered = retainDelivered
        self.gate = gate
        self.logger = logger
        self.interval = interval
        self.quiet = quiet
    }

    /// Receipts are kept at least this long so a file re-dropped within it is recognised.
    static let receiptRetention: Double = 30 * 86400

    public func run() async throws {
        try await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                if let quiet, quiet.putOffWhileQuiet() {
                    gate?.evaluate()
                } else {
                    await runOnce()
                }
                try await Task.sleep(for: .milliseconds(Int(interval * 1000)))
            }
        }
    }

    /// The round put off while the agent was quiet, if one was (and none ran since): for the
    /// idle release to run just before it gives the memory back.
    public func runPutOff() async {
        guard quiet?.takePutOff() == true else { return }
        await runOnce()
    }

    /// One round of housekeeping.
    public func runOnce() async {
        _ = quiet?.takePutOff()
        let now = Date().timeIntervalSince1970
        do {
            let pruned = try await outbox.prune(
                deliveredBefore: now - retainDelivered,
                receiptsBefore: now - max(retainDelivered, MaintenanceService.receiptRetention))
            if pruned > 0 { logger.info("outbox.pruned", metadata: ["events": "\(pruned)"]) }
            try outbox.refreshCounters()
        } catch {
            logger.error("outbox.maintenance_failed", metadata: ["error": "\(error)"])
        }
        gate?.evaluate()
    }
}

/// Runs `body` and cancels it when graceful shutdown starts.
func cancelWhenGracefulShutdown(_ body: @escaping @Sendable () async throws -> Void) async throws {
    do {
        try await ServiceLifecycle.cancelWhenGracefulShutdown {
            try await body()
        }
    } catch is CancellationError {
        return
    }
}
