/* server_ws.c: GET /ws turned into a WebSocket (RFC 6455 handshake, then the socket belongs
 * to the caller's struct http_ws_ops) and the raw corked writes of an upgraded connection. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "http/server_int.h"
#include "ws/frame.h"

static int header_has_token(const char *value, const char *token)
{
    size_t n = strlen(token);
    for (const char *p = value; p && *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t len = strcspn(p, ",");
        size_t trimmed = len;
        while (trimmed && p[trimmed - 1] == ' ')
            trimmed--;
        if (trimmed == n && strncasecmp(p, token, n) == 0)
            return 1;
        p += len;
    }
    return 0;
}

int http_upgrade_websocket(struct http_request *req, const struct http_ws_ops *ops, void *arg)
{
    struct http_conn *c = req->conn;
    const char *upgrade = http_header(req, "Upgrade");
    const char *connection = http_header(req, "Connection");
    const char *key = http_header(req, "Sec-WebSocket-Key");
    const char *version = http_header(req, "Sec-WebSocket-Version");
    if (!c || req->verb != HTTP_VERB_GET) {
        http_respond_error(req, 400, "WebSocket upgrade needs GET");
        return -1;
    }
    if (!upgrade || !header_has_token(upgrade, "websocket") || !connection ||
        !header_has_token(connection, "upgrade")) {
        http_add_header(req, "Upgrade", "websocket");
        http_respond_error(req, 426, "this endpoint speaks WebSocket only");
        return -1;
    }
    if (!version || strcmp(version, "13") != 0) {
        http_add_header(req, "Sec-WebSocket-Version", "13");
        http_respond_error(req, 426, "unsupported WebSocket version (13 is)");
        return -1;
    }
    char accept[29];
    if (!key || strlen(key) != 24 || ws_accept_key(key, strlen(key), accept) < 0) {
        http_respond_error(req, 400, "bad Sec-WebSocket-Key");
        return -1;
    }
    server_finish_request(req, 101);
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                     accept);
    c->rd.req = NULL;
    http_request_free(req);
    c->state = CONN_UPGRADED;
    c->ws.ops = NULL; /* until on_open: conn_close does not call on_close before it */
    c->ws.arg = NULL;
    c->deadline_ms = 0;
    uv_buf_t b = uv_buf_init(head, (unsigned)n);
    int w = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    if (w != n) { /* a fresh socket takes 129 bytes at once; if not, copy and queue */
        size_t off = w > 0 ? (size_t)w : 0;
        char *copy = malloc((size_t)n - off);
        if (!copy) {
            server_conn_close(c);
            return -1;
        }
        memcpy(copy, head + off, (size_t)n - off);
        if (server_conn_write_owned(c, copy, (size_t)n - off, 0) < 0)
            return -1;
    }
    /* the owner knows the connection before any byte of the peer is delivered */
    c->ws.ops = ops;
    c->ws.arg = arg;
    if (ops->on_open(arg, c) < 0) {
        c->ws.ops = NULL;
        server_conn_close(c);
        return -1;
    }
    /* bytes the client sent right behind the handshake belong to the WebSocket */
    if (c->pending && c->state == CONN_UPGRADED) {
        struct buf *pending = server_pending_take(c);
        int r = ops->on_read(arg, (const uint8_t *)pending->data, pending->len);
        buf_release(pending);
        free(pending);
        if (r < 0)
            server_conn_close(c);
    }
    if (c->state == CONN_UPGRADED)
        uv_read_start((uv_stream_t *)&c->tcp, server_on_alloc, server_on_read);
    return 0;
}

int http_conn_writev(struct http_conn *c, const uv_buf_t *bufs, unsigned nbufs, http_write_fn cb,
                     void *arg)
{
    if (c->state == CONN_CLOSING)
        return -1;
    size_t total = 0;
    for (unsigned i = 0; i < nbufs; i++)
        total += bufs[i].len;
    int w = 0;
    if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) == 0) {
        w = uv_try_write((uv_stream_t *)&c->tcp, bufs, nbufs);
        if (w == UV_EAGAIN)
            w = 0;
        if (w < 0) {
            server_conn_close(c);
            return -1;
        }
        if ((size_t)w == total)
            return 1;
    }
    /* queue the rest: skip what the kernel took */
    unsigned first = 0;
    size_t skip = (size_t)w;
    while (first < nbufs && skip >= bufs[first].len) {
        skip -= bufs[first].len;
        first++;
    }
    uv_buf_t rest[64];
    unsigned nrest = 0;
    uv_buf_t *many = NULL;
    uv_buf_t *dst = rest;
    if (nbufs - first > 64) {
        many = malloc(sizeof *many * (nbufs - first));
        if (!many) {
            server_conn_close(c);
            return -1;
        }
        dst = many;
    }
    for (unsigned i = first; i < nbufs; i++) {
        dst[nrest] = bufs[i];
        if (i == first) {
            dst[nrest].base += skip;
            dst[nrest].len -= skip;
        }
        nrest++;
    }
    struct write_req *wr = calloc(1, sizeof *wr);
    if (!wr) {
        free(many);
        server_conn_close(c);
        return -1;
    }
    wr->conn = c;
    wr->cb = cb;
    wr->arg = arg;
    int r = uv_write(&wr->w, (uv_stream_t *)&c->tcp, dst, nrest, server_on_written);
    free(many); /* libuv copies the uv_buf_t array (not the bytes) */
    if (r < 0) {
        free(wr);
        server_conn_close(c);
        return -1;
    }
    return 0;
}

size_t http_conn_write_queue_size(const struct http_conn *c)
{
    return uv_stream_get_write_queue_size((const uv_stream_t *)&c->tcp);
}

void http_conn_close(struct http_conn *c)
{
    if (c)
        server_conn_close(c);
}
