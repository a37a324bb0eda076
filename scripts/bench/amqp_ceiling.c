/* The broker's own ceiling on this machine, with the same C client Outpost wraps:
 *   amqp_ceiling setup PORT                                - durable queues ceiling, erp.outbound,
 *                                                          hub.events; topic exchange outpost.events -> hub.events
 *   amqp_ceiling publish PORT QUEUE COUNT BODYFILE WINDOW  - persistent messages, publisher
 *                                                          confirms awaited every WINDOW messages; the
 *                                                          16 digits after the first "<DOCNUM>" become
 *                                                          the message number, so every IDoc is distinct
 *   amqp_ceiling consume PORT QUEUE COUNT PREFETCH         - manual ack of each message
 *   amqp_ceiling republish PORT QUEUE COUNT EXCHANGE WINDOW - takes COUNT messages from QUEUE
 *                                                          (not timed), then publishes them again
 *                                                          as they are (properties, headers,
 *                                                          routing key) to EXCHANGE, `mandatory`,
 *                                                          with confirms awaited every WINDOW
 *                                                          messages: the broker's speed for those
 *                                                          very messages
 * Prints "<count> messages in <seconds> s = <rate> msg/s". Loopback only, guest/guest. */
#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void die(const char *what) {
    fprintf(stderr, "amqp_ceiling: %s failed\n", what);
    exit(2);
}

static void check(amqp_connection_state_t c, const char *what) {
    if (amqp_get_rpc_reply(c).reply_type != AMQP_RESPONSE_NORMAL) die(what);
}

/* A message taken from a queue, to be published again as it was. */
typedef struct {
    amqp_bytes_t routing_key;
    amqp_basic_properties_t properties;
    amqp_bytes_t body;
} message_t;

