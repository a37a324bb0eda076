import AMQPClient
import Synchronization

/// Idle publisher connections (confirm mode on, exchange checked), reused across batches.
/// One batch uses one connection at a time, so a batch's events go out in order on one
/// channel; the forwarder's concurrency limit bounds how many connections exist.
final class PublisherPool: Sendable {
    private let endpoint: AMQPEndpoint
    private let exchange: String
    private let idle = Mutex<[AMQPConnection]>([])

    init(endpoint: AMQPEndpoint, exchange: String) {
        var endpoint = endpoint
        endpoint.connectionName = "outpost hub publisher"
        self.endpoint = endpoint
        self.exchange = exchange
    }

    /// An idle connection, or a new one.
    func checkout() async throws -> AMQPConnection {
        if let connection = idle.withLock({ $0.popLast() }) { return connection }
        let connection = try await AMQPConnection.open(endpoint)
        do {
            try await connection.checkExchange(exchange)
            try await connection.enableConfirms()
            return connection
        } catch let error as AMQPError where error.kind == .notFound {
            await connection.close()
            throw AMQPError(
                .notFound, "hub.exchange '\(exchange)' does not exist on \(endpoint): declare it (and bind the hub's queues)",
                replyCode: 404)
        } catch {
            await connection.close()
            throw error
        }
    }

    /// Returns a healthy connection for reuse.
    func checkin(_ connection: AMQPConnection) {
        idle.withLock { $0.append(connection) }
    }

    func closeAll() async {
        let all = idle.withLock { list -> [AMQPConnection] in
            defer { list.removeAll() }
            return list
        }
        for connection in all { await connection.close() }
    }
}
