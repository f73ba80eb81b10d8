/* eventsub/wsession against an in-process EventSub WebSocket server (http/server's upgrade,
 * frames written by hand): the welcome, the keepalive watchdog, the session_reconnect
 * hand-over (the new socket's welcome carries the subscriptions, the old socket is closed),
 * and close codes reaching on_lost. No notification is sent, so no ingest is needed. */
#include "unit.h"

#include <signal.h>
#include <stdio.h>
#include <uv.h>

#include "base/clock.h"
#include "eventsub/wsession.h"
#include "http/server.h"
#include "ws/frame.h"

#define MAX_CONNS 4

struct sconn {
    struct http_conn *conn; /* NULL once closed */
    int opened, closed;
};

struct fixture {
    uv_loop_t loop;
    struct http_server *srv;
    struct http_route routes[2];
    struct sconn conns[MAX_CONNS];
    int nconns;
    /* what the session reported */
    int welcomes, carried, lost, lost_code;
    char session_id[64];
    int64_t last_alive_us;
    struct wsession *ws;
};

static struct fixture *fx_global;

static int srv_on_open(void *arg, struct http_conn *conn)
{
    struct sconn *c = arg;
    c->conn = conn;
    c->opened = 1;
    return 0;
}

static int srv_on_read(void *arg, const uint8_t *data, size_t len)
{
    return 0; /* the session sends nothing but pongs and its close */
}

static void srv_on_close(void *arg)
{
    struct sconn *c = arg;
    c->conn = NULL;
    c->closed = 1;
}

static const struct http_ws_ops srv_ops = {srv_on_open, srv_on_read, srv_on_close};

static void handle_ws(struct http_request *req)
{
    struct fixture *fx = fx_global;
    CHECK(fx->nconns < MAX_CONNS);
    CHECK(http_upgrade_websocket(req, &srv_ops, &fx->conns[fx->nconns++]) == 0);
}

static void on_copy_written(void *arg, int status)
{
    free(arg);
}

static void send_bytes(struct sconn *c, const struct buf *b)
{
    CHECK(c->conn != NULL);
    char *copy = malloc(b->len);
    memcpy(copy, b->data, b->len);
    uv_buf_t ub = uv_buf_init(copy, (unsigned)b->len);
    if (http_conn_writev(c->conn, &ub, 1, on_copy_written, copy) != 0)
        free(copy);
}

static void send_text(struct sconn *c, const char *json)
{
    struct buf b;
    buf_init(&b, 0);
    CHECK(ws_encode_frame(&b, WS_OP_TEXT, json, strlen(json), NULL) == 0);
    send_bytes(c, &b);
    buf_release(&b);
}

static void send_welcome(struct sconn *c, const char *id, int keepalive_s)
{
    char ts[40], msg[512];
    clock_format_rfc3339(clock_wall_us(), ts, sizeof ts);
    snprintf(msg, sizeof msg,
             "{\"metadata\":{\"message_id\":\"w-%s\",\"message_type\":\"session_welcome\","
             "\"message_timestamp\":\"%s\"},\"payload\":{\"session\":{\"id\":\"%s\","
             "\"status\":\"connected\",\"keepalive_timeout_seconds\":%d,"
             "\"reconnect_url\":null,\"connected_at\":\"%s\"}}}",
             id, ts, id, keepalive_s, ts);
    send_text(c, msg);
}

static void on_welcome(void *arg, const char *session_id, int carried)
{
    struct fixture *fx = arg;
    fx->welcomes++;
    fx->carried = carried;
    snprintf(fx->session_id, sizeof fx->session_id, "%s", session_id);
}

static void on_revocation(void *arg, const char *sid, const char *type, const char *status)
{
}

static void on_lost(void *arg, int close_code, const char *why, int64_t last_alive_us)
{
    struct fixture *fx = arg;
    fx->lost++;
    fx->lost_code = close_code;
    fx->last_alive_us = last_alive_us;
    fx->ws = NULL; /* it frees itself */
}

static const struct wsession_ops ops = {on_welcome, on_revocation, on_lost};

static void fx_init(struct fixture *fx)
{
    memset(fx, 0, sizeof *fx);
    fx_global = fx;
    signal(SIGPIPE, SIG_IGN);
    CHECK(uv_loop_init(&fx->loop) == 0);
    fx->routes[0] = (struct http_route){HTTP_VERB_GET, "/ws", handle_ws, NULL, 0};
    struct http_server_options so = {.host = "127.0.0.1", .port = 0, .routes = fx->routes,
                                     .not_found = handle_ws};
    CHECK(http_server_new(&fx->loop, &so, &fx->srv, NULL) == 0);
    char url[128];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/ws", http_server_port(fx->srv));
    struct err err = {{0}};
    CHECK(wsession_open(&fx->loop, url, NULL, &ops, fx, &fx->ws, &err) == 0);
}

static void fx_free(struct fixture *fx)
{
    if (fx->ws)
        wsession_close(fx->ws);
    for (int i = 0; i < fx->nconns; i++)
        if (fx->conns[i].conn)
            http_conn_close(fx->conns[i].conn);
    http_server_free(fx->srv);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(&fx->loop) == 0);
}

