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
