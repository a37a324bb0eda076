import HummingbirdCore
import Logging
import NIOCore

extension ListenerLimits {
    /// The HTTP/1.1 channel configuration that enforces these limits: the server's idle
    /// timeout and header size limits, plus this module's handlers for the header deadline,
    /// the body rate, the 431 answer and the connection cap (counted in `connections`).
    public func http1Configuration(connections: OpenConnections, logger: Logger) -> HTTP1Channel.Configuration {
        let limits = self
        return HTTP1Channel.Configuration(
            additionalChannelHandlers: [
                ConnectionCapHandler(connections: connections),
                OversizedHeaderResponder(maxHeaderBytes: limits.maxHeaderBytes),
                RequestDeadlineHandler(limits: limits, logger: logger),
            ],
            idleTimeout: .nanoseconds(Int64(limits.idleTimeout * 1e9)),
            httpDecoderConfiguration: .init(
                maxHeaderFieldSize: limits.maxHeaderBytes, maxHeaderListSize: limits.maxHeaderBytes, maxHeaderFieldCount: 1000))
    }
}
