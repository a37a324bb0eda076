import ArgumentParser
import EventModel
import Foundation
import Outbox
import OutpostConfig

/// `outpost status --config FILE [--json]`: reads the outbox (also while `run` runs).
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show outbox depth, oldest pending age, dead letters and last delivery.")

    @OptionGroup var options: ConfigOption

    @Flag(help: "Print JSON.")
    var json = false

    func run() async throws {
        let config = try LoadedConfig.agent(options.config, checkEnvironment: false)
        let outbox = try OutboxAccess.open(config, readOnly: true)
        let status: OutboxStatus
        do { status = try await outbox.status() } catch { throw CommandFailure.runtime("cannot read the outbox: \(error)") }
        let now = Date().timeIntervalSince1970
        if json {
            var object: [String: Any] = [
                "agent": config.agent.id, "region": config.agent.region,
                "pending_events": status.pendingEvents, "pending_bytes": status.pendingBytes,
                "dead_letters": status.deadLetters, "dead_letter_bytes": status.deadLetterBytes,
                "id_conflicts": status.idConflicts,
                "delivered_retained": status.deliveredRetained, "database_bytes": status.databaseBytes,
                "delivery_paused": status.deliveryPaused ?? NSNull(), "intake_paused": status.intakePaused ?? NSNull(),
                "last_delivery_error": status.lastDeliveryError ?? NSNull(),
            ]
            object["oldest_pending_age_seconds"] = status.oldestPendingAt.map { max(0, now - $0) } ?? NSNull()
            object["last_delivery_at"] = status.lastDeliveryAt.map { RFC3339.format($0) } ?? NSNull()
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print("agent:        \(config.agent.id) (\(config.agent.region))")
        let oldest = status.oldestPendingAt.map { ", oldest \(Format.age(now - $0)) old" } ?? ""
        print("outbox:       \(status.pendingEvents) pending event(s), \(Format.bytes(status.pendingBytes))\(oldest)")
        let conflicts = status.idConflicts > 0 ? ", \(status.idConflicts) of them id conflicts (outpost dlq list)" : ""
        print("dead letters: \(status.deadLetters) (\(Format.bytes(status.deadLetterBytes)))\(conflicts)")
        print("delivered:    \(status.deliveredRetained) retained for replay")
        print("last delivery: \(status.lastDeliveryAt.map { "\(RFC3339.format($0)) (\(Format.age(now - $0)) ago)" } ?? "never")")
        print("delivery:     \(status.deliveryPaused.map { "PAUSED: \($0)" } ?? "running")")
        print("intake:       \(status.intakePaused.map { "PAUSED: \($0)" } ?? "accepting")")
        if let error = status.lastDeliveryError { print("last error:   \(error)") }
        print("database:     \(Format.bytes(status.databaseBytes))")
    }
}

/// Opens the configured agent's outbox for a CLI command.
enum OutboxAccess {
    static func open(_ config: AgentConfiguration, readOnly: Bool) throws -> Outbox {
        do {
            return try Outbox(path: AgentAssembly.outboxPath(config), readOnly: readOnly)
        } catch let error as OutboxError {
            if case .missing = error { throw CommandFailure.user("\(error)") }
            throw CommandFailure.runtime("\(error)")
        } catch {
            throw CommandFailure.runtime("\(error)")
        }
    }
}

/// Human-readable numbers.
enum Format {
    static func bytes(_ n: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(n)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
        return unit == 0 ? "\(n) B" : String(format: "%.1f %@", value, units[unit])
    }

    static func age(_ seconds: Double) -> String {
        let s = Int(max(0, seconds))
        if s < 120 { return "\(s)s" }
        if s < 7200 { return "\(s / 60)m" }
        if s < 172_800 { return "\(s / 3600)h" }
        return "\(s / 86400)d"
    }
}
