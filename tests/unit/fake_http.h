/* fake_http.h: a tiny HTTP/1.1 server on the test's libuv loop, for unit tests of clients
 * (the Twitch client). Each request is read whole (head + Content-Length body), recorded, and
 * answered by the test's handler; the connection is closed after the answer.
 *
 *   static int handler(struct fake_http *f, struct fake_req *r, struct fake_answer *a) {
 *       a->status = 200; snprintf(a->body, sizeof a->body, "{}"); return 0; }
 *   fake_http_start(&f, loop, handler, ctx);   ... f.port ...   fake_http_stop(&f);
 *
 * A handler that sets status 0 leaves the request unanswered (for timeouts).
 */
#ifndef SEV_FAKE_HTTP_H
#define SEV_FAKE_HTTP_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uv.h>

#define FAKE_MAX_REQS 256

struct fake_req {
    char method[8];
    char target[4096]; /* path + query */
    char head[8192];   /* the raw header lines */
    char body[8192];
    size_t body_len;
};

struct fake_answer {
    int status; /* 0: never answer */
    char headers[1024]; /* extra "Name: value\r\n" lines */
    char body[65536];
};

struct fake_http;
typedef int (*fake_handler_fn)(struct fake_http *f, const struct fake_req *r,
                               struct fake_answer *a);

struct fake_http {
    uv_loop_t *loop;
    uv_tcp_t server;
    int port;
    fake_handler_fn handler;
    void *ctx;
    struct fake_req reqs[FAKE_MAX_REQS];
    int nreqs;
    int open_conns;
};

struct fake_conn {
    uv_tcp_t tcp;
    struct fake_http *f;
    char in[65536];
    size_t len;
    int done;
    uv_write_t w;
    char *out;
};

static void fake_conn_closed(uv_handle_t *h)
{
    struct fake_conn *c = h->data;
    c->f->open_conns--;
    free(c->out);
    free(c);
}

static void fake_written(uv_write_t *w, int status)
{
    struct fake_conn *c = w->data;
    (void)status;
    uv_close((uv_handle_t *)&c->tcp, fake_conn_closed);
}

static void fake_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf)
{
    struct fake_conn *c = h->data;
    (void)size;
    *buf = uv_buf_init(c->in + c->len, (unsigned)(sizeof c->in - 1 - c->len));
}

static void fake_answer_req(struct fake_conn *c)
{
    struct fake_http *f = c->f;
    char *end = strstr(c->in, "\r\n\r\n");
    size_t head_len = (size_t)(end - c->in) + 4;
    struct fake_req *r = &f->reqs[f->nreqs < FAKE_MAX_REQS ? f->nreqs++ : FAKE_MAX_REQS - 1];
    memset(r, 0, sizeof *r);
    sscanf(c->in, "%7s %4095s", r->method, r->target);
    snprintf(r->head, sizeof r->head, "%.*s", (int)head_len, c->in);
    r->body_len = c->len - head_len;
    if (r->body_len >= sizeof r->body)
        r->body_len = sizeof r->body - 1;
    memcpy(r->body, c->in + head_len, r->body_len);
    struct fake_answer *a = calloc(1, sizeof *a);
    a->status = 200;
    f->handler(f, r, a);
    if (a->status == 0) {
        free(a);
        return; /* never answered; closed by the client or at stop */
    }
    size_t blen = strlen(a->body);
    c->out = malloc(blen + 2048);
    int n = snprintf(c->out, blen + 2048,
                     "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n%s\r\n%s",
                     a->status, blen, a->headers, a->body);
    free(a);
    uv_buf_t b = uv_buf_init(c->out, (unsigned)n);
    c->w.data = c;
    uv_write(&c->w, (uv_stream_t *)&c->tcp, &b, 1, fake_written);
}

static void fake_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct fake_conn *c = s->data;
    (void)buf;
    if (n < 0) {
        if (!uv_is_closing((uv_handle_t *)s))
            uv_close((uv_handle_t *)s, fake_conn_closed);
        return;
    }
    c->len += (size_t)n;
    c->in[c->len] = 0;
    char *end = strstr(c->in, "\r\n\r\n");
    if (!end || c->done)
        return;
    size_t want = 0;
    const char *cl = strcasestr(c->in, "\r\nContent-Length:");
    if (cl && cl < end)
        want = strtoul(cl + 17, NULL, 10);
    if (c->len - (size_t)(end + 4 - c->in) < want)
        return;
    c->done = 1;
    fake_answer_req(c);
}

static void fake_on_conn(uv_stream_t *srv, int status)
{
    struct fake_http *f = srv->data;
    if (status < 0)
        return;
    struct fake_conn *c = calloc(1, sizeof *c);
    c->f = f;
    uv_tcp_init(f->loop, &c->tcp);
    c->tcp.data = c;
    f->open_conns++;
    if (uv_accept(srv, (uv_stream_t *)&c->tcp) == 0)
        uv_read_start((uv_stream_t *)&c->tcp, fake_alloc, fake_read);
    else
        uv_close((uv_handle_t *)&c->tcp, fake_conn_closed);
}

static int fake_http_start(struct fake_http *f, uv_loop_t *loop, fake_handler_fn h, void *ctx)
{
    memset(f, 0, sizeof *f);
    f->loop = loop;
    f->handler = h;
    f->ctx = ctx;
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", 0, &a);
    uv_tcp_init(loop, &f->server);
    f->server.data = f;
    if (uv_tcp_bind(&f->server, (const struct sockaddr *)&a, 0) ||
        uv_listen((uv_stream_t *)&f->server, 64, fake_on_conn))
        return -1;
    struct sockaddr_storage ss;
    int len = sizeof ss;
    uv_tcp_getsockname(&f->server, (struct sockaddr *)&ss, &len);
    f->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return 0;
}

static void fake_walk_close(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h) && h->type == UV_TCP && h->data && h->data != arg)
        uv_close(h, fake_conn_closed);
}

/* Closes the listener and any connection still open. */
static void fake_http_stop(struct fake_http *f)
{
    uv_close((uv_handle_t *)&f->server, NULL);
    uv_walk(f->loop, fake_walk_close, f);
}

/* The value of header name in r (copied), or "" . */
static const char *fake_header(const struct fake_req *r, const char *name, char *out, size_t size)
{
    char pat[128];
    snprintf(pat, sizeof pat, "\r\n%s:", name);
    const char *p = strcasestr(r->head, pat);
    out[0] = 0;
    if (!p)
        return out;
    p += strlen(pat);
    while (*p == ' ')
        p++;
    size_t n = strcspn(p, "\r\n");
    snprintf(out, size, "%.*s", (int)n, p);
    return out;
}

#endif
