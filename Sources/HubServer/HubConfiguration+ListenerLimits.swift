import ListenerGuard
import OutpostConfig

extension HubConfiguration {
    /// The limits the hub's listener puts on every client (`header_timeout`, `min_body_rate`,
    /// `idle_timeout`, `max_header_bytes`, `max_connections`).
    var listenerLimits: ListenerLimits {
        ListenerLimits(
            headerTimeout: headerTimeout, minBodyRate: minBodyRate, idleTimeout: idleTimeout,
            maxHeaderBytes: maxHeaderBytes, maxConnections: maxConnections)
    }
}
