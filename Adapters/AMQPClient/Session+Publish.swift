internal import CRabbitMQ
import Foundation

extension Session {
    /// Idempotent: the broker keeps counting delivery tags across repeated `confirm.select`s.
    func enableConfirms() throws {
        let state = try live()
        guard !confirmsEnabled else { return }
        amqp_confirm_select(state, channel)
        try check(amqp_get_rpc_reply(state), "enabling publisher confirms")
        confirmsEnabled = true
        lastPublishTag = 0
    }

    /// Publishes `messages` in order, then waits until the broker confirmed (or returned, or
    /// nacked) every one of them.
    ///
    /// A `mandatory` message no queue takes comes back as `basic.return` before its confirm,
    /// matched by its `message_id` (else by the first unresolved message with the same
    /// exchange and routing key: returns come in publish order). Throws when the connection fails or the broker does
    /// not answer within `timeout` seconds; the outcome of unconfirmed messages is then unknown.
    func publish(_ messages: [AMQPOutgoingMessage], mandatory: Bool, timeout: Double) throws -> [AMQPPublishOutcome] {
        let state = try live()
        guard confirmsEnabled else {
            throw AMQPError(.invalidConfiguration, "publish with confirms needs enableConfirms() first")
        }
        let firstTag = lastPublishTag + 1
        var indexByID: [String: Int] = [:]
        for (index, message) in messages.enumerated() {
            try send(message, mandatory: mandatory, state: state)
            lastPublishTag += 1
            if let id = message.properties.messageID { indexByID[id] = index }
        }
        var outcomes = [AMQPPublishOutcome?](repeating: nil, count: messages.count)
        var returned: [Int: AMQPPublishOutcome] = [:]
        var unresolved = messages.count
        var lowest = 0
        let deadline = Date().addingTimeInterval(timeout)

        func resolve(upTo tag: UInt64, multiple: Bool, as outcome: AMQPPublishOutcome) {
            guard tag >= firstTag else { return }
            let last = Int(min(tag, lastPublishTag) - firstTag)
            let range = multiple ? lowest...last : last...last
            for i in range where outcomes[i] == nil {
                outcomes[i] = outcome == .confirmed ? (returned[i] ?? .confirmed) : outcome
                unresolved -= 1
            }
            while lowest < outcomes.count, outcomes[lowest] != nil { lowest += 1 }
        }

        while unresolved > 0 {
            var frame = amqp_frame_t()
            var wait = Self.timeval(seconds: max(0.001, deadline.timeIntervalSinceNow))
            let status = amqp_simple_wait_frame_noblock(state, &frame, &wait)
            if status == AMQP_STATUS_TIMEOUT.rawValue {
                throw fail(AMQPError(
                    .timeout, "\(endpoint) confirmed \(messages.count - unresolved) of \(messages.count) messages within \(Int(timeout)) s"))
            }
            guard status == AMQP_STATUS_OK.rawValue else {
                throw fail(AMQPError(.connectionFailed, "waiting for confirms from \(endpoint): \(Self.statusText(status))"))
            }
            guard frame.frame_type == UInt8(AMQP_FRAME_METHOD) else { continue }
            let method = frame.payload.method
            switch method.id {
            case amqp_method_number_t(AMQP_BASIC_ACK_METHOD):
                let ack = method.decoded.assumingMemoryBound(to: amqp_basic_ack_t.self).pointee
                resolve(upTo: ack.delivery_tag, multiple: ack.multiple != 0, as: .confirmed)
            case amqp_method_number_t(AMQP_BASIC_NACK_METHOD):
                let nack = method.decoded.assumingMemoryBound(to: amqp_basic_nack_t.self).pointee
                resolve(upTo: nack.delivery_tag, multiple: nack.multiple != 0, as: .nacked)
            case amqp_method_number_t(AMQP_BASIC_RETURN_METHOD):
                let ret = method.decoded.assumingMemoryBound(to: amqp_basic_return_t.self).pointee
                let outcome = AMQPPublishOutcome.returned(
                    replyCode: Int(ret.reply_code), replyText: CDecode.string(ret.reply_text))
                var message = amqp_message_t()
                let read = amqp_read_message(state, frame.channel, &message, 0)
                let id = CDecode.properties(message.properties).messageID
                amqp_destroy_message(&message)
                try check(read, "reading a returned message")
                let exchange = CDecode.string(ret.exchange)
                let routingKey = CDecode.string(ret.routing_key)
                let index = id.flatMap { indexByID[$0] }
                    ?? messages.indices.first { i in
                        outcomes[i] == nil && returned[i] == nil && messages[i].exchange == exchange
                            && messages[i].routingKey == routingKey
                    }
                if let index { returned[index] = outcome }
            case amqp_method_number_t(AMQP_CHANNEL_CLOSE_METHOD), amqp_method_number_t(AMQP_CONNECTION_CLOSE_METHOD):
                throw fail(brokerClose(methodID: method.id, decoded: method.decoded, context: "publishing"))
            default:
                continue
            }
        }
        return outcomes.map { $0 ?? .nacked }
    }

    /// Publishes without waiting for anything (confirm mode off, or the caller waits later).
    func send(_ message: AMQPOutgoingMessage, mandatory: Bool, state: amqp_connection_state_t) throws {
        let arena = AMQPMessageMemory()
        var properties = arena.properties(message.properties)
        let exchange = arena.bytes(message.exchange)
        let routingKey = arena.bytes(message.routingKey)
        let status = message.body.withUnsafeBytes { body in
            amqp_basic_publish(
                state, channel, exchange, routingKey, mandatory ? 1 : 0, 0, &properties,
                amqp_bytes_t(len: body.count, bytes: UnsafeMutableRawPointer(mutating: body.baseAddress)))
        }
        guard status == AMQP_STATUS_OK.rawValue else {
            throw fail(AMQPError(.connectionFailed, "publishing to \(endpoint): \(Self.statusText(status))"))
        }
    }
}
