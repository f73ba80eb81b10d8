#include "ws/client.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/rand.h"
#include "ws/frame.h"

#define HANDSHAKE_MAX 8192

enum client_state { ST_RESOLVING, ST_CONNECTING, ST_TLS, ST_UPGRADING, ST_OPEN, ST_CLOSING };

struct ws_client {
    uv_loop_t *loop;
    struct ws_client_ops ops;
    void *arg;
    struct ws_client_options opts;
    enum client_state state;
    int tls;
    char host[256];
    char port[8];
    char path[1024];
    char key[25];
    uv_getaddrinfo_t resolver;
    uv_connect_t connect_req;
    uv_tcp_t tcp;
    uv_timer_t timer;
    SSL_CTX *ctx; /* owned */
    SSL *ssl;     /* owned */
    BIO *rbio;    /* owned by ssl: network → TLS */
    BIO *wbio;    /* owned by ssl: TLS → network */
    struct buf handshake; /* response bytes until the blank line */
    struct ws_parser parser;
    int handles; /* open libuv handles; freed when 0 */
    int close_code;
    char close_reason[128];
    int notified;
    char read_buf[65536]; /* each read is consumed before the next: EventSub clients are few */
};

struct write_req {
    uv_write_t w;
    char data[]; /* owned copy */
};

static void client_fail(struct ws_client *c, int code, const char *reason);

/* ---- URL ---- */

static int parse_url(struct ws_client *c, const char *url, struct err *err)
{
    const char *p;
    if (strncmp(url, "wss://", 6) == 0) {
        c->tls = 1;
        p = url + 6;
    } else if (strncmp(url, "ws://", 5) == 0) {
        p = url + 5;
    } else {
        return err_set(err, "'%s' is not a ws:// or wss:// URL", url);
    }
    size_t hlen = strcspn(p, ":/?");
    if (hlen == 0 || hlen >= sizeof c->host)
        return err_set(err, "'%s' has no host", url);
    memcpy(c->host, p, hlen);
    c->host[hlen] = 0;
    p += hlen;
    snprintf(c->port, sizeof c->port, "%s", c->tls ? "443" : "80");
    if (*p == ':') {
        size_t plen = strcspn(p + 1, "/?");
        if (plen == 0 || plen >= sizeof c->port)
            return err_set(err, "'%s' has a bad port", url);
        memcpy(c->port, p + 1, plen);
        c->port[plen] = 0;
        p += 1 + plen;
    }
    if (snprintf(c->path, sizeof c->path, "%s%s", *p == '/' ? "" : "/", p) >=
        (int)sizeof c->path)
        return err_set(err, "URL too long");
    return 0;
}

/* ---- teardown ---- */

static void on_handle_closed(uv_handle_t *h)
{
    struct ws_client *c = h->data;
    if (--c->handles > 0)
        return;
    if (!c->notified) {
        c->notified = 1;
        c->ops.on_close(c->arg, c->close_code, c->close_reason);
    }
    if (c->ssl)
        SSL_free(c->ssl);
    if (c->ctx)
        SSL_CTX_free(c->ctx);
    buf_release(&c->handshake);
    ws_parser_release(&c->parser);
    free(c);
}

static void client_fail(struct ws_client *c, int code, const char *reason)
{
    if (c->state == ST_CLOSING)
        return;
    enum client_state was = c->state;
    c->state = ST_CLOSING;
    if (!c->close_code) {
        c->close_code = code;
        snprintf(c->close_reason, sizeof c->close_reason, "%s", reason ? reason : "");
    }
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    if (was == ST_RESOLVING) /* on_resolved runs (cancelled or not) and closes tcp */
        uv_cancel((uv_req_t *)&c->resolver);
    else if (!uv_is_closing((uv_handle_t *)&c->tcp))
        uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
}

/* ---- raw and TLS writes ---- */

static void on_written(uv_write_t *w, int status)
{
    free(w);
    (void)status; /* a failed write shows up as a read error and closes there */
}

static int tcp_write(struct ws_client *c, const void *data, size_t len)
{
    if (len == 0)
        return 0;
    struct write_req *wr = malloc(sizeof *wr + len);
    if (!wr)
        return -1;
    memcpy(wr->data, data, len);
    uv_buf_t b = uv_buf_init(wr->data, (unsigned)len);
    if (uv_write(&wr->w, (uv_stream_t *)&c->tcp, &b, 1, on_written) < 0) {
        free(wr);
        return -1;
    }
    return 0;
}

/* Moves whatever TLS produced into the socket. */
static int tls_flush(struct ws_client *c)
{
    char out[16384];
    int n;
    while ((n = BIO_read(c->wbio, out, sizeof out)) > 0)
        if (tcp_write(c, out, (size_t)n) < 0)
            return -1;
    return 0;
}

static int send_bytes(struct ws_client *c, const void *data, size_t len)
{
    if (!c->tls)
        return tcp_write(c, data, len);
    if (SSL_write(c->ssl, data, (int)len) <= 0)
        return -1;
    return tls_flush(c);
}

