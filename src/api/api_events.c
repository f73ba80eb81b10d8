#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "app.h"
#include "eventsub/webhook.h"
#include "hub/hub.h"

int api_login_param(struct http_request *req, const char *raw, char *out, size_t size)
{
    size_t n = raw ? strlen(raw) : 0;
    if (n == 0 || n >= size) {
        http_respond_error(req, 400, "not a Twitch login");
        return -1;
    }
    for (size_t i = 0; i <= n; i++)
        out[i] = (char)tolower((unsigned char)raw[i]);
    if (!hub_login_valid(out)) {
        http_respond_error(req, 400, "not a Twitch login (letters, digits and _ only)");
        return -1;
    }
    return 0;
}

void api_events(struct http_request *req)
{
    struct app *app = req->route_ctx;
    hub_handle_recent(app->hub, req, req->params[0]);
}

void api_ws(struct http_request *req)
{
    struct app *app = req->route_ctx;
    hub_handle_ws(app->hub, req);
}

void api_webhook(struct http_request *req)
{
    struct app *app = req->route_ctx;
    webhook_handle(app->webhook, req);
}

struct streamer_call {
    struct http_request *req;
};

static void respond_streamer(struct http_request *req, const struct streamer_info *s)
{
    struct buf b;
    buf_init(&b, 0);
    buf_puts(&b, "{\"streamer\":{\"id\":\"");
    buf_json_escape(&b, s->id, strlen(s->id));
    buf_puts(&b, "\",\"login\":\"");
    buf_json_escape(&b, s->login, strlen(s->login));
    buf_puts(&b, "\",\"display_name\":\"");
    buf_json_escape(&b, s->display_name, strlen(s->display_name));
    buf_puts(&b, "\"},\"live\":null}");
    http_respond_buf(req, 200, "application/json", &b);
}

static void on_streamer(void *arg, int status, const struct streamer_info *s)
{
    struct http_request *req = arg;
    if (status == 0)
        respond_streamer(req, s);
    else if (status == 1)
        http_respond_error(req, 404, "SEV has never heard of this streamer");
    else
        http_respond_error(req, 503, "the event store is not answering");
}

void api_streamer(struct http_request *req)
{
    struct app *app = req->route_ctx;
    char login[64];
    if (api_login_param(req, req->params[0], login, sizeof login) < 0)
        return;
    const struct streamer_info *s = hub_streamer(app->hub, login);
    if (s) {
        respond_streamer(req, s);
        return;
    }
    if (store_streamer_get(app->store, login, on_streamer, req) < 0)
        http_respond_error(req, 503, "the event store is not answering");
}
