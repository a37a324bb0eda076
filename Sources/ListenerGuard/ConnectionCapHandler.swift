import NIOCore

/// Closes a new connection at once when its listener already serves ``OpenConnections/limit``
/// connections, so the connections being served keep their file descriptors and memory; an
/// admitted connection gives its place back when it closes.
final class ConnectionCapHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private let connections: OpenConnections

    init(connections: OpenConnections) {
        self.connections = connections
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        guard connections.take() else {
            // Closed after the pipeline is built, not while the server is still setting it up.
            context.eventLoop.execute { channel.close(promise: nil) }
            return
        }
        let connections = self.connections
        channel.closeFuture.whenComplete { _ in connections.release() }
    }
}
