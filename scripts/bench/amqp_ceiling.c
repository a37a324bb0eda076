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

/* Publishes `count` messages on `channel`, message i by `publish(c, channel, i, context)`, with
 * publisher confirms and at most `window` unconfirmed at any time; returns once all are
 * confirmed. A message the broker returns (mandatory, unroutable) ends the run. */
typedef void (*publish_fn)(amqp_connection_state_t c, amqp_channel_t channel, long i, void *context);

static void publish_confirmed(amqp_connection_state_t c, amqp_channel_t channel, long count, long window,
                              publish_fn publish, void *context) {
    amqp_confirm_select(c, channel);
    check(c, "confirm.select");
    uint64_t confirmed = 0, sent = 0;
    while (confirmed < (uint64_t)count) {
        while (sent < (uint64_t)count && sent - confirmed < (uint64_t)window) publish(c, channel, (long)sent++, context);
        amqp_frame_t frame;
        if (amqp_simple_wait_frame(c, &frame) != AMQP_STATUS_OK) die("wait for confirm");
        if (frame.frame_type != AMQP_FRAME_METHOD) continue;
        if (frame.payload.method.id == AMQP_BASIC_RETURN_METHOD) die("routing (a message came back)");
        if (frame.payload.method.id == AMQP_BASIC_ACK_METHOD)
            confirmed = ((amqp_basic_ack_t *)frame.payload.method.decoded)->delivery_tag;
    }
}

/* Takes `count` messages from `queue` on channel 1 (prefetch `prefetch`), each acked after
 * `take(envelope, i, context)` saw it (`take` may be NULL). */
typedef void (*take_fn)(amqp_envelope_t *e, long i, void *context);