/* Runs the loop until *flag reaches want, or fails after ms. */
static void run_until(struct fixture *fx, const int *flag, int want, int64_t ms)
{
    int64_t deadline = clock_mono_us() + ms * 1000;
    while (*flag < want) {
        CHECK(clock_mono_us() < deadline);
        uv_run(&fx->loop, UV_RUN_NOWAIT);
    }
}

static void test_welcome(void)
{
    struct fixture fx;
    fx_init(&fx);
    run_until(&fx, &fx.conns[0].opened, 1, 5000);
    CHECK_STR(wsession_id(fx.ws), "");
    send_welcome(&fx.conns[0], "s-one", 10);
    run_until(&fx, &fx.welcomes, 1, 5000);
    CHECK_STR(fx.session_id, "s-one");
    CHECK_INT(fx.carried, 0);
    CHECK_STR(wsession_id(fx.ws), "s-one");
    send_text(&fx.conns[0], "{\"metadata\":{\"message_id\":\"k1\",\"message_type\":"
                            "\"session_keepalive\",\"message_timestamp\":\"2026-01-01T00:00:00Z\"},"
                            "\"payload\":{}}");
    struct wsession_stats st = {0};
    int64_t deadline = clock_mono_us() + 5000000;
    while (st.keepalives < 1) {
        CHECK(clock_mono_us() < deadline);
        uv_run(&fx.loop, UV_RUN_NOWAIT);
        wsession_stats(fx.ws, &st);
    }
    CHECK_INT(fx.lost, 0);
    fx_free(&fx);
}

static void test_keepalive_timeout(void)
{
    struct fixture fx;
    fx_init(&fx);
    run_until(&fx, &fx.conns[0].opened, 1, 5000);
    send_welcome(&fx.conns[0], "s-quiet", 1);
    run_until(&fx, &fx.welcomes, 1, 5000);
    int64_t welcomed = clock_wall_us();
    run_until(&fx, &fx.lost, 1, 10000); /* 1 s keepalive, with slack */
    CHECK_INT(fx.lost_code, 4005);
    CHECK(fx.last_alive_us > 0 && fx.last_alive_us <= welcomed);
    run_until(&fx, &fx.conns[0].closed, 1, 5000); /* the silent socket is closed */
    fx_free(&fx);
}

static void test_reconnect_handover(void)
{
    struct fixture fx;
    fx_init(&fx);
    run_until(&fx, &fx.conns[0].opened, 1, 5000);
    send_welcome(&fx.conns[0], "s-old", 10);
    run_until(&fx, &fx.welcomes, 1, 5000);
    char msg[512];
    snprintf(msg, sizeof msg,
             "{\"metadata\":{\"message_id\":\"r1\",\"message_type\":\"session_reconnect\","
             "\"message_timestamp\":\"2026-01-01T00:00:00Z\"},\"payload\":{\"session\":{"
             "\"id\":\"s-old\",\"status\":\"reconnecting\",\"reconnect_url\":"
             "\"ws://127.0.0.1:%d/ws?handover=1\"}}}",
             http_server_port(fx.srv));
    send_text(&fx.conns[0], msg);
    run_until(&fx, &fx.conns[1].opened, 1, 5000);
    CHECK_INT(fx.conns[0].closed, 0); /* the old socket is kept until the new welcome */
    send_welcome(&fx.conns[1], "s-new", 10);
    run_until(&fx, &fx.welcomes, 2, 5000);
    CHECK_STR(fx.session_id, "s-new");
    CHECK_INT(fx.carried, 1);
    run_until(&fx, &fx.conns[0].closed, 1, 5000); /* then the old one is closed */
    CHECK_INT(fx.lost, 0);
    struct wsession_stats st;
    wsession_stats(fx.ws, &st);
    CHECK_INT(st.reconnects, 1);
    fx_free(&fx);
}

static void test_close_codes(void)
{
    struct fixture fx;
    fx_init(&fx);
    run_until(&fx, &fx.conns[0].opened, 1, 5000);
    send_welcome(&fx.conns[0], "s-closed", 10);
    run_until(&fx, &fx.welcomes, 1, 5000);
    struct buf b;
    buf_init(&b, 0);
    CHECK(ws_encode_close(&b, 4003, "connection unused", NULL) == 0);
    send_bytes(&fx.conns[0], &b);
    buf_release(&b);
    run_until(&fx, &fx.lost, 1, 5000);
    CHECK_INT(fx.lost_code, 4003);
    CHECK(strlen(wsession_close_meaning(4003)) > 0);
    CHECK(strcmp(wsession_close_meaning(4003), wsession_close_meaning(4005)) != 0);
    fx_free(&fx);
}

static const struct unit_test tests[] = {
    {"welcome: the session id, a fresh session, keepalives counted", test_welcome},
    {"no message within the keepalive window: lost with 4005", test_keepalive_timeout},
    {"session_reconnect: the new welcome carries over, the old socket closes",
     test_reconnect_handover},
    {"a close code from Twitch reaches on_lost", test_close_codes},
    {0},
};
UNIT_MAIN(tests)
