/* http/request without sockets: bytes fed to an http_reader in pieces of every size (headers
 * split across parser callbacks), URL and query decoding, cookies, route matching with
 * captures, and the limits (head size, header count, per-route body cap). */
#include "unit.h"

#include "http/request.h"
#include "http/response.h"

static void handler(struct http_request *req)
{
    (void)req;
}

static const struct http_route routes[] = {
    {HTTP_VERB_GET, "/", handler, NULL, 0},
    {HTTP_VERB_GET, "/api/streamers/:login", handler, NULL, 0},
    {HTTP_VERB_GET, "/api/streamers/:login/events", handler, NULL, 0},
    {HTTP_VERB_POST, "/small", handler, NULL, 8},
    {HTTP_VERB_GET, "/static/*", handler, NULL, 0},
    {0, NULL, NULL, NULL, 0},
};
static const struct http_reader_cfg routes_cfg = {routes, NULL};

/* Feeds text in pieces of chunk bytes until a whole request; returns it (owned) or NULL with
 * *bad set to the parser error. */
static struct http_request *read_one(struct http_reader *r, const char *text, size_t chunk,
                                     int *bad)
{
    size_t len = strlen(text), off = 0;
    *bad = 0;
    while (off < len) {
        size_t n = len - off < chunk ? len - off : chunk;
        size_t used = http_reader_feed(r, text + off, n);
        enum http_errno e = HTTP_PARSER_ERRNO(&r->parser);
        if (e == HPE_PAUSED) {
            http_reader_resume(r);
            struct http_request *req = r->req;
            r->req = NULL;
            return req;
        }
        if (e != HPE_OK) {
            *bad = (int)e;
            return NULL;
        }
        CHECK(used == n);
        off += n;
    }
    return NULL;
}

static void test_headers_split_anywhere(void)
{
    static const char text[] = "GET /api/streamers/Al%69ce/events?limit=5&before=x%2By HTTP/1.1\r\n"
                               "Host: sev.example\r\n"
                               "X-Long-Header-Name: a value, with spaces\r\n"
                               "Cookie: a=1; sev_session=s3cret; b=2\r\n"
                               "Empty:\r\n"
                               "\r\n";
    for (size_t chunk = 1; chunk <= sizeof text; chunk++) {
        struct http_reader r;
        http_reader_init(&r, &routes_cfg, NULL, NULL);
        int bad;
        struct http_request *req = read_one(&r, text, chunk, &bad);
        CHECK(req != NULL);
        CHECK_INT(req->verb, HTTP_VERB_GET);
        CHECK_STR(req->path, "/api/streamers/Al%69ce/events");
        CHECK_STR(req->query, "limit=5&before=x%2By");
        CHECK_INT(req->nheaders, 4);
        CHECK_STR(http_header(req, "host"), "sev.example");
        CHECK_STR(http_header(req, "X-LONG-HEADER-NAME"), "a value, with spaces");
        CHECK_STR(http_header(req, "Empty"), "");
        CHECK(http_header(req, "Missing") == NULL);
        CHECK_INT(req->body_len, 0);
        CHECK_STR(req->body, "");
        http_request_free(req);
        http_request_free(r.req);
    }
}

static void test_url_and_query_decoding(void)
{
    char out[16];
    CHECK_INT(http_url_decode("a%20b+c", 7, out, sizeof out, 1), 0);
    CHECK_STR(out, "a b c");
    CHECK_INT(http_url_decode("a%20b+c", 7, out, sizeof out, 0), 0);
    CHECK_STR(out, "a b+c");
    CHECK_INT(http_url_decode("%4a%4A", 6, out, sizeof out, 0), 0);
    CHECK_STR(out, "JJ");
    CHECK_INT(http_url_decode("%00", 3, out, sizeof out, 0), -1); /* NUL */
    CHECK_INT(http_url_decode("%zz", 3, out, sizeof out, 0), -1);
    CHECK_INT(http_url_decode("%4", 2, out, sizeof out, 0), -1);
    CHECK_INT(http_url_decode("0123456789abcdef", 16, out, sizeof out, 0), -1); /* no room */
    CHECK_INT(http_url_decode("0123456789abcde", 15, out, sizeof out, 0), 0);

    struct http_request req = {.query = "streamer=al%69ce&since=&flag&limit=1+2&bad=%G1"};
    CHECK_INT(http_query_param(&req, "streamer", out, sizeof out), 1);
    CHECK_STR(out, "alice");
    CHECK_INT(http_query_param(&req, "since", out, sizeof out), 1);
    CHECK_STR(out, "");
    CHECK_INT(http_query_param(&req, "flag", out, sizeof out), 1);
    CHECK_STR(out, "");
    CHECK_INT(http_query_param(&req, "limit", out, sizeof out), 1);
    CHECK_STR(out, "1 2");
    CHECK_INT(http_query_param(&req, "bad", out, sizeof out), -1);
    CHECK_INT(http_query_param(&req, "stream", out, sizeof out), 0); /* a prefix is not it */
    CHECK_INT(http_query_param(&req, "streamer", out, 3), -1);       /* does not fit */
}

