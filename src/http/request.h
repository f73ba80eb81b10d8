/* http/request: reading one HTTP/1.1 request from bytes, without sockets: http-parser's
 * callbacks fill a struct http_request (url, headers split across any number of callbacks,
 * body under its route's cap), URL and query decoding, cookies, and route matching with
 * percent-decoded captures. http/server.c drives it per connection; the unit tests and the
 * HTTP fuzzer drive it directly. Internal to http/ (handlers see http/server.h).
 *
 * Limits: request line + headers HTTP_HEAD_MAX bytes and HTTP_MAX_HEADERS headers (past
 * either, req->answered = HTTP_TOO_LARGE_HEAD and parsing stops); body the route's max_body
 * (default HTTP_DEFAULT_BODY_MAX; past it HTTP_TOO_LARGE_BODY). Route captures are at most
 * 255 bytes decoded and HTTP_MAX_PARAMS per route.
 */
#ifndef SEV_HTTP_REQUEST_H
#define SEV_HTTP_REQUEST_H

#include <http_parser.h>
#include <stddef.h>

#include "http/server.h"

#define HTTP_HEAD_MAX (16 * 1024)
#define HTTP_DEFAULT_BODY_MAX (64 * 1024)

/* Negative marks in req->answered: why parsing stopped (the server answers 431 / 413). */
enum { HTTP_TOO_LARGE_HEAD = -431, HTTP_TOO_LARGE_BODY = -413 };

/* Where a request being read stands, for the reader's owner (deadlines). */
enum http_reader_phase { HTTP_READER_HEAD = 1, HTTP_READER_BODY };

/* What every reader of a server shares (one per server, not one per connection: an idle
 * connection carries one pointer to it). */
struct http_reader_cfg {
    const struct http_route *routes; /* borrowed: for each route's body cap */
    /* called when a request's first byte arrives (HTTP_READER_HEAD) and when its head is
     * complete (HTTP_READER_BODY); may be NULL */
    void (*on_phase)(void *owner, enum http_reader_phase phase);
};

/* One connection's request reader. */
struct http_reader {
    http_parser parser;
    struct http_request *req;          /* owned: the request being read, or NULL */
    const struct http_reader_cfg *cfg; /* borrowed: outlives the reader */
    struct http_conn *conn;            /* borrowed: given to each new request */
    void *owner;                       /* given to cfg->on_phase */
};

void http_reader_init(struct http_reader *r, const struct http_reader_cfg *cfg,
                      struct http_conn *conn, void *owner);
/* Parses up to len bytes; returns how many were used. The parser stops (HPE_PAUSED in
 * HTTP_PARSER_ERRNO(&r->parser)) right after a complete request: r->req is then whole, with
 * body/body_len set; take it (set r->req to NULL) and http_reader_resume before feeding the
 * rest. Any other error: the request is bad (see req->answered for the too-large ones). */
size_t http_reader_feed(struct http_reader *r, const char *data, size_t len);
void http_reader_resume(struct http_reader *r);

/* A new empty request on conn (may be NULL); NULL when out of memory. */
struct http_request *http_request_new(struct http_conn *conn);
void http_request_free(struct http_request *req); /* NULL is fine */

/* Percent-decodes s[0..n) into out (NUL-terminated); '+' is a space when form is set. -1 if
 * malformed, too long for size, or decoding to a NUL byte. */
int http_url_decode(const char *s, size_t n, char *out, size_t size, int form);

/* 1 if path matches pattern ("/api/streamers/:login/events"; a trailing "*" matches the
 * rest), with the captures percent-decoded into req->params; 0 if not. */
int http_route_match(const char *pattern, const char *path, struct http_request *req);
/* The index of the first route (table ends with handler NULL) whose pattern matches req->path
 * and whose verb is req's (GET also answers HEAD), or -1; *path_matched is set when some
 * pattern matched with another verb (a 405). */
int http_route_find(const struct http_route *routes, struct http_request *req, int *path_matched);

#endif
