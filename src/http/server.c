#include "http/server.h"
#include "http/request.h"
#include "http/response.h"
#include "http/server_int.h"

#include <ctype.h>
#include <http_parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/map.h"
#include "ws/frame.h"

#define IDLE_TIMEOUT_US (30 * 1000000LL)
#define HEADER_TIMEOUT_US (15 * 1000000LL)
#define BODY_TIMEOUT_US (30 * 1000000LL)
#define SEND_TIMEOUT_US (60 * 1000000LL)
#define LINGER_US (2 * 1000000LL) /* a connection answered 503 at once: time to read it out */
#define RETRY_AFTER_S 5

static void conn_feed(struct http_conn *c, const char *data, size_t len);


/* ---- requests ---- */

static void dispatch(struct http_conn *c)
{
    struct http_server *srv = c->srv;
    struct http_request *req = c->rd.req;
    int path_matched;
    int i = http_route_find(srv->opts.routes, req, &path_matched);
    if (i >= 0) {
        const struct http_route *r = &srv->opts.routes[i];
        req->route_index = i;
        req->route_ctx = r->ctx;
        r->handler(req);
        return;
    }
    if (path_matched) {
        http_respond_error(req, 405, "method not allowed on this path");
        return;
    }
    req->route_ctx = srv->opts.not_found_ctx;
    srv->opts.not_found(req);
}

/* ---- pipelining ---- */

/* Pipelined bytes live in a buffer of their own, made only when a client sends ahead: idle
 * connections (most WebSocket clients) carry one pointer for it. */
static int pending_append(struct http_conn *c, const char *data, size_t len)
{
    if (!c->pending) {
        c->pending = malloc(sizeof *c->pending);
        if (!c->pending)
            return -1;
        buf_init(c->pending, HTTP_HEAD_MAX + HTTP_DEFAULT_BODY_MAX);
    }
    return buf_append(c->pending, data, len);
}

/* The pending buffer (owned by the caller now), or NULL. */
struct buf *server_pending_take(struct http_conn *c)
{
    struct buf *b = c->pending;
    c->pending = NULL;
    return b;
}

/* ---- writing ---- */

void server_on_written(uv_write_t *w, int status)
{
    struct write_req *wr = (struct write_req *)w;
    struct http_conn *c = wr->conn;
    if (wr->cb)
        wr->cb(wr->arg, status);
    free(wr->data);
    int close_after = wr->close_after;
    free(wr);
    if (c->state == CONN_CLOSING)
        return;
    if (status < 0 || close_after) {
        server_conn_close(c);
        return;
    }
    if (c->state == CONN_HANDLING && !c->rd.req) { /* response done: next request */
        c->state = CONN_READING;
        server_deadline(c, c->srv->idle_us);
        if (c->pending) { /* a pipelined request, whole or in part */
            struct buf *pending = server_pending_take(c);
            conn_feed(c, pending->data, pending->len);
            buf_release(pending);
            free(pending);
        }
        /* still reading: nothing pending, or only the start of the next request */
        if (c->state == CONN_READING)
            uv_read_start((uv_stream_t *)&c->tcp, server_on_alloc, server_on_read);
    }
}

/* Writes an answer (head, then body; both borrowed) and closes afterwards if close_after.
 * The socket takes a small answer whole at once (one writev, no copy, no write request); a
 * rest the kernel does not take is copied and queued. An answer made inside dispatch()
 * leaves the connection reading (conn_feed goes on with what follows); one made later
 * restarts reading here unless pipelined bytes wait (then the write callback feeds them). */