static void test_cookies(void)
{
    struct http_request req = {0};
    req.headers[0] = (struct http_header){"Cookie", "x=1; sev_session=abc; y"};
    req.headers[1] = (struct http_header){"cookie", "late=2"};
    req.nheaders = 2;
    char out[8];
    CHECK_INT(http_cookie(&req, "sev_session", out, sizeof out), 1);
    CHECK_STR(out, "abc");
    CHECK_INT(http_cookie(&req, "late", out, sizeof out), 1);
    CHECK_STR(out, "2");
    CHECK_INT(http_cookie(&req, "sev", out, sizeof out), 0);
    CHECK_INT(http_cookie(&req, "y", out, sizeof out), 0);
    CHECK_INT(http_cookie(&req, "sev_session", out, 3), 0); /* does not fit */
}

static void test_route_matching(void)
{
    struct http_request *req = http_request_new(NULL);
    CHECK(req != NULL);
    int path_matched;
    req->verb = HTTP_VERB_GET;
    req->path = "/api/streamers/b%6Fb/events";
    CHECK_INT(http_route_find(routes, req, &path_matched), 2);
    CHECK_STR(req->params[0], "bob");
    req->verb = HTTP_VERB_HEAD; /* GET answers HEAD */
    req->path = "/api/streamers/alice";
    CHECK_INT(http_route_find(routes, req, &path_matched), 1);
    CHECK_STR(req->params[0], "alice");
    req->verb = HTTP_VERB_POST;
    CHECK_INT(http_route_find(routes, req, &path_matched), -1);
    CHECK_INT(path_matched, 1); /* a 405 */
    req->verb = HTTP_VERB_GET;
    req->path = "/api/streamers//events"; /* an empty capture matches nothing */
    CHECK_INT(http_route_find(routes, req, &path_matched), -1);
    CHECK_INT(path_matched, 0);
    req->path = "/api/streamers/a%00b"; /* a capture decoding to NUL */
    CHECK_INT(http_route_find(routes, req, &path_matched), -1);
    req->path = "/static/css/site.css";
    CHECK_INT(http_route_find(routes, req, &path_matched), 4);
    req->path = "/";
    CHECK_INT(http_route_find(routes, req, &path_matched), 0);
    req->path = "/nope";
    CHECK_INT(http_route_find(routes, req, &path_matched), -1);
    CHECK(http_route_match("/a/:x", "/a/b", req) == 1);
    CHECK(http_route_match("/a/:x", "/a/b/c", req) == 0);
    http_request_free(req);
}