/* ---- WebSocket ---- */

static int on_frame(void *arg, enum ws_opcode op, const uint8_t *data, size_t len, uint16_t code)
{
    struct ws_client *c = arg;
    if (op == WS_OP_PING) {
        uint8_t mask[4];
        struct buf b;
        buf_init(&b, 0);
        rand_bytes(mask, sizeof mask);
        ws_encode_frame(&b, WS_OP_PONG, data, len, mask);
        send_bytes(c, b.data, b.len);
        buf_release(&b);
    } else if (op == WS_OP_CLOSE) {
        c->close_code = code;
        snprintf(c->close_reason, sizeof c->close_reason, "%.*s", (int)len, (const char *)data);
        ws_client_close(c, code == 1005 ? WS_CLOSE_NORMAL : code, "");
        return 1;
    } else if (op == WS_OP_TEXT || op == WS_OP_BINARY) {
        c->ops.on_message(c->arg, (const char *)data, len);
        if (c->state != ST_OPEN)
            return 1;
    }
    return 0;
}

static int check_upgrade(struct ws_client *c, const char *head)
{
    if (strncmp(head, "HTTP/1.1 101", 12) != 0)
        return -1;
    char expected[29];
    if (ws_accept_key(c->key, strlen(c->key), expected) < 0)
        return -1;
    for (const char *line = strstr(head, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
        const char *l = line + 2;
        if (strncasecmp(l, "Sec-WebSocket-Accept:", 21) == 0) {
            l += 21;
            while (*l == ' ')
                l++;
            return strncmp(l, expected, 28) == 0 ? 0 : -1;
        }
    }
    return -1;
}

/* Bytes of the plain stream (after TLS): the upgrade response, then frames. */
static void on_plain(struct ws_client *c, const char *data, size_t len)
{
    if (c->state == ST_UPGRADING) {
        if (buf_append(&c->handshake, data, len) < 0) {
            client_fail(c, 1006, "upgrade response too large");
            return;
        }
        char *end = strstr(c->handshake.data, "\r\n\r\n");
        if (!end)
            return;
        *end = 0;
        if (check_upgrade(c, c->handshake.data) < 0) {
            char first[128];
            snprintf(first, sizeof first, "upgrade refused: %.80s", c->handshake.data);
            client_fail(c, 1006, first);
            return;
        }
        size_t used = (size_t)(end + 4 - c->handshake.data);
        size_t rest = c->handshake.len - used;
        c->state = ST_OPEN;
        uv_timer_stop(&c->timer);
        c->ops.on_open(c->arg);
        if (rest && c->state == ST_OPEN)
            on_plain(c, c->handshake.data + used, rest);
        buf_release(&c->handshake);
        return;
    }
    if (c->state != ST_OPEN)
        return;
    if (ws_parser_feed(&c->parser, (const uint8_t *)data, len) < 0) {
        ws_client_close(c, c->parser.error_code, c->parser.error);
    }
}

static void send_upgrade(struct ws_client *c)
{
    unsigned char raw[16];
    rand_bytes(raw, sizeof raw);
    EVP_EncodeBlock((unsigned char *)c->key, raw, sizeof raw);
    char req[1600];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: %s%s%s\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\nUser-Agent: sev\r\n\r\n",
                     c->path, c->host, strcmp(c->port, c->tls ? "443" : "80") ? ":" : "",
                     strcmp(c->port, c->tls ? "443" : "80") ? c->port : "", c->key);
    c->state = ST_UPGRADING;
    if (send_bytes(c, req, (size_t)n) < 0)
        client_fail(c, 1006, "cannot send the upgrade request");
}

static void tls_progress(struct ws_client *c)
{
    if (c->state == ST_TLS) {
        int r = SSL_do_handshake(c->ssl);
        tls_flush(c);
        if (r == 1) {
            send_upgrade(c);
        } else {
            int e = SSL_get_error(c->ssl, r);
            if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
                const char *why = ERR_reason_error_string(ERR_get_error());
                char msg[120];
                snprintf(msg, sizeof msg, "TLS handshake failed: %s", why ? why : "unknown");
                client_fail(c, 1015, msg);
                return;
            }
        }
    }
    if (c->state != ST_UPGRADING && c->state != ST_OPEN)
        return;
    char plain[16384];
    int n;
    while ((n = SSL_read(c->ssl, plain, sizeof plain)) > 0) {
        on_plain(c, plain, (size_t)n);
        if (c->state == ST_CLOSING)
            return;
    }
    tls_flush(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    struct ws_client *c = h->data;
    b->base = c->read_buf;
    b->len = sizeof c->read_buf;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    struct ws_client *c = s->data;
    if (nread < 0) {
        client_fail(c, 1006, nread == UV_EOF ? "connection closed" : uv_strerror((int)nread));
        return;
    }
    if (c->tls) {
        BIO_write(c->rbio, b->base, (int)nread);
        tls_progress(c);
    } else {
        on_plain(c, b->base, (size_t)nread);
    }
}