static void conn_answer(struct http_conn *c, const char *head, size_t hlen, const char *body,
                        size_t blen, int close_after)
{
    size_t total = hlen + blen;
    int w = 0;
    if (!c->pending || c->dispatching) {
        uv_buf_t bufs[2] = {uv_buf_init((char *)head, (unsigned)hlen),
                            uv_buf_init((char *)body, (unsigned)blen)};
        if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) == 0)
            w = uv_try_write((uv_stream_t *)&c->tcp, bufs, blen ? 2 : 1);
        if (w == UV_EAGAIN)
            w = 0;
        if (w < 0) {
            server_conn_close(c);
            return;
        }
        if ((size_t)w == total) {
            if (close_after) {
                server_conn_close(c);
                return;
            }
            c->state = CONN_READING;
            server_deadline(c, c->srv->idle_us);
            if (!c->dispatching) /* reads were stopped while the handler worked */
                uv_read_start((uv_stream_t *)&c->tcp, server_on_alloc, server_on_read);
            return;
        }
    }
    size_t off = (size_t)w, n = total - off;
    char *data = malloc(n ? n : 1);
    if (!data) {
        server_conn_close(c);
        return;
    }
    if (off < hlen) {
        memcpy(data, head + off, hlen - off);
        memcpy(data + (hlen - off), body, blen);
    } else {
        memcpy(data, body + (off - hlen), n);
    }
    server_conn_write_owned(c, data, n, close_after);
}

int server_conn_write_owned(struct http_conn *c, char *data, size_t len, int close_after)
{
    struct write_req *wr = calloc(1, sizeof *wr);
    if (!wr) {
        free(data);
        server_conn_close(c);
        return -1;
    }
    wr->conn = c;
    wr->data = data;
    wr->close_after = close_after;
    if (c->state == CONN_HANDLING) /* an answer: the client has this long to take it */
        server_deadline(c, c->srv->send_us);
    uv_buf_t b = uv_buf_init(data, (unsigned)len);
    if (uv_write(&wr->w, (uv_stream_t *)&c->tcp, &b, 1, server_on_written) < 0) {
        free(data);
        free(wr);
        server_conn_close(c);
        return -1;
    }
    return 0;
}

void server_finish_request(struct http_request *req, int status)
{
    struct http_conn *c = req->conn;
    struct http_server *srv = c ? c->srv : NULL;
    if (srv && srv->opts.observe) {
        const char *route = req->route_index >= 0 ? srv->opts.routes[req->route_index].pattern
                                                  : "unmatched";
        srv->opts.observe(srv->opts.observe_arg, route, status, clock_mono_us() - req->start_us);
    }
}

static void respond_raw(struct http_request *req, int status, const char *content_type,
                        const void *body, size_t len)
{
    if (req->answered > 0)
        return;
    req->answered = 1;
    struct http_conn *c = req->conn;
    if (!c) { /* the client went away while we worked: nothing to send */
        http_request_free(req);
        return;
    }
    server_finish_request(req, status);
    struct buf *out = &c->srv->head_buf; /* shared: written or copied before we return */
    out->len = 0;
    int close_after = !req->keep_alive || c->srv->shutting_down;
    if (response_head(out, status, c->srv->opts.default_headers, content_type, &req->resp_headers,
                      len, close_after) < 0) {
        c->rd.req = NULL;
        http_request_free(req);
        server_conn_close(c);
        return;
    }
    if (req->verb == HTTP_VERB_HEAD || status == 204 || status == 304)
        len = 0;
    c->rd.req = NULL;
    http_request_free(req);
    conn_answer(c, out->data, out->len, body, len, close_after);
}

void http_respond(struct http_request *req, int status, const char *content_type,
                  const void *body, size_t len)
{
    respond_raw(req, status, content_type, body, len);
}

void http_respond_buf(struct http_request *req, int status, const char *content_type,
                      struct buf *body)
{
    respond_raw(req, status, content_type, body->data ? body->data : "", body->len);
    buf_release(body);
}

void http_respond_error(struct http_request *req, int status, const char *message)
{
    struct buf b;
    buf_init(&b, 0);
    buf_puts(&b, "{\"error\":\"");
    buf_json_escape(&b, message, strlen(message));
    buf_puts(&b, "\"}");
    http_respond_buf(req, status, "application/json", &b);
}

void http_respond_redirect(struct http_request *req, int status, const char *location)
{
    http_add_header(req, "Location", location);
    http_respond(req, status, NULL, "", 0);
}