static void test_limits(void)
{
    struct http_reader r;
    int bad;
    /* a head past HTTP_HEAD_MAX */
    size_t big = HTTP_HEAD_MAX + 100;
    char *text = malloc(big + 64);
    int n = snprintf(text, 64, "GET / HTTP/1.1\r\nX: ");
    memset(text + n, 'a', big);
    strcpy(text + n + big, "\r\n\r\n");
    http_reader_init(&r, &routes_cfg, NULL, NULL);
    CHECK(read_one(&r, text, 4096, &bad) == NULL);
    CHECK(bad != 0);
    CHECK_INT(r.req->answered, HTTP_TOO_LARGE_HEAD);
    http_request_free(r.req);
    free(text);

    /* more than HTTP_MAX_HEADERS headers */
    struct buf b;
    buf_init(&b, 0);
    buf_puts(&b, "GET / HTTP/1.1\r\n");
    for (int i = 0; i <= HTTP_MAX_HEADERS; i++)
        buf_printf(&b, "H%d: v\r\n", i);
    buf_puts(&b, "\r\n");
    http_reader_init(&r, &routes_cfg, NULL, NULL);
    CHECK(read_one(&r, b.data, 7, &bad) == NULL);
    CHECK_INT(r.req->answered, HTTP_TOO_LARGE_HEAD);
    http_request_free(r.req);
    buf_release(&b);

    /* a body under and over its route's cap */
    http_reader_init(&r, &routes_cfg, NULL, NULL);
    struct http_request *req =
        read_one(&r, "POST /small HTTP/1.1\r\nContent-Length: 8\r\n\r\n12345678", 5, &bad);
    CHECK(req != NULL);
    CHECK_INT(req->body_len, 8);
    CHECK_STR(req->body, "12345678");
    http_request_free(req);
    http_reader_init(&r, &routes_cfg, NULL, NULL);
    CHECK(read_one(&r, "POST /small HTTP/1.1\r\nContent-Length: 9\r\n\r\n123456789", 64, &bad) ==
          NULL);
    CHECK_INT(r.req->answered, HTTP_TOO_LARGE_BODY);
    http_request_free(r.req);
}

static int phases[3];
static void on_phase(void *owner, enum http_reader_phase phase)
{
    CHECK(owner == phases);
    phases[phase]++;
}

static void test_pipelined_and_phases(void)
{
    static const char text[] = "GET /a?x=1#frag HTTP/1.1\r\nHost: h\r\n\r\n"
                               "GET /b HTTP/1.1\r\nHost: h\r\n\r\n";
    struct http_reader r;
    http_reader_init(&r, &(struct http_reader_cfg){routes, on_phase}, NULL, phases);
    size_t used = http_reader_feed(&r, text, sizeof text - 1);
    CHECK_INT(HTTP_PARSER_ERRNO(&r.parser), HPE_PAUSED);
    CHECK_STR(r.req->path, "/a");
    CHECK_STR(r.req->query, "x=1"); /* the fragment is not part of it */
    CHECK_INT(phases[HTTP_READER_HEAD], 1);
    CHECK_INT(phases[HTTP_READER_BODY], 1);
    http_request_free(r.req);
    r.req = NULL;
    http_reader_resume(&r);
    http_reader_feed(&r, text + used, sizeof text - 1 - used);
    CHECK_INT(HTTP_PARSER_ERRNO(&r.parser), HPE_PAUSED);
    CHECK_STR(r.req->path, "/b");
    CHECK_INT(phases[HTTP_READER_HEAD], 2);
    http_request_free(r.req);
}

static void test_response_head(void)
{
    struct buf extra, out;
    buf_init(&extra, 0);
    buf_init(&out, 0);
    buf_puts(&extra, "Location: /x\r\n");
    CHECK_INT(response_head(&out, 302, "X-A: 1\r\n", "text/plain", &extra, 3, 1), 0);
    CHECK_STR(out.data, "HTTP/1.1 302 Found\r\nX-A: 1\r\nContent-Type: text/plain\r\n"
                        "Location: /x\r\nContent-Length: 3\r\nConnection: close\r\n\r\n");
    out.len = 0;
    extra.len = 0;
    CHECK_INT(response_head(&out, 204, NULL, NULL, &extra, 0, 0), 0);
    CHECK_STR(out.data, "HTTP/1.1 204 No Content\r\n\r\n"); /* no Content-Length */
    buf_release(&extra);
    buf_release(&out);
}

static const struct unit_test tests[] = {
    {"an answer's head: status line, headers, length, close", test_response_head},
    {"headers split across callbacks at every byte", test_headers_split_anywhere},
    {"URL and query decoding", test_url_and_query_decoding},
    {"cookies", test_cookies},
    {"route matching with captures, HEAD and 405", test_route_matching},
    {"limits: head size, header count, body cap per route", test_limits},
    {"pipelined requests, fragments, phases for deadlines", test_pipelined_and_phases},
    {0},
};
UNIT_MAIN(tests)
