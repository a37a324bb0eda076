import HubServer
import Logging
import ServiceLifecycle

/// Keeps the PostgreSQL storage's partitions ahead of time and applies retention, hourly
/// (replicas take turns through an advisory lock).
struct PartitionMaintenance: Service {
    let storage: PostgresHubStorage
    let logger: Logger
    var interval: Duration = .seconds(3600)

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
            do {
                try await storage.maintain()
            } catch {
                logger.error("hub.storage.maintenance_failed", metadata: ["hub.error": "\(PostgresHubStorage.storageError(error))"])
            }
        }
    }
}