int http_request_gone(const struct http_request *req)
{
    return req->conn == NULL;
}

uv_loop_t *http_request_loop(const struct http_request *req)
{
    return req->conn ? req->conn->srv->loop : NULL;
}

/* ---- reading ---- */

void server_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    struct http_conn *c = h->data;
    b->base = c->srv->read_buf;
    b->len = sizeof c->srv->read_buf;
}

/* Answers a request that could not be parsed, then closes. */
static void reject(struct http_conn *c, int status, const char *message)
{
    if (!c->rd.req)
        c->rd.req = http_request_new(c);
    if (!c->rd.req) {
        server_conn_close(c);
        return;
    }
    c->rd.req->keep_alive = 0;
    c->rd.req->answered = 0;
    c->state = CONN_HANDLING;
    uv_read_stop((uv_stream_t *)&c->tcp);
    log_info("http.rejected", "status=%d reason=\"%s\"", status, message);
    http_respond_error(c->rd.req, status, message);
}

/* The reader's news: each part of a request has its own deadline (see the states above). */
static void conn_on_phase(void *arg, enum http_reader_phase phase)
{
    struct http_conn *c = arg;
    server_deadline(c, phase == HTTP_READER_HEAD ? c->srv->header_us : c->srv->body_us);
}

/* Reads requests from data: each whole one is dispatched; one answered at once (and written
 * whole) leaves the connection reading, so the next request in the same bytes (or the next
 * read) follows without stopping and restarting reads (two epoll_ctl calls per request). One
 * still being handled stops reads until its answer is written (server_on_written). */
static void conn_feed(struct http_conn *c, const char *data, size_t len)
{
    struct buf *owned = NULL; /* pipelined bytes taken back after an inline answer */
    for (;;) {
        size_t n = http_reader_feed(&c->rd, data, len);
        enum http_errno e = HTTP_PARSER_ERRNO(&c->rd.parser);
        if (e == HPE_PAUSED) {
            http_reader_resume(&c->rd);
            /* a whole request: keep whatever follows it for later */
            if (n < len && pending_append(c, data + n, len - n) < 0) {
                server_conn_close(c);
                break;
            }
            c->state = CONN_HANDLING;
            c->deadline_ms = 0; /* the handler's time is ours */
            struct http_request *req = c->rd.req;
            req->start_us = clock_mono_us();
            c->dispatching = 1;
            dispatch(c);
            c->dispatching = 0;
            if (c->state == CONN_HANDLING) /* still working, or the answer is queued */
                uv_read_stop((uv_stream_t *)&c->tcp);
            if (c->state != CONN_READING || !c->pending)
                break;
            /* answered and written: the pipelined request next */
            if (owned) {
                buf_release(owned);
                free(owned);
            }
            owned = server_pending_take(c);
            data = owned->data;
            len = owned->len;
            continue;
        }
        if (e != HPE_OK) {
            if (c->rd.req && c->rd.req->answered == HTTP_TOO_LARGE_BODY)
                reject(c, 413, "request body too large");
            else if (c->rd.req && c->rd.req->answered == HTTP_TOO_LARGE_HEAD)
                reject(c, 431, "request headers too large");
            else
                reject(c, 400, http_errno_description(e));
        }
        break;
    }
    if (owned) {
        buf_release(owned);
        free(owned);
    }
}

void server_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    struct http_conn *c = s->data;
    if (nread < 0) {
        server_conn_close(c);
        return;
    }
    if (nread == 0)
        return;
    if (c->state == CONN_UPGRADED) {
        if (c->ws.ops->on_read(c->ws.arg, (const uint8_t *)b->base, (size_t)nread) < 0)
            server_conn_close(c);
        return;
    }
    if (c->state != CONN_READING) /* REJECTING: read out and dropped */
        return;
    conn_feed(c, b->base, (size_t)nread);
}

/* ---- connections ---- */

