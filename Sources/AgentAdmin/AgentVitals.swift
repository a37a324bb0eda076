import Intake
import Forwarder
import Foundation
import Outbox

/// One reading of the agent's state: what heartbeats carry, `/metrics` gauges show and
/// systemd's `STATUS=` line sums up.
public struct AgentVitals: Sendable, Equatable {
    /// When it was read, seconds since 1970.
    public var time: Double
    public var outbox: OutboxStatus
    /// Why intake is paused (watermark, disk floor), or nil.
    public var intakePaused: String?
    /// Why delivery is paused (the hub refused the credentials), or nil.
    public var deliveryPaused: String?
    /// Why the last delivery attempt failed while the hub does not answer, or nil.
    public var hubFailure: String?
    /// Every configured source with the time of its last pickup (nil before the first).
    public var lastPickups: [(name: String, time: Double?)]
    public var inFlightBatches: Int
    public var concurrencyLimit: Int

    /// Seconds the oldest pending event has waited, or nil when nothing is pending.
    public var oldestPendingAge: Double? { outbox.oldestPendingAt.map { max(0, time - $0) } }

    public static func == (a: AgentVitals, b: AgentVitals) -> Bool {
        a.time == b.time && a.outbox == b.outbox && a.intakePaused == b.intakePaused
            && a.deliveryPaused == b.deliveryPaused && a.hubFailure == b.hubFailure
            && a.lastPickups.map(\.name) == b.lastPickups.map(\.name)
            && a.lastPickups.map(\.time) == b.lastPickups.map(\.time)
            && a.inFlightBatches == b.inFlightBatches && a.concurrencyLimit == b.concurrencyLimit
    }

    /// The one-line summary systemd shows (`systemctl status outpost`).
    public var statusLine: String {
        var parts = ["outbox \(outbox.pendingEvents) pending (\(Self.mebibytes(outbox.pendingBytes)))"]
        if let age = oldestPendingAge { parts.append("oldest \(Int(age)) s") }
        if outbox.deadLetters > 0 { parts.append("\(outbox.deadLetters) dead letters") }
        parts.append(intakePaused == nil ? "intake accepting" : "intake PAUSED")
        if deliveryPaused != nil {
            parts.append("delivery PAUSED")
        } else if hubFailure != nil {
            parts.append("hub unreachable")
        } else {
            parts.append("hub ok")
        }
        return parts.joined(separator: ", ")
    }

    static func mebibytes(_ bytes: Int64) -> String {
        String(format: "%.1f MiB", Double(bytes) / 1_048_576)
    }
}

/// Reads ``AgentVitals`` from the running parts.
public struct AgentVitalsReader: Sendable {
    let outbox: Outbox
    let forwarder: Forwarder
    let gate: IntakeGate?
    let intake: OutboxIntake?
    /// The configured sources' names, read each time (a reload changes them).
    let sourceNames: @Sendable () -> [String]

    public init(
        outbox: Outbox, forwarder: Forwarder, gate: IntakeGate?, intake: OutboxIntake?,
        sourceNames: @escaping @Sendable () -> [String]
    ) {
        self.outbox = outbox
        self.forwarder = forwarder
        self.gate = gate
        self.intake = intake
        self.sourceNames = sourceNames
    }

    public init(outbox: Outbox, forwarder: Forwarder, gate: IntakeGate?, intake: OutboxIntake?, sourceNames: [String]) {
        self.init(outbox: outbox, forwarder: forwarder, gate: gate, intake: intake, sourceNames: { sourceNames })
    }

    /// Reads the outbox counts (a consistent database snapshot) and the in-memory state.
    public func read() async throws -> AgentVitals {
        let status = try await outbox.status()
        let snapshot = forwarder.snapshot
        let pickups = intake?.lastPickups ?? [:]
        return AgentVitals(
            time: Date().timeIntervalSince1970, outbox: status, intakePaused: gate?.pausedReason,
            deliveryPaused: snapshot.paused, hubFailure: snapshot.hubFailure,
            lastPickups: sourceNames().map { ($0, pickups[$0]) },
            inFlightBatches: snapshot.inFlightBatches, concurrencyLimit: snapshot.concurrencyLimit)
    }
}
