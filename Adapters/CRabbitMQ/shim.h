#ifndef OUTPOST_CRABBITMQ_SHIM_H
#define OUTPOST_CRABBITMQ_SHIM_H

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <amqp_ssl_socket.h>

/// amqp_login_with_properties is variadic, which Swift cannot call: SASL PLAIN only.
static inline amqp_rpc_reply_t camqp_login_plain(
    amqp_connection_state_t state, const char *vhost, int frame_max, int heartbeat,
    const amqp_table_t *properties, const char *user, const char *password) {
    return amqp_login_with_properties(
        state, vhost, 0, frame_max, heartbeat, properties, AMQP_SASL_METHOD_PLAIN, user, password);
}

/// amqp_empty_table as a value (the C global is not importable as a constant in Swift 6).
static inline amqp_table_t camqp_empty_table(void) { return amqp_empty_table; }

/// Answers a broker's channel.close so the connection stays usable.
static inline int camqp_channel_close_ok(amqp_connection_state_t state, amqp_channel_t channel) {
    amqp_channel_close_ok_t ok = {0};
    return amqp_send_method(state, channel, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
}

/// Answers a broker's connection.close.
static inline int camqp_connection_close_ok(amqp_connection_state_t state) {
    amqp_connection_close_ok_t ok = {0};
    return amqp_send_method(state, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
}

#endif
