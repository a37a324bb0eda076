import Forwarder
import Foundation
import Logging
import Outbox
import ServiceLifecycle

/// Runs the forwarder as a service: on graceful shutdown it stops starting batches and
/// gives in-flight ones `drainTimeout` seconds before abandoning them.
public struct ForwarderService: Service, CustomStringConvertible {
    let forwarder: Forwarder
    public let description: String

    public init(forwarder: Forwarder, sinkDescription: String) {
        self.forwarder = forwarder
        self.description = "forwarder → \(sinkDescription)"
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            await forwarder.run()
        } onGracefulShutdown: {
            forwarder.beginShutdown()
        }
    }
}

/// Runs a source's loop as a service; graceful shutdown cancels it (sources stop between
/// documents and never leave one half-handled).
public struct SourceService: Service, CustomStringConvertible {
    public let description: String
    let body: @Sendable () async throws -> Void

    public init(description: String, body: @escaping @Sendable () async throws -> Void) {
        self.description = description
        self.body = body
    }

    public func run() async throws {
        try await cancelWhenGracefulShutdown {
            try await body()
        }
    }
}

/// Housekeeping: prunes delivered events older than `retain_delivered` (and old receipts),
/// re-reads the outbox counters, re-evaluates the intake gate.
public struct MaintenanceService: Service, CustomStringConvertible {
    public let description = "outbox maintenance"
    let outbox: Outbox
    let retainDelivered: Double
    let gate: IntakeGate?
    let logger: Logger
    let interval: Double

    public init(outbox: Outbox, retainDelivered: Double, gate: IntakeGate?, logger: Logger, interval: Double = 30) {
        self.outbox = outbox
        self.retainDelivered = retainDelivered
        self.gate = gate
        self.logger = logger
        self.interval = interval
    }

    /// Receipts are kept at least this long so a file re-dropped within it is recognised.
    static let receiptRetention: Double = 30 * 86400

    public func run() async throws {
        try await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await runOnce()
                try await Task.sleep(for: .milliseconds(Int(interval * 1000)))
            }
        }
    }

    /// One round of housekeeping.
    public func runOnce() async {
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
