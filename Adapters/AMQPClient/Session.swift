internal import CRabbitMQ
import Foundation

/// The rabbitmq-c connection state and its one channel. Touched only on its connection's
/// ``ConnectionThread`` (hence `@unchecked Sendable`). After the first error it is
/// `broken`: every further call throws that error, and the owner reconnects.
final class Session: @unchecked Sendable {
    let endpoint: AMQPEndpoint
    let channel: amqp_channel_t = 1
    private(set) var state: amqp_connection_state_t?
    var broken: AMQPError?
    /// Delivery tag of the last message published in confirm mode.
    var lastPublishTag: UInt64 = 0
    var confirmsEnabled = false

    private init(endpoint: AMQPEndpoint, state: amqp_connection_state_t) {
        self.endpoint = endpoint
        self.state = state
    }

    /// Connects, logs in and opens channel 1.
    static func open(_ endpoint: AMQPEndpoint) throws -> Session {
        guard let state = amqp_new_connection() else {
            throw AMQPError(.connectionFailed, "cannot allocate an AMQP connection")
        }
        let session = Session(endpoint: endpoint, state: state)
        do {
            try session.connect()
            return session
        } catch {
            session.destroy()
            throw error
        }
    }

    private func connect() throws {
        let state = try live()
        guard let socket = endpoint.useTLS ? amqp_ssl_socket_new(state) : amqp_tcp_socket_new(state) else {
            throw AMQPError(.connectionFailed, "cannot create a socket for \(endpoint)")
        }
        if endpoint.useTLS {
            amqp_ssl_socket_set_verify_peer(socket, 1)
            amqp_ssl_socket_set_verify_hostname(socket, 1)
            let ca = endpoint.caFile ?? "/etc/ssl/certs/ca-certificates.crt"
            guard amqp_ssl_socket_set_cacert(socket, ca) == AMQP_STATUS_OK.rawValue else {
                throw AMQPError(.invalidConfiguration, "cannot load the CA bundle \(ca) to verify \(endpoint)")
            }
        }
        var timeout = Self.timeval(seconds: endpoint.timeout)
        let opened = amqp_socket_open_noblock(socket, endpoint.host, Int32(endpoint.port), &timeout)
        guard opened == AMQP_STATUS_OK.rawValue else {
            throw AMQPError(.connectionFailed, "cannot connect to \(endpoint): \(Self.statusText(opened))")
        }
        _ = amqp_set_rpc_timeout(state, &timeout)
        let arena = AMQPMessageMemory()
        var clientProperties = arena.table([
            "connection_name": .string(endpoint.connectionName), "product": .string("outpost"),
        ])
        let login = camqp_login_plain(
            state, endpoint.virtualHost, 131_072, Int32(endpoint.heartbeat), &clientProperties, endpoint.user,
            endpoint.password)
        do {
            try check(login, "logging in")
        } catch let error as AMQPError {
            if error.kind == .accessRefused || error.kind == .connectionFailed {
                throw AMQPError(
                    .accessRefused,
                    "\(endpoint) refused user '\(endpoint.user)' on virtual host '\(endpoint.virtualHost)' "
                        + "(\(error.message)); check the credentials file and the user's permissions",
                    replyCode: error.replyCode)
            }
            throw error
        }
        amqp_channel_open(state, channel)
        try check(amqp_get_rpc_reply(state), "opening a channel")
    }

    /// Closes politely when the connection is healthy, then frees it.
    func close() {
        if let state, broken == nil {
            _ = amqp_channel_close(state, channel, Int32(AMQP_REPLY_SUCCESS))
            _ = amqp_connection_close(state, Int32(AMQP_REPLY_SUCCESS))
        }
        if broken == nil { broken = AMQPError(.closed, "the AMQP connection to \(endpoint) is closed") }
        destroy()
    }

    private func destroy() {
        if let state { amqp_destroy_connection(state) }
        state = nil
    }

    /// The C state, or the error that broke it.
    func live() throws -> amqp_connection_state_t {
        if let broken { throw broken }
        guard let state else { throw AMQPError(.closed, "the AMQP connection to \(endpoint) is closed") }
        return state
    }

    /// Records `error` as the reason the session is unusable and returns it.
    func fail(_ error: AMQPError) -> AMQPError {
        if broken == nil { broken = error }
        return error
    }

    /// Throws (and breaks the session) unless `reply` is normal. Answers a broker's close.
    func check(_ reply: amqp_rpc_reply_t, _ context: String) throws {
        switch reply.reply_type {
        case AMQP_RESPONSE_NORMAL:
            return
        case AMQP_RESPONSE_LIBRARY_EXCEPTION:
            let kind: AMQPError.Kind = reply.library_error == AMQP_STATUS_TIMEOUT.rawValue ? .timeout : .connectionFailed
            throw fail(AMQPError(kind, "\(context) on \(endpoint): \(Self.statusText(reply.library_error))"))
        case AMQP_RESPONSE_SERVER_EXCEPTION:
            throw fail(brokerClose(methodID: reply.reply.id, decoded: reply.reply.decoded, context: context))
        default:
            throw fail(AMQPError(.connectionFailed, "\(context) on \(endpoint): no reply from the broker"))
        }
    }

    /// The error for a `channel.close` or `connection.close` from the broker (answered with close-ok).
    func brokerClose(methodID: amqp_method_number_t, decoded: UnsafeMutableRawPointer?, context: String) -> AMQPError {
        var code = 0
        var text = "closed by the broker"
        if methodID == amqp_method_number_t(AMQP_CHANNEL_CLOSE_METHOD), let decoded {
            let close = decoded.assumingMemoryBound(to: amqp_channel_close_t.self).pointee
            code = Int(close.reply_code)
            text = CDecode.string(close.reply_text)
            if let state { _ = camqp_channel_close_ok(state, channel) }
        } else if methodID == amqp_method_number_t(AMQP_CONNECTION_CLOSE_METHOD), let decoded {
            let close = decoded.assumingMemoryBound(to: amqp_connection_close_t.self).pointee
            code = Int(close.reply_code)
            text = CDecode.string(close.reply_text)
            if let state { _ = camqp_connection_close_ok(state) }
        }
        let kind: AMQPError.Kind =
            switch code {
            case 403: .accessRefused
            case 404: .notFound
            default: .closedByBroker
            }
        return AMQPError(kind, "\(context) on \(endpoint): \(text)", replyCode: code)
    }

    static func statusText(_ status: Int32) -> String {
        guard let text = amqp_error_string2(status) else { return "status \(status)" }
        return String(cString: text)
    }

    static func timeval(seconds: Double) -> timeval {
        let whole = max(0, seconds.rounded(.down))
        return Foundation.timeval(tv_sec: Int(whole), tv_usec: Int((seconds - whole) * 1_000_000))
    }
}
