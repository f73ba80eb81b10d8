#include "pages/pages.h"

#include <ctype.h>
#include <string.h>

#include "base/login.h"
#include "http/static.h"
#include "hub/hub.h"

static const char FALLBACK_404[] =
    "<!doctype html><meta charset=utf-8><title>Not found</title>"
    "<h1>Not found</h1><p>There is nothing here. <a href=\"/\">Back to SEV</a></p>";

static void serve_page(struct http_request *req, const char *file, int status)
{
    const struct pages_ctx *ctx = req->route_ctx;
    if (static_serve(*ctx->web, req, file, status) == 0)
        return;
    http_respond(req, 404, "text/html; charset=utf-8", FALLBACK_404, sizeof FALLBACK_404 - 1);
}

void page_home(struct http_request *req)
{
    serve_page(req, "/index.html", 200);
}

/* Whether raw (a path segment) can be a Twitch login, in any case. */
static int login_ok(const char *raw)
{
    char login[64];
    return login_lower(raw, login, sizeof login);
}

/* A name that cannot be a Twitch login still gets the page, with 404: its script says what is
 * wrong in words (never the API's JSON error in a browser tab). */
void page_streamer(struct http_request *req)
{
    serve_page(req, "/streamer.html", login_ok(req->params[0]) ? 200 : 404);
}

void page_overlay(struct http_request *req)
{
    serve_page(req, "/overlay.html", login_ok(req->params[0]) ? 200 : 404);
}

void page_analytics(struct http_request *req)
{
    serve_page(req, "/analytics.html", 200);
}

void page_account(struct http_request *req)
{
    serve_page(req, "/account.html", 200);
}

void page_not_found(struct http_request *req)
{
    const struct pages_ctx *ctx = req->route_ctx;
    size_t n = strlen(req->path);
    if ((req->verb == HTTP_VERB_GET || req->verb == HTTP_VERB_HEAD) &&
        (n < 5 || strcmp(req->path + n - 5, ".html") != 0) &&
        static_serve(*ctx->web, req, req->path, 200) == 0)
        return; /* an asset: /css/…, /js/…, /favicon.svg */
    if (strncmp(req->path, "/api/", 5) == 0) {
        http_respond_error(req, 404, "no such API route");
        return;
    }
    serve_page(req, "/404.html", 404);
}
