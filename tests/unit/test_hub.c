/* The hub on a real loop: an in-process HTTP server with /ws, raw TCP clients made with
 * libuv, events published straight into the hub. Checks fan-out to the right streamer, the
 * shared frame bytes, one corked write for a burst, and that a client which stops reading is
 * culled while another keeps receiving everything. */
#include "unit.h"

#include <uv.h>

#include "base/clock.h"
#include "event/event.h"
#include "http/server.h"
#include "hub/hub.h"
#include "ws/frame.h"

struct fixture {
    uv_loop_t loop;
    struct http_server *srv;
    struct hub *hub;
    struct http_route routes[2];
};

struct tclient {
    uv_tcp_t tcp;
    uv_connect_t conn;
    int upgraded;
    int reading;
    struct buf head;
    struct ws_parser parser;
    int messages;
    int reads;
    char last[512];
};

static struct fixture *fx_global; /* the route handler's way back to the hub */

static void handle_ws(struct http_request *req)
{
    hub_handle_ws(fx_global->hub, req);
}

static void fx_init(struct fixture *fx)
{
    fx_global = fx;
    CHECK(uv_loop_init(&fx->loop) == 0);
    struct hub_options ho = {.max_queue_frames = 64, .max_queue_bytes = 1 << 20};
    CHECK(hub_new(&fx->loop, NULL, &ho, &fx->hub, NULL) == 0);
    fx->routes[0] = (struct http_route){HTTP_VERB_GET, "/ws", handle_ws, NULL, 0};
    fx->routes[1] = (struct http_route){0};
    struct http_server_options so = {.host = "127.0.0.1", .port = 0, .routes = fx->routes,
                                     .not_found = handle_ws};
    CHECK(http_server_new(&fx->loop, &so, &fx->srv, NULL) == 0);
}

static int on_msg(void *arg, enum ws_opcode op, const uint8_t *data, size_t len, uint16_t code)
{
    struct tclient *c = arg;
    if (op == WS_OP_TEXT) {
        c->messages++;
        snprintf(c->last, sizeof c->last, "%.*s", (int)len, (const char *)data);
    }
    return 0;
}

static void on_alloc(uv_handle_t *h, size_t s, uv_buf_t *b)
{
    static char slab[65536];
    b->base = slab;
    b->len = sizeof slab;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    struct tclient *c = s->data;
    if (n <= 0)
        return;
    c->reads++;
    size_t off = 0;
    if (!c->upgraded) {
        buf_append(&c->head, b->base, (size_t)n);
        char *end = strstr(c->head.data, "\r\n\r\n");
        if (!end)
            return;
        CHECK(strncmp(c->head.data, "HTTP/1.1 101", 12) == 0);
        c->upgraded = 1;
        off = (size_t)n - (c->head.len - (size_t)(end + 4 - c->head.data));
    }
    CHECK(ws_parser_feed(&c->parser, (const uint8_t *)b->base + off, (size_t)n - off) == 0);
}