/* Frees the server once its handles and connections have all closed. */
static void server_destroy(struct http_server *srv)
{
    buf_release(&srv->head_buf);
    map_release(&srv->peers); /* empty: every connection has detached */
    free(srv->busy_global);
    free(srv->busy_address);
    free(srv);
}

/* Counts c against its client address; 1 when that address is at its limit (not counted),
 * -1 when out of memory. addr receives the address as text. */
static int peer_attach(struct http_conn *c, char *addr, size_t size)
{
    struct http_server *srv = c->srv;
    http_conn_peer(c, addr, size);
    struct peer *p = map_get(&srv->peers, addr);
    if (p && p->count >= srv->opts.max_per_address)
        return 1;
    if (!p) {
        p = calloc(1, sizeof *p);
        if (!p)
            return -1;
        snprintf(p->key, sizeof p->key, "%s", addr);
        if (map_put(&srv->peers, p->key, p) < 0) {
            free(p);
            return -1;
        }
    }
    p->count++;
    c->peer = p;
    return 0;
}

static void peer_detach(struct http_conn *c)
{
    struct peer *p = c->peer;
    if (!p)
        return;
    c->peer = NULL;
    if (--p->count == 0) {
        map_remove(&c->srv->peers, p->key);
        free(p);
    }
}

static void on_conn_closed(uv_handle_t *h)
{
    struct http_conn *c = h->data;
    struct http_server *srv = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    srv->nconns--;
    if (c->rejecting)
        srv->nrejecting--;
    peer_detach(c);
    http_request_free(c->rd.req);
    struct buf *pending = server_pending_take(c);
    if (pending) {
        buf_release(pending);
        free(pending);
    }
    free(c);
    if (srv->shutting_down && srv->nconns == 0 && srv->shutdown_cb) {
        void (*cb)(void *) = srv->shutdown_cb;
        srv->shutdown_cb = NULL;
        cb(srv->shutdown_arg);
    }
    /* libuv runs close callbacks newest first, so the server may have gone first */
    if (srv->freeing && srv->nconns == 0 && srv->handles_open == 0)
        server_destroy(srv);
}

