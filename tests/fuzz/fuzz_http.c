/* fuzz_http: the HTTP request path up to the handler, without sockets: http/request.c's
 * reader (http-parser callbacks: url, headers, body caps, pipelining), then SEV's route table
 * (api_routes) matched with its percent-decoded captures, and the helpers handlers call
 * (http_header, http_query_param, http_cookie, login_valid).
 * Input: [chunk][bytes of one connection]: the bytes are fed in pieces of chunk+1 bytes,
 * requests one after another as on a keep-alive connection.
 * Checks beyond the sanitizers: every header has a name and a value, the path starts
 * where the url did, a query parameter fits its buffer, captures are non-empty. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "base/login.h"
#include "base/log.h"
#include "http/request.h"
#include "event/event.h"

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
    for (int i = 0; api_routes[i].handler; i++) {
        if (!http_route_match(api_routes[i].pattern, req->path, req))
            continue;
        for (int k = 0; k < HTTP_MAX_PARAMS && req->params[k]; k++) {
            if (!req->params[k][0])
                abort();
            (void)login_valid(req->params[k]);
        }
    }
    int path_matched;
    (void)http_route_find(api_routes, req, &path_matched);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        log_set_level(LOG_ERROR);
        ready = 1;
    }
    if (size < 1)
        return 0;
    size_t chunk = (size_t)data[0] + 1;
    const char *in = (const char *)data + 1;
    size_t len = size - 1;

    struct http_reader r;
    struct http_reader_cfg cfg = {api_routes, NULL};
    http_reader_init(&r, &cfg, NULL, NULL);
    size_t off = 0;
    int requests = 0;
    while (off < len && requests < 16) {
        size_t n = len - off < chunk ? len - off : chunk;
        size_t used = http_reader_feed(&r, in + off, n);
        enum http_errno e = HTTP_PARSER_ERRNO(&r.parser);
        if (e == HPE_PAUSED) { /* a whole request, as the server sees it */
            http_reader_resume(&r);
            struct http_request *req = r.req;
            r.req = NULL;
            check_request(req);
            http_request_free(req);
            requests++;
            off += used;
            if (!http_should_keep_alive(&r.parser))
                break;
            continue;
        }
        if (e != HPE_OK)
            break; /* sev answers 400/413/431 and closes */
        if (used != n)
            abort();
        off += n;
    }
    http_request_free(r.req);
    return 0;
}