static void on_connect(uv_connect_t *req, int status)
{
    struct tclient *c = req->data;
    CHECK(status == 0);
    static const char hs[] = "GET /ws?streamer=alpha HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                             "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                             "Sec-WebSocket-Version: 13\r\n\r\n";
    uv_buf_t b = uv_buf_init((char *)hs, sizeof hs - 1);
    CHECK(uv_try_write((uv_stream_t *)&c->tcp, &b, 1) == (int)sizeof hs - 1);
    if (c->reading)
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void client_open(struct fixture *fx, struct tclient *c, int reading)
{
    memset(c, 0, sizeof *c);
    c->reading = reading;
    buf_init(&c->head, 0);
    ws_parser_init(&c->parser, WS_CLIENT, 1 << 20, on_msg, c);
    uv_tcp_init(&fx->loop, &c->tcp);
    c->tcp.data = c;
    c->conn.data = c;
    struct sockaddr_in addr;
    uv_ip4_addr("127.0.0.1", http_server_port(fx->srv), &addr);
    CHECK(uv_tcp_connect(&c->conn, &c->tcp, (struct sockaddr *)&addr, on_connect) == 0);
}

static void client_release(struct tclient *c)
{
    buf_release(&c->head);
    ws_parser_release(&c->parser);
}

/* Runs the loop until cond(arg) or the deadline; fails the test on timeout. */
static void run_until(struct fixture *fx, int (*cond)(void *), void *arg, int64_t ms)
{
    int64_t deadline = clock_mono_us() + ms * 1000;
    while (!cond(arg)) {
        CHECK(clock_mono_us() < deadline);
        uv_run(&fx->loop, UV_RUN_NOWAIT);
    }
}

static struct event *make_event(const char *streamer, int64_t seq, size_t pad)
{
    struct event *ev = event_new();
    char id[40];
    snprintf(id, sizeof id, "ev-%lld", (long long)seq);
    ev->seq = seq;
    ev->id = strdup(id);
    ev->type = strdup("channel.follow");
    ev->streamer_id = strdup("42");
    ev->streamer_login = strdup(streamer);
    ev->streamer_name = strdup(streamer);
    ev->viewer_login = strdup("bob");
    ev->viewer_name = strdup("Bob");
    ev->summary = strdup("Bob followed");
    ev->created_at_us = clock_wall_us();
    char *p = malloc(pad + 1);
    memset(p, 'x', pad);
    p[pad] = 0;
    ev->data = json_pack("{s:s}", "pad", p);
    free(p);
    return ev;
}

static int clients_connected(void *arg)
{
    struct fixture *fx = arg;
    struct hub_stats st;
    hub_stats(fx->hub, &st);
    return st.clients == 2;
}

struct want {
    struct tclient *c;
    int n;
};

static int got_messages(void *arg)
{
    struct want *w = arg;
    return w->c->messages >= w->n;
}

static int culled(void *arg)
{
    struct fixture *fx = arg;
    struct hub_stats st;
    hub_stats(fx->hub, &st);
    return st.clients_culled == 1;
}

static void fx_free(struct fixture *fx, struct tclient *a, struct tclient *b)
{
    hub_free(fx->hub);
    http_server_free(fx->srv);
    uv_close((uv_handle_t *)&a->tcp, NULL);
    if (b && !uv_is_closing((uv_handle_t *)&b->tcp))
        uv_close((uv_handle_t *)&b->tcp, NULL);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(&fx->loop) == 0);
    client_release(a);
    if (b)
        client_release(b);
}

static void test_fanout_and_burst(void)
{
    struct fixture fx;
    fx_init(&fx);
    struct tclient a, b;
    client_open(&fx, &a, 1);
    client_open(&fx, &b, 1);
    run_until(&fx, clients_connected, &fx, 3000);
    /* a burst of 20 events in one loop turn */
    for (int i = 1; i <= 20; i++) {
        struct event *ev = make_event("alpha", i, 10);
        hub_publish(fx.hub, ev);
        event_free(ev);
    }
    struct event *other = make_event("beta", 99, 10);
    hub_publish(fx.hub, other);
    event_free(other);
    struct want wa = {&a, 20}, wb = {&b, 20};
    run_until(&fx, got_messages, &wa, 3000);
    run_until(&fx, got_messages, &wb, 3000);
    CHECK_INT(a.messages, 20);
    CHECK(strstr(a.last, "\"id\":\"ev-20\"") != NULL);
    CHECK(strncmp(a.last, "{\"kind\":\"event\",\"event\":{", 25) == 0);
    CHECK(a.reads <= 3); /* the burst left in one writev, not twenty writes */
    struct hub_stats st;
    hub_stats(fx.hub, &st);
    CHECK_INT(st.frames_published, 21);
    CHECK_INT(st.messages_sent, 40);
    fx_free(&fx, &a, &b);
}

static void test_slow_client_culled(void)
{
    struct fixture fx;
    fx_init(&fx);
    struct tclient good, stuck;
    client_open(&fx, &good, 1);
    client_open(&fx, &stuck, 0); /* never reads after connecting */
    run_until(&fx, clients_connected, &fx, 3000);
    int sent = 0;
    int64_t deadline = clock_mono_us() + 10 * 1000000;
    while (!culled(&fx)) {
        CHECK(clock_mono_us() < deadline);
        struct event *ev = make_event("alpha", ++sent, 32 * 1024);
        hub_publish(fx.hub, ev);
        event_free(ev);
        uv_run(&fx.loop, UV_RUN_NOWAIT);
    }
    struct want w = {&good, sent};
    run_until(&fx, got_messages, &w, 10000);
    CHECK_INT(good.messages, sent);
    struct hub_stats st;
    hub_stats(fx.hub, &st);
    CHECK_INT(st.clients, 1);
    fx_free(&fx, &good, &stuck);
}

static const struct unit_test tests[] = {
    {"fan-out to one streamer's clients, a burst corked", test_fanout_and_burst},
    {"a client that stops reading is culled, the other gets everything", test_slow_client_culled},
    {0},
};
UNIT_MAIN(tests)
