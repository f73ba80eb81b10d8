#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "app.h"
#include "eventsub/webhook.h"
#include "hub/hub.h"
#include "streams/streams.h"

int api_login_param(struct http_request *req, const char *raw, char *out, size_t size)
{
    size_t n = raw ? strlen(raw) : 0;
    if (n == 0 || n >= size) {
        http_respond_error(req, 400, "not a Twitch login");
        return -1;
    }
    if (!event_login_lower(raw, out, size)) {
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
    struct streamer_info info;
};

static void put_string(struct buf *b, const char *key, const char *value)
{
    buf_printf(b, ",\"%s\":", key);
    if (!value || !*value) {
        buf_puts(b, "null");
        return;
    }
    buf_puts(b, "\"");
    buf_json_escape(b, value, strlen(value));
    buf_puts(b, "\"");
}

/* {"streamer":{…},"live":true|false|null,"title","game_name","viewer_count","started_at"}:
 * null where SEV does not know (no Twitch credentials and no event yet). */
static void on_status(void *arg, const struct stream_status *st)
{
    struct streamer_call *call = arg;
    const struct streamer_info *s = &call->info;
    struct buf b;
    buf_init(&b, 0);
    buf_puts(&b, "{\"streamer\":{\"id\":\"");
    buf_json_escape(&b, s->id, strlen(s->id));
    buf_puts(&b, "\",\"login\":\"");
    buf_json_escape(&b, s->login, strlen(s->login));
    buf_puts(&b, "\",\"display_name\":\"");
    buf_json_escape(&b, s->display_name, strlen(s->display_name));
    buf_puts(&b, "\"");
    put_string(&b, "profile_image_url", st->profile_image_url);
    buf_printf(&b, "},\"live\":%s", !st->known ? "null" : st->live ? "true" : "false");
    put_string(&b, "title", st->title);
    put_string(&b, "game_name", st->game_name);
    if (st->known && st->live && st->viewer_count >= 0)
        buf_printf(&b, ",\"viewer_count\":%lld", (long long)st->viewer_count);
    else
        buf_puts(&b, ",\"viewer_count\":null");
    put_string(&b, "started_at", st->started_at);
    buf_puts(&b, "}");
    http_respond_buf(call->req, 200, "application/json", &b);
    free(call);
}

static void with_status(struct http_request *req, const struct streamer_info *s)
{
    struct app *app = req->route_ctx;
    struct streamer_call *call = calloc(1, sizeof *call);
    if (!call) {
        http_respond_error(req, 503, "out of memory");
        return;
    }
    call->req = req;
    call->info = *s;
    if (streams_get(app->streams, s->login, on_status, call) < 0) {
        free(call);
        http_respond_error(req, 503, "out of memory");
    }
}

static void on_streamer(void *arg, int status, const struct streamer_info *s)
{
    struct http_request *req = arg;
    if (status == 0)
        with_status(req, s);
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
        with_status(req, s);
        return;
    }
    if (store_streamer_get(app->store, login, on_streamer, req) < 0)
        http_respond_error(req, 503, "the event store is not answering");
}