static void consume(amqp_connection_state_t c, const char *queue, long count, int prefetch, take_fn take, void *context) {
    amqp_basic_qos(c, 1, 0, (uint16_t)prefetch, 0);
    check(c, "basic.qos");
    amqp_basic_consume(c, 1, amqp_cstring_bytes(queue), amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
    check(c, "basic.consume");
    for (long i = 0; i < count; i++) {
        amqp_envelope_t e;
        amqp_maybe_release_buffers(c);
        if (amqp_consume_message(c, &e, NULL, 0).reply_type != AMQP_RESPONSE_NORMAL) die("consume");
        if (take) take(&e, i, context);
        amqp_basic_ack(c, 1, e.delivery_tag, 0);
        amqp_destroy_envelope(&e);
    }
}

/* `publish`: one IDoc body, its DOCNUM replaced by the message number, to a queue. */
typedef struct {
    const char *queue;
    amqp_basic_properties_t properties;
    amqp_bytes_t body;
    char *docnum;
} idoc_source_t;

static void publish_idoc(amqp_connection_state_t c, amqp_channel_t channel, long i, void *context) {
    idoc_source_t *s = context;
    if (s->docnum) {
        char digits[17];
        snprintf(digits, sizeof digits, "%016llu", (unsigned long long)(i + 1));
        memcpy(s->docnum, digits, 16);
    }
    if (amqp_basic_publish(c, channel, amqp_empty_bytes, amqp_cstring_bytes(s->queue), 0, 0, &s->properties, s->body) !=
        AMQP_STATUS_OK)
        die("publish");
}

/* `republish`: messages taken from a queue, published again as they were. */
typedef struct {
    amqp_bytes_t routing_key;
    amqp_basic_properties_t properties;
    amqp_bytes_t body;
} message_t;

typedef struct {
    message_t *messages;
    amqp_pool_t pool;
    const char *exchange;
} taken_t;

static void keep_message(amqp_envelope_t *e, long i, void *context) {
    taken_t *t = context;
    message_t *m = &t->messages[i];
    amqp_basic_properties_t *p = &e->message.properties;
    m->routing_key = amqp_bytes_malloc_dup(e->routing_key);
    m->body = amqp_bytes_malloc_dup(e->message.body);
    m->properties = *p;
    /* What the agent sets is kept, copied out of the connection's buffers; the rest is dropped. */
    m->properties._flags &= AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_MESSAGE_ID_FLAG | AMQP_BASIC_TYPE_FLAG |
                            AMQP_BASIC_APP_ID_FLAG | AMQP_BASIC_HEADERS_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG |
                            AMQP_BASIC_TIMESTAMP_FLAG;
    if (p->_flags & AMQP_BASIC_CONTENT_TYPE_FLAG) m->properties.content_type = amqp_bytes_malloc_dup(p->content_type);
    if (p->_flags & AMQP_BASIC_MESSAGE_ID_FLAG) m->properties.message_id = amqp_bytes_malloc_dup(p->message_id);
    if (p->_flags & AMQP_BASIC_TYPE_FLAG) m->properties.type = amqp_bytes_malloc_dup(p->type);
    if (p->_flags & AMQP_BASIC_APP_ID_FLAG) m->properties.app_id = amqp_bytes_malloc_dup(p->app_id);
    if ((p->_flags & AMQP_BASIC_HEADERS_FLAG) && amqp_table_clone(&p->headers, &m->properties.headers, &t->pool) != AMQP_STATUS_OK)
        die("copying headers");
}

static void publish_taken(amqp_connection_state_t c, amqp_channel_t channel, long i, void *context) {
    taken_t *t = context;
    message_t *m = &t->messages[i];
    if (amqp_basic_publish(c, channel, amqp_cstring_bytes(t->exchange), m->routing_key, 1, 0, &m->properties, m->body) !=
        AMQP_STATUS_OK)
        die("publish");
}

int main(int argc, char **argv) {
    int setup = argc == 3 && strcmp(argv[1], "setup") == 0;
    if (argc < 6 && !setup) {
        fprintf(stderr, "usage: amqp_ceiling setup PORT | publish PORT QUEUE COUNT BODYFILE WINDOW | consume PORT QUEUE COUNT PREFETCH"
                        " | republish PORT QUEUE COUNT EXCHANGE WINDOW\n");
        return 1;
    }
    const char *mode = argv[1];
    int port = atoi(argv[2]);
    const char *queue = setup ? "" : argv[3];
    long count = setup ? 0 : atol(argv[4]);
    long window = argc > 6 ? atol(argv[6]) : 500;
    amqp_connection_state_t c = amqp_new_connection();
    amqp_socket_t *s = amqp_tcp_socket_new(c);
    if (amqp_socket_open(s, "127.0.0.1", port) != AMQP_STATUS_OK) die("connect");
    if (amqp_login(c, "/", 0, 131072, 30, AMQP_SASL_METHOD_PLAIN, "guest", "guest").reply_type != AMQP_RESPONSE_NORMAL)
        die("login");
    amqp_channel_open(c, 1);
    check(c, "channel.open");
    amqp_channel_t channel = 1;
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
    double started = now();
    if (strcmp(mode, "publish") == 0) {
        FILE *f = fopen(argv[5], "rb");
        if (!f) die("open body file");
        static char body[1 << 20];
        size_t n = fread(body, 1, sizeof body, f);
        fclose(f);
        idoc_source_t source = {.queue = queue, .body = {n, body}, .docnum = strstr(body, "<DOCNUM>")};
        if (source.docnum) source.docnum += 8;
        source.properties._flags = AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_CONTENT_TYPE_FLAG;
        source.properties.delivery_mode = 2;
        source.properties.content_type = amqp_cstring_bytes("application/xml");
        publish_confirmed(c, channel, count, window, publish_idoc, &source);
    } else if (strcmp(mode, "republish") == 0) {
        taken_t taken = {.messages = calloc((size_t)count, sizeof(message_t)), .exchange = argv[5]};
        init_amqp_pool(&taken.pool, 1 << 16);
        consume(c, queue, count, 500, keep_message, &taken);
        /* Published on a fresh channel, nothing of the consumer left on it; timed from here. */
        amqp_channel_close(c, 1, AMQP_REPLY_SUCCESS);
        channel = 2;
        amqp_channel_open(c, channel);
        check(c, "channel.open");
        started = now();
        publish_confirmed(c, channel, count, window, publish_taken, &taken);
    } else {
        consume(c, queue, count, atoi(argv[5]), NULL, NULL);
    }
    double seconds = now() - started;
    printf("%ld messages in %.2f s = %.0f msg/s\n", count, seconds, count / seconds);
    amqp_channel_close(c, channel, AMQP_REPLY_SUCCESS);
    amqp_connection_close(c, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(c);
    return 0;
}
