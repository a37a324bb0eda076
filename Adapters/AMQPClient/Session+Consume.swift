internal import CRabbitMQ

extension Session {
    func startConsuming(queue: String, prefetch: Int) throws {
        let state = try live()
        amqp_basic_qos(state, channel, 0, UInt16(clamping: prefetch), 0)
        try check(amqp_get_rpc_reply(state), "setting prefetch \(prefetch)")
        let arena = AMQPMessageMemory()
        amqp_basic_consume(state, channel, arena.bytes(queue), amqp_bytes_t(len: 0, bytes: nil), 0, 0, 0, camqp_empty_table())
        try check(amqp_get_rpc_reply(state), "consuming from queue '\(queue)'")
    }

    /// The next delivery, or nil when none came within `timeout` seconds. Keeps heartbeats going.
    func nextDelivery(timeout: Double) throws -> AMQPDelivery? {
        let state = try live()
        amqp_maybe_release_buffers(state)
        var envelope = amqp_envelope_t()
        var wait = Self.timeval(seconds: timeout)
        let reply = amqp_consume_message(state, &envelope, &wait, 0)
        if reply.reply_type == AMQP_RESPONSE_NORMAL {
            defer { amqp_destroy_envelope(&envelope) }
            return AMQPDelivery(
                deliveryTag: envelope.delivery_tag, redelivered: envelope.redelivered != 0,
                exchange: CDecode.string(envelope.exchange), routingKey: CDecode.string(envelope.routing_key),
                properties: CDecode.properties(envelope.message.properties), body: CDecode.array(envelope.message.body))
        }
        if reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION {
            if reply.library_error == AMQP_STATUS_TIMEOUT.rawValue { return nil }
            if reply.library_error == AMQP_STATUS_UNEXPECTED_STATE.rawValue {
                try handleStrayFrame()
                return nil
            }
        }
        try check(reply, "waiting for messages")
        return nil
    }

    /// Up to `limit` deliveries: the first waited for up to `timeout` seconds, the others only
    /// if they can be read at once. Empty when none came in time.
    func nextDeliveries(limit: Int, timeout: Double) throws -> [AMQPDelivery] {
        var out: [AMQPDelivery] = []
        guard limit > 0, let first = try nextDelivery(timeout: timeout) else { return out }
        out.reserveCapacity(limit)
        out.append(first)
        while out.count < limit, let next = try nextDelivery(timeout: 0) { out.append(next) }
        return out
    }

    /// A frame that is not a delivery arrived while consuming: a close, a consumer
    /// cancellation, or something harmless.
    private func handleStrayFrame() throws {
        let state = try live()
        var frame = amqp_frame_t()
        let status = amqp_simple_wait_frame(state, &frame)
        guard status == AMQP_STATUS_OK.rawValue else {
            throw fail(AMQPError(.connectionFailed, "reading from \(endpoint): \(Self.statusText(status))"))
        }
        guard frame.frame_type == UInt8(AMQP_FRAME_METHOD) else { return }
        let method = frame.payload.method
        switch method.id {
        case amqp_method_number_t(AMQP_CHANNEL_CLOSE_METHOD), amqp_method_number_t(AMQP_CONNECTION_CLOSE_METHOD):
            throw fail(brokerClose(methodID: method.id, decoded: method.decoded, context: "consuming"))
        case amqp_method_number_t(AMQP_BASIC_CANCEL_METHOD):
            throw fail(AMQPError(.closedByBroker, "the broker cancelled the consumer on \(endpoint) (queue deleted?)"))
        case amqp_method_number_t(AMQP_BASIC_RETURN_METHOD):
            var message = amqp_message_t()
            let read = amqp_read_message(state, frame.channel, &message, 0)
            amqp_destroy_message(&message)
            try check(read, "reading a returned message")
        default:
            return
        }
    }

    func acknowledge(_ tag: UInt64, multiple: Bool = false) throws {
        let status = amqp_basic_ack(try live(), channel, tag, multiple ? 1 : 0)
        guard status == AMQP_STATUS_OK.rawValue else {
            throw fail(AMQPError(.connectionFailed, "acknowledging on \(endpoint): \(Self.statusText(status))"))
        }
    }

    func reject(_ tag: UInt64, requeue: Bool) throws {
        let status = amqp_basic_nack(try live(), channel, tag, 0, requeue ? 1 : 0)
        guard status == AMQP_STATUS_OK.rawValue else {
            throw fail(AMQPError(.connectionFailed, "rejecting on \(endpoint): \(Self.statusText(status))"))
        }
    }

    /// `basic.get` with acknowledgement: one message or nil when the queue is empty.
    func get(queue: String) throws -> AMQPDelivery? {
        let state = try live()
        let arena = AMQPMessageMemory()
        let reply = amqp_basic_get(state, channel, arena.bytes(queue), 0)
        try check(reply, "getting from queue '\(queue)'")
        guard reply.reply.id == amqp_method_number_t(AMQP_BASIC_GET_OK_METHOD), let decoded = reply.reply.decoded else {
            return nil
        }
        let ok = decoded.assumingMemoryBound(to: amqp_basic_get_ok_t.self).pointee
        var message = amqp_message_t()
        let read = amqp_read_message(state, channel, &message, 0)
        defer { amqp_destroy_message(&message) }
        try check(read, "reading a message from queue '\(queue)'")
        return AMQPDelivery(
            deliveryTag: ok.delivery_tag, redelivered: ok.redelivered != 0, exchange: CDecode.string(ok.exchange),
            routingKey: CDecode.string(ok.routing_key), properties: CDecode.properties(message.properties),
            body: CDecode.array(message.body))
    }
}
