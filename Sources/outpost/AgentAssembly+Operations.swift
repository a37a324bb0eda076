import Intake
import AgentAdmin
import Forwarder
import Outbox
import OutpostConfig
import ServiceLifecycle

extension AgentAssembly {
    /// The admin listener, heartbeats and systemd notifications for this configuration; the
    /// caller appends them after the pipeline's services, so they stop first.
    static func operationsServices(
        _ config: AgentConfiguration, registry: AgentMetricsRegistry, outbox: Outbox, forwarder: Forwarder,
        gate: IntakeGate, intake: OutboxIntake, sourceNames: @escaping @Sendable () -> [String]
    ) throws -> [any Service] {
        do {
            return try AgentOperations(
                agentID: config.agent.id, region: config.agent.region, sourceNames: sourceNames,
                adminListen: config.admin.listen, registry: registry, outbox: outbox, forwarder: forwarder, gate: gate,
                intake: intake
            ).services
        } catch {
            throw CommandFailure.user("\(error)")
        }
    }
}