void server_conn_close(struct http_conn *c)
{
    if (c->state == CONN_CLOSING)
        return;
    enum conn_state was = (enum conn_state)c->state;
    c->state = CONN_CLOSING;
    if (was == CONN_HANDLING && c->rd.req && c->rd.req->answered <= 0) {
        c->rd.req->conn = NULL; /* the handler still holds it; it is freed when answered */
        c->rd.req = NULL;
    }
    if (was == CONN_UPGRADED && c->ws.ops && c->ws.ops->on_close)
        c->ws.ops->on_close(c->ws.arg);
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

/* One log line per 10 s at most about connections refused for a limit: a flood must not
 * flood the log too. */
static void busy_note(struct http_server *srv, const char *limit, const char *addr)
{
    srv->busy_count++;
    int64_t now = clock_mono_us();
    if (srv->busy_logged_us && now - srv->busy_logged_us < 10 * 1000000LL)
        return;
    log_warn("http.busy",
             "limit=%s addr=%s open=%zu refused=%llu max_connections=%zu max_per_address=%zu",
             limit, addr, srv->nconns - srv->nrejecting, (unsigned long long)srv->busy_count,
             srv->opts.max_connections, srv->opts.max_per_address);
    srv->busy_logged_us = now;
    srv->busy_count = 0;
}

static void on_refused_shutdown(uv_shutdown_t *sr, int status)
{
    free(sr);
}

/* A connection over a limit: answered at once with the canned 503 (a fresh socket takes it
 * whole), then shut down and read out until the client closes or LINGER_US pass, so the
 * answer is not lost to a reset. Beyond HTTP_REJECTING_MAX of those, closed unanswered. */
static void conn_refuse(struct http_conn *c, const char *response, const char *limit,
                        const char *addr)
{
    struct http_server *srv = c->srv;
    busy_note(srv, limit, addr);
    if (srv->nrejecting >= HTTP_REJECTING_MAX) {
        server_conn_close(c);
        return;
    }
    c->state = CONN_REJECTING;
    c->rejecting = 1;
    srv->nrejecting++;
    server_deadline(c, LINGER_US);
    uv_buf_t b = uv_buf_init((char *)response, (unsigned)strlen(response));
    uv_shutdown_t *sr = NULL;
    if (uv_try_write((uv_stream_t *)&c->tcp, &b, 1) != (int)b.len || !(sr = malloc(sizeof *sr)) ||
        uv_shutdown(sr, (uv_stream_t *)&c->tcp, on_refused_shutdown) < 0) {
        free(sr);
        server_conn_close(c);
        return;
    }
    uv_read_start((uv_stream_t *)&c->tcp, server_on_alloc, server_on_read);
}

static void accept_error(struct http_server *srv, int status)
{
    int64_t now = clock_mono_us();
    if (srv->accept_error_logged_us && now - srv->accept_error_logged_us < 10 * 1000000LL)
        return;
    srv->accept_error_logged_us = now;
    log_warn("http.accept_failed", "error=\"%s\" open=%zu", uv_strerror(status), srv->nconns);
}

static void on_sink_closed(uv_handle_t *h);

/* Out of memory for a connection: accept it into the server's one spare handle and close
 * it, so libuv keeps accepting (it stops watching the listener while a connection waits to
 * be accepted). If the spare is still closing, its close callback accepts the next one. */
static void accept_drop(struct http_server *srv)
{
    if (srv->sink_busy) {
        srv->accept_stalled = 1;
        return;
    }
    srv->accept_stalled = 0;
    uv_tcp_init(srv->loop, &srv->sink);
    srv->sink.data = srv;
    srv->sink_busy = 1;
    srv->handles_open++;
    uv_accept((uv_stream_t *)&srv->listener, (uv_stream_t *)&srv->sink);
    uv_close((uv_handle_t *)&srv->sink, on_sink_closed);
}

static void on_sink_closed(uv_handle_t *h)
{
    struct http_server *srv = h->data;
    srv->sink_busy = 0;
    srv->handles_open--;
    if (srv->freeing) {
        if (srv->handles_open == 0 && srv->nconns == 0)
            server_destroy(srv);
        return;
    }
    if (srv->accept_stalled)
        accept_drop(srv);
}

/* Closes one connection that nobody is waiting on (a refusal in progress, else an idle
 * keep-alive one): uv_close gives its descriptor back at once. */
static void shed_one(struct http_server *srv)
{
    struct http_conn *idle = NULL;
    for (struct http_conn *c = srv->conns; c; c = c->next) {
        if (c->state == CONN_REJECTING) {
            server_conn_close(c);
            return;
        }
        if (c->state == CONN_READING && !c->rd.req)
            idle = c;
    }
    if (idle)
        server_conn_close(idle);
}

static void on_connection(uv_stream_t *listener, int status)
{
    struct http_server *srv = listener->data;
    if (status < 0) {
        accept_error(srv, status);
        /* EMFILE here means libuv's spare descriptor is gone too (with it, libuv accepts and
         * closes the waiting connections itself and does not call us): libuv retries accept
         * at once, so free a descriptor of ours or the loop would spin */
        if (status == UV_EMFILE || status == UV_ENFILE)
            shed_one(srv);
        return;
    }
    struct http_conn *c = calloc(1, sizeof *c);
    if (!c) {
        accept_drop(srv);
        return;
    }
    uv_tcp_init(srv->loop, &c->tcp);
    c->tcp.data = c;
    c->srv = srv;
    if (uv_accept(listener, (uv_stream_t *)&c->tcp) < 0) {
        uv_close((uv_handle_t *)&c->tcp, (uv_close_cb)free);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    http_reader_init(&c->rd, &srv->reader_cfg, c, c);
    server_deadline(c, srv->idle_us);
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    srv->nconns++;
    if (srv->shutting_down) {
        server_conn_close(c);
        return;
    }
    if (srv->opts.max_connections && srv->nconns - srv->nrejecting > srv->opts.max_connections) {
        conn_refuse(c, srv->busy_global, "max_connections", "-");
        return;
    }
    if (srv->opts.max_per_address) {
        char addr[64];
        int r = peer_attach(c, addr, sizeof addr);
        if (r < 0) {
            server_conn_close(c);
            return;
        }
        if (r > 0) {
            conn_refuse(c, srv->busy_address, "max_per_address", addr);
            return;
        }
    }
    uv_read_start((uv_stream_t *)&c->tcp, server_on_alloc, server_on_read);
}

/* Closes the connections past their deadline (see the states at the top). */
static void on_sweep(uv_timer_t *t)
{
    struct http_server *srv = t->data;
    uint32_t now = server_ms(srv);
    for (struct http_conn *c = srv->conns, *next; c; c = next) {
        next = c->next;
        if (c->state == CONN_UPGRADED || c->state == CONN_CLOSING || !c->deadline_ms ||
            (int32_t)(now - c->deadline_ms) < 0)
            continue;
        if (c->state != CONN_REJECTING) {
            const char *what = c->state == CONN_HANDLING ? "send"
                               : !c->rd.req                 ? "idle"
                               : c->rd.req->header_state == 3 ? "body"
                                                           : "header";
            log_debug("http.timeout", "waited_for=%s", what);
        }
        server_conn_close(c);
    }
}

/* ---- connections, as the WebSocket side sees them ---- */

void http_conn_peer(const struct http_conn *c, char *out, size_t size)
{
    struct sockaddr_storage ss;
    int len = sizeof ss;
    snprintf(out, size, "?");
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0) {
        if (ss.ss_family == AF_INET)
            uv_ip4_name((struct sockaddr_in *)&ss, out, size);
        else if (ss.ss_family == AF_INET6)
            uv_ip6_name((struct sockaddr_in6 *)&ss, out, size);
    }
}

/* ---- server ---- */

/* The answer to a connection over a limit, built once: it is sent before the request is
 * read, so it cannot depend on it. */
static char *busy_response(const struct http_server_options *opts, const char *message)
{
    struct buf body, out;
    buf_init(&body, 0);
    buf_init(&out, 0);
    buf_puts(&body, "{\"error\":\"");
    buf_json_escape(&body, message, strlen(message));
    buf_puts(&body, "\"}");
    buf_printf(&out, "HTTP/1.1 503 %s\r\n%sContent-Type: application/json\r\nRetry-After: %d\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n",
               http_status_text(503), opts->default_headers ? opts->default_headers : "",
               RETRY_AFTER_S, body.len);
    buf_append(&out, body.data, body.len);
    buf_release(&body);
    return buf_detach(&out, NULL);
}

int http_server_new(uv_loop_t *loop, const struct http_server_options *opts,
                    struct http_server **out, struct err *err)
{
    struct http_server *srv = calloc(1, sizeof *srv);
    if (!srv)
        return err_set(err, "out of memory");
    srv->loop = loop;
    srv->opts = *opts;
    map_init(&srv->peers);
    buf_init(&srv->head_buf, 0);
    srv->epoch_us = clock_mono_us();
    srv->reader_cfg.routes = opts->routes;
    srv->reader_cfg.on_phase = conn_on_phase;
    srv->idle_us = opts->idle_timeout_us > 0 ? opts->idle_timeout_us : IDLE_TIMEOUT_US;
    srv->header_us = opts->header_timeout_us > 0 ? opts->header_timeout_us : HEADER_TIMEOUT_US;
    srv->body_us = opts->body_timeout_us > 0 ? opts->body_timeout_us : BODY_TIMEOUT_US;
    srv->send_us = opts->send_timeout_us > 0 ? opts->send_timeout_us : SEND_TIMEOUT_US;

    struct sockaddr_storage addr;
    if (uv_ip4_addr(opts->host, opts->port, (struct sockaddr_in *)&addr) != 0 &&
        uv_ip6_addr(opts->host, opts->port, (struct sockaddr_in6 *)&addr) != 0) {
        free(srv);
        return err_set(err, "'%s' is not an IP address", opts->host);
    }
    uv_tcp_init(loop, &srv->listener);
    srv->listener.data = srv;
    int r = uv_tcp_bind(&srv->listener, (struct sockaddr *)&addr, 0);
    if (r == 0)
        r = uv_listen((uv_stream_t *)&srv->listener, 4096, on_connection);
    if (r < 0) {
        uv_close((uv_handle_t *)&srv->listener, NULL);
        uv_run(loop, UV_RUN_NOWAIT); /* let the close finish before freeing */
        free(srv);
        return err_set(err, "cannot listen on %s:%d: %s", opts->host, opts->port, uv_strerror(r));
    }
    struct sockaddr_storage bound;
    int len = sizeof bound;
    uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&bound, &len);
    srv->port = ntohs(bound.ss_family == AF_INET ? ((struct sockaddr_in *)&bound)->sin_port
                                                 : ((struct sockaddr_in6 *)&bound)->sin6_port);
    srv->busy_global = busy_response(opts, "SEV is at its connection limit; try again shortly");
    srv->busy_address = busy_response(opts, "too many connections from your address; close some "
                                            "and try again");
    if (!srv->busy_global || !srv->busy_address) { /* start-up: nothing else to undo yet */
        free(srv->busy_global);
        free(srv->busy_address);
        uv_close((uv_handle_t *)&srv->listener, NULL);
        uv_run(loop, UV_RUN_NOWAIT);
        free(srv);
        return err_set(err, "out of memory");
    }
    uv_timer_init(loop, &srv->sweep);
    srv->sweep.data = srv;
    /* a deadline is met within a quarter of the shortest one (at most 1 s late) */
    int64_t shortest = srv->idle_us;
    int64_t others[] = {srv->header_us, srv->body_us, srv->send_us};
    for (size_t i = 0; i < 3; i++)
        if (others[i] < shortest)
            shortest = others[i];
    uint64_t every_ms = (uint64_t)(shortest / 4000);
    every_ms = every_ms < 20 ? 20 : every_ms > 1000 ? 1000 : every_ms;
    uv_timer_start(&srv->sweep, on_sweep, every_ms, every_ms);
    uv_unref((uv_handle_t *)&srv->sweep);
    srv->handles_open = 2;
    *out = srv;
    return 0;
}

