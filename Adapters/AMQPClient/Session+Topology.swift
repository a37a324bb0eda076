internal import CRabbitMQ

extension Session {
    func declareExchange(_ name: String, type: String, durable: Bool, passive: Bool) throws {
        let state = try live()
        let arena = AMQPMessageMemory()
        amqp_exchange_declare(
            state, channel, arena.bytes(name), arena.bytes(type), passive ? 1 : 0, durable ? 1 : 0, 0, 0,
            camqp_empty_table())
        try check(amqp_get_rpc_reply(state), passive ? "checking exchange '\(name)'" : "declaring exchange '\(name)'")
    }

    func declareQueue(_ name: String, durable: Bool, passive: Bool, arguments: [String: AMQPFieldValue]) throws -> AMQPQueueState {
        let state = try live()
        let arena = AMQPMessageMemory()
        let ok = amqp_queue_declare(
            state, channel, arena.bytes(name), passive ? 1 : 0, durable ? 1 : 0, 0, 0, arena.table(arguments))
        try check(amqp_get_rpc_reply(state), passive ? "checking queue '\(name)'" : "declaring queue '\(name)'")
        guard let ok else { throw fail(AMQPError(.closedByBroker, "queue.declare '\(name)' got no answer")) }
        return AMQPQueueState(messages: Int(ok.pointee.message_count), consumers: Int(ok.pointee.consumer_count))
    }

    func bindQueue(_ queue: String, exchange: String, routingKey: String) throws {
        let state = try live()
        let arena = AMQPMessageMemory()
        amqp_queue_bind(state, channel, arena.bytes(queue), arena.bytes(exchange), arena.bytes(routingKey), camqp_empty_table())
        try check(amqp_get_rpc_reply(state), "binding queue '\(queue)' to exchange '\(exchange)'")
    }

    func purgeQueue(_ name: String) throws {
        let state = try live()
        let arena = AMQPMessageMemory()
        amqp_queue_purge(state, channel, arena.bytes(name))
        try check(amqp_get_rpc_reply(state), "purging queue '\(name)'")
    }
}