static int republish(amqp_connection_state_t c, const char *queue, long count, const char *exchange, long window) {
    message_t *messages = calloc((size_t)count, sizeof *messages);
    amqp_pool_t pool;
    init_amqp_pool(&pool, 1 << 16);
    amqp_basic_qos(c, 1, 0, 500, 0);
    check(c, "basic.qos");
    amqp_basic_consume(c, 1, amqp_cstring_bytes(queue), amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
    check(c, "basic.consume");
    for (long i = 0; i < count; i++) {
        amqp_envelope_t e;
        amqp_maybe_release_buffers(c);
        if (amqp_consume_message(c, &e, NULL, 0).reply_type != AMQP_RESPONSE_NORMAL) die("consume");
        message_t *m = &messages[i];
        m->routing_key = amqp_bytes_malloc_dup(e.routing_key);
        m->body = amqp_bytes_malloc_dup(e.message.body);
        m->properties = e.message.properties;
        amqp_basic_properties_t *p = &e.message.properties;
        if (p->_flags & AMQP_BASIC_CONTENT_TYPE_FLAG) m->properties.content_type = amqp_bytes_malloc_dup(p->content_type);
        if (p->_flags & AMQP_BASIC_MESSAGE_ID_FLAG) m->properties.message_id = amqp_bytes_malloc_dup(p->message_id);
        if (p->_flags & AMQP_BASIC_TYPE_FLAG) m->properties.type = amqp_bytes_malloc_dup(p->type);
        if (p->_flags & AMQP_BASIC_APP_ID_FLAG) m->properties.app_id = amqp_bytes_malloc_dup(p->app_id);
        /* Only the fields above are kept (what the agent sets); the rest are dropped. */
        m->properties._flags &= AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_MESSAGE_ID_FLAG | AMQP_BASIC_TYPE_FLAG |
                                AMQP_BASIC_APP_ID_FLAG | AMQP_BASIC_HEADERS_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG |
                                AMQP_BASIC_TIMESTAMP_FLAG;
        if ((p->_flags & AMQP_BASIC_HEADERS_FLAG) && amqp_table_clone(&p->headers, &m->properties.headers, &pool) != AMQP_STATUS_OK)
            die("copying headers");
        amqp_basic_ack(c, 1, e.delivery_tag, 0);
        amqp_destroy_envelope(&e);
    }
    amqp_channel_close(c, 1, AMQP_REPLY_SUCCESS);
    amqp_channel_open(c, 2);
    check(c, "channel.open");
    /* A fresh channel: nothing of the consumer left on it. */
    double started = now();
    amqp_confirm_select(c, 2);
    check(c, "confirm.select");
    uint64_t confirmed = 0, sent = 0;
    while (confirmed < (uint64_t)count) {
        while (sent < (uint64_t)count && sent - confirmed < (uint64_t)window) {
            message_t *m = &messages[sent];
            if (amqp_basic_publish(c, 2, amqp_cstring_bytes(exchange), m->routing_key, 1, 0, &m->properties, m->body) != AMQP_STATUS_OK)
                die("publish");
            sent++;
        }
        amqp_frame_t frame;
        if (amqp_simple_wait_frame(c, &frame) != AMQP_STATUS_OK) die("wait for confirm");
        if (frame.frame_type != AMQP_FRAME_METHOD) continue;
        if (frame.payload.method.id == AMQP_BASIC_RETURN_METHOD) die("routing (a message came back)");
        if (frame.payload.method.id == AMQP_BASIC_ACK_METHOD) {
            amqp_basic_ack_t *ack = frame.payload.method.decoded;
            confirmed = ack->delivery_tag;
        }
    }
    double seconds = now() - started;
    printf("%ld messages in %.2f s = %.0f msg/s\n", count, seconds, count / seconds);
    amqp_channel_close(c, 2, AMQP_REPLY_SUCCESS);
    amqp_connection_close(c, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(c);
    return 0;
}

int main(int argc, char **argv) {
    int setup = argc == 3 && strcmp(argv[1], "setup") == 0;
    if (argc < 6 && !setup) {
        fprintf(stderr, "usage: amqp_ceiling setup PORT | publish PORT QUEUE COUNT BODYFILE WINDOW | consume PORT QUEUE COUNT PREFETCH"
                        " | republish PORT QUEUE COUNT EXCHANGE WINDOW\n");
        return 1;
    }
    int publish = strcmp(argv[1], "publish") == 0;
    int port = atoi(argv[2]);
    const char *queue = setup ? "" : argv[3];
    long count = setup ? 0 : atol(argv[4]);
    amqp_connection_state_t c = amqp_new_connection();
    amqp_socket_t *s = amqp_tcp_socket_new(c);
    if (amqp_socket_open(s, "127.0.0.1", port) != AMQP_STATUS_OK) die("connect");
    if (amqp_login(c, "/", 0, 131072, 30, AMQP_SASL_METHOD_PLAIN, "guest", "guest").reply_type != AMQP_RESPONSE_NORMAL)
        die("login");
    amqp_channel_open(c, 1);
    check(c, "channel.open");
    if (setup) {
        const char *queues[] = {"ceiling", "erp.outbound", "hub.events"};
        for (int i = 0; i < 3; i++) {
            amqp_queue_declare(c, 1, amqp_cstring_bytes(queues[i]), 0, 1, 0, 0, amqp_empty_table);
            check(c, "queue.declare");
        }
        amqp_exchange_declare(c, 1, amqp_cstring_bytes("outpost.events"), amqp_cstring_bytes("topic"), 0, 1, 0, 0,
                              amqp_empty_table);
        check(c, "exchange.declare");
        amqp_queue_bind(c, 1, amqp_cstring_bytes("hub.events"), amqp_cstring_bytes("outpost.events"),
                        amqp_cstring_bytes("#"), amqp_empty_table);
        check(c, "queue.bind");
        amqp_destroy_connection(c);
        return 0;
    }
    if (strcmp(argv[1], "republish") == 0) return republish(c, queue, count, argv[5], argc > 6 ? atol(argv[6]) : 500);
    double started = now();
    if (publish) {
        FILE *f = fopen(argv[5], "rb");
        if (!f) die("open body file");
        static char body[1 << 20];
        size_t n = fread(body, 1, sizeof body, f);
        fclose(f);
        long window = argc > 6 ? atol(argv[6]) : 500;
        char *docnum = strstr(body, "<DOCNUM>");
        if (docnum) docnum += 8;
        amqp_confirm_select(c, 1);
        check(c, "confirm.select");
        amqp_basic_properties_t p = {0};
        p._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_CONTENT_TYPE_FLAG;
        p.delivery_mode = 2;
        p.content_type = amqp_cstring_bytes("application/xml");
        amqp_bytes_t b = {n, body};
        uint64_t confirmed = 0, sent = 0;
        while (confirmed < (uint64_t)count) {
            while (sent < (uint64_t)count && sent - confirmed < (uint64_t)window) {
                if (docnum) {
                    char digits[17];
                    snprintf(digits, sizeof digits, "%016llu", (unsigned long long)(sent + 1));
                    memcpy(docnum, digits, 16);
                }
                if (amqp_basic_publish(c, 1, amqp_empty_bytes, amqp_cstring_bytes(queue), 0, 0, &p, b) != AMQP_STATUS_OK)
                    die("publish");
                sent++;
            }
            amqp_frame_t frame;
            if (amqp_simple_wait_frame(c, &frame) != AMQP_STATUS_OK) die("wait for confirm");
            if (frame.frame_type == AMQP_FRAME_METHOD && frame.payload.method.id == AMQP_BASIC_ACK_METHOD) {
                amqp_basic_ack_t *ack = frame.payload.method.decoded;
                confirmed = ack->delivery_tag;
            }
        }
    } else {
        amqp_basic_qos(c, 1, 0, (uint16_t)atoi(argv[5]), 0);
        check(c, "basic.qos");
        amqp_basic_consume(c, 1, amqp_cstring_bytes(queue), amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
        check(c, "basic.consume");
        for (long i = 0; i < count; i++) {
            amqp_envelope_t e;
            amqp_maybe_release_buffers(c);
            if (amqp_consume_message(c, &e, NULL, 0).reply_type != AMQP_RESPONSE_NORMAL) die("consume");
            amqp_basic_ack(c, 1, e.delivery_tag, 0);
            amqp_destroy_envelope(&e);
        }
    }
    double seconds = now() - started;
    printf("%ld messages in %.2f s = %.0f msg/s\n", count, seconds, count / seconds);
    amqp_channel_close(c, 1, AMQP_REPLY_SUCCESS);
    amqp_connection_close(c, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(c);
    return 0;
}