int http_server_port(const struct http_server *srv)
{
    return srv->port;
}

size_t http_server_connections(const struct http_server *srv)
{
    return srv->nconns;
}

void http_server_shutdown(struct http_server *srv, void (*cb)(void *arg), void *arg)
{
    srv->shutting_down = 1;
    srv->shutdown_cb = cb;
    srv->shutdown_arg = arg;
    /* connections waiting on their client (keep-alive, a request not yet whole, a refusal)
     * and upgraded ones close now; busy ones after their answer, which the sweep still
     * bounds by the send timeout */
    for (struct http_conn *c = srv->conns, *next; c; c = next) {
        next = c->next;
        if (c->state == CONN_READING || c->state == CONN_REJECTING || c->state == CONN_UPGRADED)
            server_conn_close(c);
    }
    if (srv->nconns == 0 && srv->shutdown_cb) {
        srv->shutdown_cb = NULL;
        cb(arg);
    }
}

static void on_server_handle_closed(uv_handle_t *h)
{
    struct http_server *srv = h->data;
    if (--srv->handles_open == 0 && srv->nconns == 0)
        server_destroy(srv);
}

void http_server_free(struct http_server *srv)
{
    if (!srv)
        return;
    /* freed when both handles and every connection have closed: the caller runs the loop on */
    srv->freeing = 1;
    for (struct http_conn *c = srv->conns, *next; c; c = next) {
        next = c->next;
        server_conn_close(c);
    }
    uv_close((uv_handle_t *)&srv->listener, on_server_handle_closed);
    uv_close((uv_handle_t *)&srv->sweep, on_server_handle_closed);
}
