#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/login.h"
#include "api/api.h"
#include "api/api_int.h"
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
    if (!login_lower(raw, out, size)) {
        http_respond_error(req, 400, "not a Twitch login (letters, digits and _ only)");
        return -1;
    }
    return 0;
}


/* ---- GET /api/streamers/:login/events ---- */

void api_streamer_fields(struct buf *b, const char *id, const char *login,
                         const char *display_name)
{
    buf_puts(b, "\"id\":\"");
    buf_json_escape(b, id, strlen(id));
    buf_puts(b, "\",\"login\":\"");
    buf_json_escape(b, login, strlen(login));
    buf_puts(b, "\",\"display_name\":\"");
    buf_json_escape(b, display_name, strlen(display_name));
    buf_puts(b, "\"");
}

struct recent_call {
    struct hub *hub;
    struct http_request *req; /* borrowed until answered */
    char login[64];
    char before[64];
    int limit; /* asked for */
    struct streamer_info info;
};

static void events_body(struct buf *b, const struct streamer_info *info,
                        const struct buf *events_json)
{
    buf_puts(b, "{\"streamer\":{");
    api_streamer_fields(b, info->id, info->login, info->display_name);
    buf_puts(b, "},\"events\":[");
    buf_append(b, events_json->data ? events_json->data : "", events_json->len);
    buf_puts(b, "]}");
}

static void respond_events(struct http_request *req, const struct streamer_info *info,
                           struct buf *events_json)
{
    struct buf b;
    buf_init(&b, 0);
    events_body(&b, info, events_json);
    http_add_header(req, "Cache-Control", "no-store");
    http_respond_buf(req, 200, "application/json", &b);
}

/* An older page (before=) is encoded, and its events freed, in one of libuv's threads: the
 * loop only writes the answer (encoding ten events and freeing their jansson trees cost the
 * loop about 60 µs a request, in turns of up to 4 ms under wrk). */
struct encode_job {
    uv_work_t work;
    struct recent_call *call; /* owned */
    struct event_list *events; /* owned until encode_work frees it */
    struct buf list;
};

static void encode_work(uv_work_t *w)
{
    struct encode_job *j = w->data;
    for (size_t i = 0; i < j->events->count && i < (size_t)j->call->limit; i++) {
        if (i)
            buf_puts(&j->list, ",");
        event_encode_json(j->events->items[i], &j->list);
    }
    event_list_free(j->events);
    j->events = NULL;
}

static void encode_after(uv_work_t *w, int status)
{
    struct encode_job *j = w->data;
    struct http_request *req = j->call->req;
    if (status < 0 || j->events) { /* cancelled: nothing ran */
        event_list_free(j->events);
        http_respond_error(req, 503, "server shutting down");
    } else {
        respond_events(req, &j->call->info, &j->list);
    }
    buf_release(&j->list);
    free(j->call);
    free(j);
}

/* 0 when the job is queued (it answers and frees call and events), -1 to do it here. */
static int encode_off_loop(struct recent_call *call, struct event_list *events)
{
    uv_loop_t *loop = http_request_loop(call->req);
    struct encode_job *j = loop ? calloc(1, sizeof *j) : NULL;
    if (!j)
        return -1;
    j->work.data = j;
    j->call = call;
    j->events = events;
    buf_init(&j->list, 0);
    if (uv_queue_work(loop, &j->work, encode_work, encode_after) != 0) {
        free(j);
        return -1;
    }
    return 0;
}

static void on_recent_events(void *arg, int status, struct event_list *events)
{
    struct recent_call *call = arg;
    struct http_request *req = call->req;
    if (status == 0 && call->before[0] && encode_off_loop(call, events) == 0)
        return;
    if (status < 0) {
        http_respond_error(req, 503, "the event store is not answering");
    } else if (status == 1) {
        http_respond_error(req, 400, "before: no such event");
    } else {
        struct buf list;
        buf_init(&list, 0);
        for (size_t i = 0; i < events->count && i < (size_t)call->limit; i++) {
            if (i)
                buf_puts(&list, ",");
            event_encode_json(events->items[i], &list);
        }
        respond_events(req, &call->info, &list);
        buf_release(&list);
        if (!call->before[0])
            hub_warm(call->hub, call->login, events);
    }
    event_list_free(events);
    free(call);
}