static int tls_start(struct ws_client *c)
{
    c->ctx = SSL_CTX_new(TLS_client_method());
    if (!c->ctx)
        return -1;
    SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
    if (c->opts.ca_file ? SSL_CTX_load_verify_locations(c->ctx, c->opts.ca_file, NULL) != 1
                        : SSL_CTX_set_default_verify_paths(c->ctx) != 1)
        return -1;
    c->ssl = SSL_new(c->ctx);
    c->rbio = BIO_new(BIO_s_mem());
    c->wbio = BIO_new(BIO_s_mem());
    if (!c->ssl || !c->rbio || !c->wbio) {
        BIO_free(c->rbio);
        BIO_free(c->wbio);
        return -1;
    }
    SSL_set_bio(c->ssl, c->rbio, c->wbio);
    SSL_set_tlsext_host_name(c->ssl, c->host);
    SSL_set1_host(c->ssl, c->host);
    SSL_set_connect_state(c->ssl);
    c->state = ST_TLS;
    tls_progress(c);
    return 0;
}

static void on_connected(uv_connect_t *req, int status)
{
    struct ws_client *c = req->data;
    if (c->state == ST_CLOSING)
        return;
    if (status < 0) {
        client_fail(c, 1006, uv_strerror(status));
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    if (c->tls) {
        if (tls_start(c) < 0)
            client_fail(c, 1015, "cannot set up TLS");
    } else {
        send_upgrade(c);
    }
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct ws_client *c = req->data;
    if (c->state == ST_CLOSING) { /* cancelled: the tcp handle was never used */
        uv_freeaddrinfo(res);
        uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
        return;
    }
    if (status < 0 || !res) {
        uv_freeaddrinfo(res);
        client_fail(c, 1006, status < 0 ? uv_strerror(status) : "host not found");
        return;
    }
    c->state = ST_CONNECTING;
    c->connect_req.data = c;
    int r = uv_tcp_connect(&c->connect_req, &c->tcp, res->ai_addr, on_connected);
    uv_freeaddrinfo(res);
    if (r < 0)
        client_fail(c, 1006, uv_strerror(r));
}

static void on_timeout(uv_timer_t *t)
{
    struct ws_client *c = t->data;
    client_fail(c, 1006, "timed out connecting");
}

int ws_client_connect(uv_loop_t *loop, const char *url, const struct ws_client_options *opts,
                      const struct ws_client_ops *ops, void *arg, struct ws_client **out,
                      struct err *err)
{
    struct ws_client *c = calloc(1, sizeof *c);
    if (!c)
        return err_set(err, "out of memory");
    if (parse_url(c, url, err) < 0) {
        free(c);
        return -1;
    }
    c->loop = loop;
    c->ops = *ops;
    c->arg = arg;
    if (opts)
        c->opts = *opts;
    if (!c->opts.max_message)
        c->opts.max_message = 1u << 20;
    if (!c->opts.connect_timeout_ms)
        c->opts.connect_timeout_ms = 10000;
    buf_init(&c->handshake, HANDSHAKE_MAX);
    ws_parser_init(&c->parser, WS_CLIENT, c->opts.max_message, on_frame, c);
    uv_tcp_init(loop, &c->tcp);
    uv_timer_init(loop, &c->timer);
    c->tcp.data = c->timer.data = c->resolver.data = c;
    c->handles = 2;
    uv_timer_start(&c->timer, on_timeout, (uint64_t)c->opts.connect_timeout_ms, 0);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    c->state = ST_RESOLVING;
    int r = uv_getaddrinfo(loop, &c->resolver, on_resolved, c->host, c->port, &hints);
    if (r < 0) {
        /* on_close is promised once connect succeeded: fail through the normal path */
        c->state = ST_CONNECTING;
        client_fail(c, 1006, uv_strerror(r));
    }
    if (out)
        *out = c;
    return 0;
}

void ws_client_close(struct ws_client *c, uint16_t code, const char *reason)
{
    if (c->state == ST_OPEN) {
        uint8_t mask[4];
        struct buf b;
        buf_init(&b, 0);
        rand_bytes(mask, sizeof mask);
        if (ws_encode_close(&b, code, reason ? reason : "", mask) == 0)
            send_bytes(c, b.data, b.len);
        buf_release(&b);
        if (!c->close_code) {
            c->close_code = code;
            snprintf(c->close_reason, sizeof c->close_reason, "%s", reason ? reason : "");
        }
    }
    client_fail(c, code, reason);
}

int ws_client_send_text(struct ws_client *c, const char *data, size_t len)
{
    if (c->state != ST_OPEN)
        return -1;
    uint8_t mask[4];
    struct buf b;
    buf_init(&b, 0);
    rand_bytes(mask, sizeof mask);
    int r = ws_encode_frame(&b, WS_OP_TEXT, data, len, mask);
    if (r == 0)
        r = send_bytes(c, b.data, b.len);
    buf_release(&b);
    return r;
}
