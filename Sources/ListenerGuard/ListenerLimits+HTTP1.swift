import HummingbirdCore
import Logging
import NIOCore

extension ListenerLimits {
    /// The HTTP/1.1 channel configuration that enforces these limits: the server's header
    /// size limits, plus this module's handlers for the header deadline, the body rate, the
    /// idle timeout, the 431 answer, the connection cap (counted in `connections`) and the
    /// read buffer's cap.
    public func http1Configuration(connections: OpenConnections, logger: Logger) -> HTTP1Channel.Configuration {
        http1Configuration(counters: ListenerCounters(connections: connections), logger: logger)
    }

    /// The same, counting every connection refused or closed by a limit in `counters`.
    public func http1Configuration(counters: ListenerCounters, logger: Logger) -> HTTP1Channel.Configuration {
        let limits = self
        return HTTP1Channel.Configuration(
            additionalChannelHandlers: [
                ConnectionCapHandler(connections: counters.connections),
                ReceiveBufferCap(maximum: limits.maxReadBuffer),
                OversizedHeaderResponder(maxHeaderBytes: limits.maxHeaderBytes, counters: counters),
                RequestDeadlineHandler(limits: limits, counters: counters, logger: logger),
            ],
            // RequestDeadlineHandler closes idle connections itself, so that they are counted.
            idleTimeout: nil,
            httpDecoderConfiguration: .init(
                maxHeaderFieldSize: limits.maxHeaderBytes, maxHeaderListSize: limits.maxHeaderBytes, maxHeaderFieldCount: 1000))
    }
}
