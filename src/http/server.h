/* http/server: the HTTP/1.1 listener on the libuv loop; http-parser parses requests.
 *
 * A connection reads one request at a time (pipelined requests wait in the socket), runs the
 * route's handler, and resumes reading once the response is written. A handler answers at
 * once or later (asynchronously) with one of the http_respond*() calls; if the client goes
 * away first, the request stays valid until answered and the answer is dropped.
 *
 * A handler may turn the connection into a WebSocket with http_upgrade_websocket(): the
 * socket then belongs to the given struct http_ws_ops (the hub) until it closes.
 *
 * Limits (every buffer that grows from the network has a cap): request line + headers
 * 16 KiB, body per route (default 64 KiB) → 431 / 413. Every wait on the client is a total
 * deadline that reads do not extend (a byte every few seconds holds nothing): the next
 * request's first byte within the idle timeout, its head within the header timeout, its body
 * within the body timeout, each response taken within the send timeout; past one, the
 * connection is closed. Connections past max_connections, or past max_per_address from one
 * client address, are answered 503 (JSON, Retry-After, Connection: close) and closed; a few
 * more than that are closed unanswered, so the server never runs out of descriptors.
 */
#ifndef SEV_HTTP_SERVER_H
#define SEV_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "base/buf.h"
#include "base/err.h"

struct http_server;
struct http_conn;

enum http_verb { HTTP_VERB_GET = 1, HTTP_VERB_HEAD, HTTP_VERB_POST, HTTP_VERB_PUT,
                 HTTP_VERB_DELETE, HTTP_VERB_OTHER };

#define HTTP_MAX_HEADERS 48
#define HTTP_MAX_PARAMS 4

struct http_header {
    const char *name; /* borrowed from the request's head buffer; NUL-terminated */
    const char *value;
};

struct http_request {
    enum http_verb verb;
    const char *path;  /* decoded-safe raw path, NUL-terminated, without the query */
    const char *query; /* raw query string without '?', or "" */
    struct http_header headers[HTTP_MAX_HEADERS];
    size_t nheaders;
    const char *body; /* NUL-terminated for convenience; body_len bytes */
    size_t body_len;
    char *params[HTTP_MAX_PARAMS]; /* owned: decoded route captures (":login") */
    void *route_ctx;               /* borrowed: the ctx given with the route */
    int64_t start_us;              /* monotonic time the request was complete */
    /* private */
    struct http_conn *conn;        /* NULL once the client has gone */
    struct buf head;               /* owns url + header bytes */
    struct buf body_buf;
    struct buf resp_headers;       /* extra response headers added by the handler */
    int keep_alive;
    int answered;
    int route_index;
    /* header parsing (http-parser splits tokens): 0 none, 1 in a field, 2 in a value, 3 past
     * the head (trailers are ignored); offsets into head until the head is complete */
    int header_state;
    size_t field_off, value_off;
};

typedef void (*http_handler_fn)(struct http_request *req);

struct http_route {
    enum http_verb verb;   /* GET also answers HEAD */
    const char *pattern;   /* "/api/streamers/:login/events", "/static/..." (a trailing * matches the rest) */
    http_handler_fn handler;
    void *ctx;
    size_t max_body;       /* 0: 64 KiB */
};

/* Called after each response, e.g. for metrics: route pattern (or "unmatched"), status,
 * duration in µs. */
typedef void (*http_observe_fn)(void *arg, const char *route, int status, int64_t dur_us);

struct http_server_options {
    const char *host;
    int port;
    const struct http_route *routes; /* borrowed; terminated by a row with handler NULL */
    http_handler_fn not_found;       /* no route matched */
    void *not_found_ctx;             /* its req->route_ctx */
    const char *default_headers;     /* "Name: value\r\n..." added to every response */
    http_observe_fn observe;
    void *observe_arg;
    /* Limits; 0 takes the default in brackets. Times in µs. */
    int64_t idle_timeout_us;   /* [30 s] keep-alive: for the next request's first byte */
    int64_t header_timeout_us; /* [15 s] from a request's first byte to the end of its head */
    int64_t body_timeout_us;   /* [30 s] from the end of the head to the end of the body */
    int64_t send_timeout_us;   /* [60 s] for the client to take all of one response */
    size_t max_connections;    /* [unlimited] open connections; more are answered 503 */
    size_t max_per_address;    /* [off] open connections from one client address */
};

