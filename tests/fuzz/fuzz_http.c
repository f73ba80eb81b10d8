/* fuzz_http: the HTTP request path up to the handler, without sockets: http-parser driving
 * http/server.c's callbacks (url, headers, body caps, pipelining), then the route table
 * match with its percent-decoded captures, and the helpers handlers call (http_header,
 * http_query_param, http_cookie, hub_login_valid).
 *
 * server.c is included so its static functions (the parser callbacks, route_match) are
 * reached as they are in sev; the libuv side (accept, read, write) is not used.
 * Input: [chunk][bytes of one connection]: the bytes are fed in pieces of chunk+1 bytes,
 * requests one after another as on a keep-alive connection.
 * Checks beyond the sanitizers: every header has a name and a value, the path starts
 * where the url did, a query parameter fits its buffer, captures are non-empty. */
#include "../../src/http/server.c"

#include "hub/hub.h"

/* SEV's route patterns (src/app.c), with a handler that only records the match. */
static int matched;
static void fuzz_handler(struct http_request *req)
{
    matched++;
}

static const struct http_route routes[] = {
    {HTTP_VERB_GET, "/", fuzz_handler, NULL, 0},
    {HTTP_VERB_GET, "/streamer/:login", fuzz_handler, NULL, 0},
    {HTTP_VERB_GET, "/streamer/:login/overlay", fuzz_handler, NULL, 0},
    {HTTP_VERB_GET, "/healthz", fuzz_handler, NULL, 0},
    {HTTP_VERB_GET, "/ws", fuzz_handler, NULL, 0},
    {HTTP_VERB_POST, "/eventsub/webhook", fuzz_handler, NULL, 256 * 1024},
    {HTTP_VERB_GET, "/api/streamers/:login", fuzz_handler, NULL, 0},
    {HTTP_VERB_GET, "/api/streamers/:login/events", fuzz_handler, NULL, 0},
    {HTTP_VERB_GET, "/api/stats/streamers/:login/types", fuzz_handler, NULL, 0},
    {HTTP_VERB_PUT, "/api/me/favorite", fuzz_handler, NULL, 0},
    {HTTP_VERB_GET, "/static/*", fuzz_handler, NULL, 0},
    {0, NULL, NULL, NULL, 0},
};

static void check_request(struct http_request *req)
{
    for (size_t i = 0; i < req->nheaders; i++)
        if (!req->headers[i].name || !req->headers[i].value)
            abort();
    if (req->path != req->head.data)
        abort();
    (void)http_header(req, "Host");
    (void)http_header(req, "Twitch-Eventsub-Message-Signature");
    static const char *names[] = {"streamer", "since", "limit", "before", "state", "code", ""};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char out[64];
        int r = http_query_param(req, names[i], out, sizeof out);
        if (r == 1 && strlen(out) >= sizeof out)
            abort();
    }
    char small[2];
    (void)http_query_param(req, "streamer", small, sizeof small);
    char cookie[128];
    if (http_cookie(req, "sev_session", cookie, sizeof cookie) == 1 && strlen(cookie) >= 128)
        abort();
    for (int i = 0; routes[i].handler; i++) {
        if (!route_match(routes[i].pattern, req->path, req))
            continue;
        for (int k = 0; k < HTTP_MAX_PARAMS && req->params[k]; k++) {
            if (!req->params[k][0])
                abort();
            (void)hub_login_valid(req->params[k]);
        }
        routes[i].handler(req);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct http_server *srv;
    if (!srv) {
        srv = calloc(1, sizeof *srv);
        srv->opts.routes = routes;
        parser_settings_init(&srv->settings);
        log_set_level(LOG_ERROR);
    }
    if (size < 1)
        return 0;
    size_t chunk = (size_t)data[0] + 1;
    const char *in = (const char *)data + 1;
    size_t len = size - 1;

    struct http_conn c;
    memset(&c, 0, sizeof c);
    c.srv = srv;
    http_parser_init(&c.parser, HTTP_REQUEST);
    c.parser.data = &c;
    size_t off = 0;
    int requests = 0;
    while (off < len && requests < 16) {
        size_t n = len - off < chunk ? len - off : chunk;
        size_t used = http_parser_execute(&c.parser, &srv->settings, in + off, n);
        enum http_errno e = HTTP_PARSER_ERRNO(&c.parser);
        if (e == HPE_PAUSED) { /* a whole request, as conn_feed sees it */
            http_parser_pause(&c.parser, 0);
            struct http_request *req = c.req;
            req->body = req->body_buf.data ? req->body_buf.data : "";
            req->body_len = req->body_buf.len;
            check_request(req);
            request_free(req);
            c.req = NULL;
            requests++;
            off += used;
            if (!http_should_keep_alive(&c.parser))
                break;
            continue;
        }
        if (e != HPE_OK)
            break; /* sev answers 400/413/431 and closes */
        if (used != n)
            abort();
        off += n;
    }
    request_free(c.req);
    return 0;
}
