/// Why a listener closed a connection before its client did (``ListenerCounters``).
enum ConnectionClosure: Sendable {
    /// The request's line and headers did not arrive within ``ListenerLimits/headerTimeout``.
    case headerTimeout
    /// The request body arrived slower than ``ListenerLimits/minBodyRate``.
    case slowBody
    /// Nothing arrived for ``ListenerLimits/idleTimeout`` after the last answer.
    case idleTimeout
    /// The request's line and headers exceeded ``ListenerLimits/maxHeaderBytes`` (answered 431).
    case oversizedHeaders
}