static void on_recent_streamer(void *arg, int status, const struct streamer_info *s)
{
    struct recent_call *call = arg;
    if (status != 0) {
        if (status == 1)
            http_respond_error(call->req, 404, "SEV has never heard of this streamer");
        else
            http_respond_error(call->req, 503, "the event store is not answering");
        free(call);
        return;
    }
    call->info = *s;
    hub_learn_streamer(call->hub, call->login, s);
    const struct api_ctx *ctx = call->req->route_ctx;
    /* without before, read a whole window so the hub can warm the channel from it */
    int want = call->before[0] ? call->limit : HUB_RECENT;
    if (store_recent(*ctx->store, call->login, call->before[0] ? call->before : NULL, want,
                     on_recent_events, call) < 0) {
        http_respond_error(call->req, 503, "the event store is not answering");
        free(call);
    }
}

/* From the hub's memory when the streamer's newest events are all there, else from the store
 * (then the hub warms the channel). 404 for an unknown streamer, 400 for a bad limit or
 * before. */
void api_events(struct http_request *req)
{
    const struct api_ctx *ctx = req->route_ctx;
    char lower[64], num[16], before[64];
    if (!login_lower(req->params[0], lower, sizeof lower)) {
        http_respond_error(req, 400, "not a Twitch login");
        return;
    }
    int limit = 10;
    int has = http_query_param(req, "limit", num, sizeof num);
    if (has < 0 || (has == 1 && (sscanf(num, "%d", &limit) != 1 || limit < 1 || limit > 100))) {
        http_respond_error(req, 400, "limit must be a number from 1 to 100");
        return;
    }
    int has_before = http_query_param(req, "before", before, sizeof before);
    if (has_before < 0 || (has_before == 1 && !before[0])) {
        http_respond_error(req, 400, "before must be an event id");
        return;
    }
    if (has_before != 1) {
        /* the newest page: the hub keeps the last answer built until the channel changes,
         * written from there without a copy */
        const char *page;
        size_t page_len;
        if (hub_page_get(*ctx->hub, lower, limit, &page, &page_len)) {
            http_add_header(req, "Cache-Control", "no-store");
            http_respond(req, 200, "application/json", page, page_len);
            return;
        }
        struct buf list;
        buf_init(&list, 0);
        struct streamer_info info;
        int hit = hub_recent(*ctx->hub, lower, limit, &list, &info);
        if (hit) {
            struct buf b;
            buf_init(&b, 0);
            events_body(&b, &info, &list);
            if (b.data)
                hub_page_put(*ctx->hub, lower, limit, b.data, b.len);
            http_add_header(req, "Cache-Control", "no-store");
            http_respond_buf(req, 200, "application/json", &b);
        }
        buf_release(&list);
        if (hit)
            return;
    }
    struct recent_call *call = calloc(1, sizeof *call);
    if (!call) {
        http_respond_error(req, 503, "out of memory");
        return;
    }
    call->hub = *ctx->hub;
    call->req = req;
    call->limit = limit;
    snprintf(call->login, sizeof call->login, "%s", lower);
    if (has_before == 1)
        snprintf(call->before, sizeof call->before, "%s", before);
    /* a streamer the hub knows needs no store read of its own: one read (the events) in
     * the store's threads instead of two */
    const struct streamer_info *known = hub_streamer(*ctx->hub, lower);
    if (known) {
        struct streamer_info info = *known;
        on_recent_streamer(call, 0, &info);
        return;
    }
    if (store_streamer_get(*ctx->store, lower, on_recent_streamer, call) < 0) {
        http_respond_error(req, 503, "the event store is not answering");
        free(call);
    }
}

void api_ws(struct http_request *req)
{
    const struct api_ctx *ctx = req->route_ctx;
    hub_handle_ws(*ctx->hub, req);
}

void api_webhook(struct http_request *req)
{
    const struct api_ctx *ctx = req->route_ctx;
    webhook_handle(*ctx->webhook, req);
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
    buf_puts(&b, "{\"streamer\":{");
    api_streamer_fields(&b, s->id, s->login, s->display_name);
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
    const struct api_ctx *ctx = req->route_ctx;
    struct streamer_call *call = calloc(1, sizeof *call);
    if (!call) {
        http_respond_error(req, 503, "out of memory");
        return;
    }
    call->req = req;
    call->info = *s;
    if (streams_get(*ctx->streams, s->login, on_status, call) < 0) {
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
    const struct api_ctx *ctx = req->route_ctx;
    char login[64];
    if (api_login_param(req, req->params[0], login, sizeof login) < 0)
        return;
    const struct streamer_info *s = hub_streamer(*ctx->hub, login);
    if (s) {
        with_status(req, s);
        return;
    }
    if (store_streamer_get(*ctx->store, login, on_streamer, req) < 0)
        http_respond_error(req, 503, "the event store is not answering");
}