/* Connections the server may hold beyond max_connections while answering them 503. */
#define HTTP_REJECTING_MAX 64

int http_server_new(uv_loop_t *loop, const struct http_server_options *opts,
                    struct http_server **out, struct err *err);
/* The port actually bound (useful with port 0). */
int http_server_port(const struct http_server *srv);
/* Stops accepting and closes idle connections; in-flight responses are finished. cb runs
 * when every connection has closed. */
void http_server_shutdown(struct http_server *srv, void (*cb)(void *arg), void *arg);
void http_server_free(struct http_server *srv);
size_t http_server_connections(const struct http_server *srv);

/* --- request helpers --- */
const char *http_header(const struct http_request *req, const char *name); /* case-insensitive */
/* Copies the decoded value of query parameter name into out; returns 1 found, 0 absent,
 * -1 when it does not fit or is malformed. */
int http_query_param(const struct http_request *req, const char *name, char *out, size_t size);
/* Returns the value of cookie name (copied into out), 1 found, 0 absent. */
int http_cookie(const struct http_request *req, const char *name, char *out, size_t size);

/* --- responses: exactly one per request --- */
/* Adds a response header ("Set-Cookie", "…"); before respond. */
void http_add_header(struct http_request *req, const char *name, const char *value);
void http_respond(struct http_request *req, int status, const char *content_type,
                  const void *body, size_t len);
/* steals body->data */
void http_respond_buf(struct http_request *req, int status, const char *content_type,
                      struct buf *body);
/* {"error":"message"} with the status */
void http_respond_error(struct http_request *req, int status, const char *message);
void http_respond_redirect(struct http_request *req, int status, const char *location);
int http_request_gone(const struct http_request *req); /* the client closed */
/* The loop the request's server runs on (for work handed to libuv's threads); NULL once the
 * client has gone. */
uv_loop_t *http_request_loop(const struct http_request *req);

/* --- WebSocket upgrade --- */
struct http_ws_ops {
    /* the 101 is sent and conn is the WebSocket's: register the client here, before any byte
     * from the peer is delivered. Return -1 to refuse (the socket closes, on_close is not
     * called, arg stays the caller's). */
    int (*on_open)(void *arg, struct http_conn *conn);
    /* bytes read from the socket; return -1 to close. data is only valid during the call. */
    int (*on_read)(void *arg, const uint8_t *data, size_t len);
    /* the socket closed (by either side); the connection is gone after this returns. Called
     * once for every successful on_open, possibly from inside http_conn_writev/http_conn_close
     * or from inside http_upgrade_websocket (frames that came with the handshake). */
    void (*on_close)(void *arg);
};

/* Checks the request is a valid RFC 6455 upgrade (else answers 400/426 itself), sends 101 and
 * hands the socket to ops/arg: on_open, then any bytes that came right behind the handshake,
 * then reading. Returns 0 once on_open succeeded: from then on arg belongs to ops (on_close
 * will come, maybe before this returns). Returns -1 when on_open was never called or refused:
 * on_close will not be called and arg is still the caller's. */
int http_upgrade_websocket(struct http_request *req, const struct http_ws_ops *ops, void *arg);

/* Writes on an upgraded connection, corked: one writev(2) for all bufs. Tries a synchronous
 * write first. Returns 1 when everything was written at once (cb is not called), 0 when the
 * rest was queued (bufs stay borrowed until cb(arg, status) runs later on the loop, even when the
 * connection closes first: then status < 0), or -1 when the connection is closing or the write
 * failed (cb is not called; a failure closes the connection, so on_close may already have run
 * when this returns). */
typedef void (*http_write_fn)(void *arg, int status);
int http_conn_writev(struct http_conn *c, const uv_buf_t *bufs, unsigned nbufs, http_write_fn cb,
                     void *arg);
/* Bytes the kernel has not taken yet on this connection (libuv's write queue). */
size_t http_conn_write_queue_size(const struct http_conn *c);
/* Closes (on_close runs before this returns). Does nothing if c is NULL or already closing. */
void http_conn_close(struct http_conn *c);
/* Peer address as text, for logs. */
void http_conn_peer(const struct http_conn *c, char *out, size_t size);

const char *http_status_text(int status);

#endif
