#include "pages/pages.h"

#include <string.h>

#include "api/api.h"
#include "app.h"
#include "http/static.h"

static const char FALLBACK_404[] =
    "<!doctype html><meta charset=utf-8><title>Not found</title>"
    "<h1>Not found</h1><p>There is nothing here. <a href=\"/\">Back to SEV</a></p>";

static void serve_page(struct http_request *req, const char *file, int status)
{
    struct app *app = req->route_ctx;
    if (static_serve(app->web, req, file, status) == 0)
        return;
    http_respond(req, 404, "text/html; charset=utf-8", FALLBACK_404, sizeof FALLBACK_404 - 1);
}

void page_home(struct http_request *req)
{
    serve_page(req, "/index.html", 200);
}

void page_streamer(struct http_request *req)
{
    char login[64];
    if (api_login_param(req, req->params[0], login, sizeof login) < 0)
        return;
    serve_page(req, "/streamer.html", 200);
}

void page_overlay(struct http_request *req)
{
    char login[64];
    if (api_login_param(req, req->params[0], login, sizeof login) < 0)
        return;
    serve_page(req, "/overlay.html", 200);
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
    struct app *app = req->route_ctx;
    size_t n = strlen(req->path);
    if ((req->verb == HTTP_VERB_GET || req->verb == HTTP_VERB_HEAD) &&
        (n < 5 || strcmp(req->path + n - 5, ".html") != 0) &&
        static_serve(app->web, req, req->path, 200) == 0)
        return; /* an asset: /css/…, /js/…, /favicon.svg */
    if (strncmp(req->path, "/api/", 5) == 0) {
        http_respond_error(req, 404, "no such API route");
        return;
    }
    serve_page(req, "/404.html", 404);
}
