/* server_int.h: the HTTP server's own types, shared by server.c (connections, requests,
 * answers, limits) and server_ws.c (the WebSocket upgrade and raw writes). Only src/http/. */
#ifndef SEV_HTTP_SERVER_INT_H
#define SEV_HTTP_SERVER_INT_H

#include "http/request.h"
#include "http/server.h"

#include "base/clock.h"
#include "base/map.h"

#define READ_BUF_SIZE (64 * 1024)

/* Connection states: reading a request → handling it (reads paused) → writing the answer →
 * reading again (keep-alive) or closing. An upgraded connection belongs to ws_ops. A
 * connection over a limit is REJECTING: answered 503 at accept, read out and closed.
 *
 * Each waiting state has a deadline (conn.deadline_ms) that reads never move:
 *   READING, no byte of a request yet      idle timeout from the last answer (or accept)
 *   READING, in the head                   header timeout from the request's first byte
 *   READING, in the body                   body timeout from the end of the head
 *   HANDLING, the handler working          none (our own work)
 *   HANDLING, the answer being written     send timeout from the answer
 *   REJECTING                              LINGER_US from accept
 * The sweep timer closes a connection past its deadline. */
enum conn_state { CONN_READING, CONN_HANDLING, CONN_UPGRADED, CONN_CLOSING, CONN_REJECTING };

/* Open connections from one client address (only counted when max_per_address is set). */
struct peer {
    size_t count;
    char key[64]; /* the address as text (INET6_ADDRSTRLEN fits) */
};

/* Sized for idle WebSocket clients (10,000s of them): an upgraded connection no longer needs
 * its parser, so the WebSocket owner's two pointers share its bytes; the deadline is 32-bit
 * milliseconds. 360 bytes: a 368-byte malloc chunk. */
struct http_conn {
    uv_tcp_t tcp; /* first: the handle's data points back here */
    struct http_server *srv;
    struct http_conn *prev, *next; /* the server's list of connections */
    union {
        struct http_reader rd; /* until upgraded; rd.req owned: the request read or handled */
        struct {               /* once upgraded (overlaps rd.parser only; rd.req stays NULL) */
            const struct http_ws_ops *ops;
            void *arg;
        } ws;
    };
    struct buf *pending; /* owned: pipelined bytes read past the current request, or NULL */
    struct peer *peer;   /* borrowed from srv->peers, counted; NULL when not counted */
    uint32_t deadline_ms; /* server_ms(); 0: none (see the states above) */
    uint8_t state;        /* enum conn_state */
    uint8_t rejecting : 1;   /* counted in srv->nrejecting */
    uint8_t dispatching : 1; /* inside dispatch(): an answer now is written inline */
};

struct http_server {
    uv_loop_t *loop;
    uv_tcp_t listener;
    uv_timer_t sweep;
    struct http_server_options opts;
    struct http_conn *conns;
    size_t nconns;
    size_t nrejecting; /* of nconns: being answered 503 */
    struct map peers;  /* address → struct peer (owned) */
    /* the options with defaults applied */
    int64_t idle_us, header_us, body_us, send_us;
    char *busy_global;   /* owned: the canned 503 for max_connections */
    char *busy_address;  /* owned: the canned 503 for max_per_address */
    uint64_t busy_count; /* 503s and drops since the last log line about them */
    int64_t busy_logged_us;
    int64_t accept_error_logged_us;
    int port;
    int shutting_down;
    void (*shutdown_cb)(void *);
    void *shutdown_arg;
    int handles_open;
    int freeing; /* http_server_free was called: the last close callback frees */
    /* the spare handle: accepts and closes a connection when there is no memory for it */
    uv_tcp_t sink;
    int sink_busy;      /* the sink is closing */
    int accept_stalled; /* a connection waits for the sink */
    int64_t epoch_us;                 /* server_ms() counts from here */
    struct http_reader_cfg reader_cfg; /* every connection's reader points here */
    struct buf head_buf; /* shared: a response head being written (reset per response) */
    char read_buf[READ_BUF_SIZE]; /* shared: the loop consumes each read before the next */
};

struct write_req {
    uv_write_t w;
    struct http_conn *conn;
    char *data; /* owned, for responses */
    http_write_fn cb;
    void *arg;
    int close_after;
};

/* Milliseconds since the server started, never 0 (0 means "no deadline"); differences stay
 * right across a 32-bit wrap (49 days). */
static inline uint32_t server_ms(const struct http_server *srv)
{
    uint32_t ms = (uint32_t)((clock_mono_us() - srv->epoch_us) / 1000);
    return ms ? ms : 1;
}

/* Sets c's deadline us microseconds from now (at least 1 ms). */
static inline void server_deadline(struct http_conn *c, int64_t us)
{
    int64_t ms = us / 1000;
    uint32_t d = server_ms(c->srv) + (uint32_t)(ms > 0 ? ms : 1);
    c->deadline_ms = d ? d : 1;
}

/* Closes the connection (an upgraded one's on_close runs inside). */
void server_conn_close(struct http_conn *c);
/* Reports a request answered with status to the server's observe hook (metrics). */
void server_finish_request(struct http_request *req, int status);
/* Writes data (owned; freed when written) and closes afterwards if close_after. */
int server_conn_write_owned(struct http_conn *c, char *data, size_t len, int close_after);
/* The bytes read past the current request (owned by the caller now), or NULL. */
struct buf *server_pending_take(struct http_conn *c);
void server_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b);
void server_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b);
void server_on_written(uv_write_t *w, int status);

#endif
