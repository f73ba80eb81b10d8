#include "eventsub/wsession.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "event/event.h"
#include "ws/client.h"

#define DEFAULT_KEEPALIVE_S 10
#define MAX_AGE_US (10LL * 60 * 1000000)

struct wsession;

/* One socket of the session; two exist only during a hand-over. */
struct wconn {
    struct wsession *s;
    struct ws_client *wc; /* NULL once closed */
    int welcomed;
};

struct wsession {
    uv_loop_t *loop;
    struct ingest *ingest;
    struct wsession_ops ops;
    void *arg;
    struct wconn *cur;  /* owned */
    struct wconn *next; /* owned: the reconnect target during a hand-over */
    uv_timer_t watchdog;
    int keepalive_s;
    char id[128];
    int64_t last_alive_us;
    int lost;    /* on_lost was called or wsession_close ran: no more callbacks */
    int timer_closed;
    struct wsession_stats stats;
};

static const struct {
    int code;
    const char *meaning;
} close_meanings[] = {
    {1000, "normal closure"},
    {1006, "connection broke without a close frame"},
    {4000, "Twitch internal server error"},
    {4001, "client sent inbound traffic"},
    {4002, "client failed ping-pong"},
    {4003, "connection unused: no subscription within the welcome window"},
    {4004, "reconnect grace time expired"},
    {4005, "network timeout"},
    {4006, "network error"},
    {4007, "invalid reconnect"},
};

const char *wsession_close_meaning(int code)
{
    for (size_t i = 0; i < sizeof close_meanings / sizeof close_meanings[0]; i++)
        if (close_meanings[i].code == code)
            return close_meanings[i].meaning;
    return "unknown close code";
}

static void maybe_free(struct wsession *s)
{
    if (s->lost && !s->cur && !s->next && s->timer_closed)
        free(s);
}

static void on_timer_closed(uv_handle_t *h)
{
    struct wsession *s = h->data;
    s->timer_closed = 1;
    maybe_free(s);
}

/* Ends the session: every socket closes; on_lost once unless the owner closed it. */
static void session_end(struct wsession *s, int report, int code, const char *why)
{
    if (s->lost)
        return;
    s->lost = 1;
    uv_close((uv_handle_t *)&s->watchdog, on_timer_closed);
    if (report)
        s->ops.on_lost(s->arg, code, why, s->last_alive_us);
    if (s->cur && s->cur->wc)
        ws_client_close(s->cur->wc, 1000, "");
    if (s->next && s->next->wc)
        ws_client_close(s->next->wc, 1000, "");
}

static void on_watchdog(uv_timer_t *t);

static void watchdog_restart(struct wsession *s)
{
    if (s->lost)
        return;
    /* 1.2x slack over the promised keepalive, as twurple allows */
    uint64_t ms = (uint64_t)s->keepalive_s * 1200 + 500;
    uv_timer_start(&s->watchdog, on_watchdog, ms, 0);
}

static void on_watchdog(uv_timer_t *t)
{
    struct wsession *s = t->data;
    log_warn("eventsub.ws_silent", "session=%s keepalive_s=%d action=reconnect", s->id,
             s->keepalive_s);
    session_end(s, 1, 4005, "no message within the keepalive window");
}

static const char *jstr(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static void handle_notification(struct wsession *s, json_t *meta, json_t *payload)
{
    const char *id = jstr(meta, "message_id");
    const char *ts = jstr(meta, "message_timestamp");
    int64_t ts_us;
    if (!id || !ts || !json_is_object(payload) || clock_parse_rfc3339(ts, &ts_us) < 0) {
        log_warn("eventsub.ws_bad_notification", "session=%s reason=\"missing fields\"", s->id);
        return;
    }
    if (ts_us < clock_wall_us() - MAX_AGE_US) {
        log_warn("eventsub.ws_stale", "message_id=%.64s timestamp=%.40s", id, ts);
        return;
    }
    struct err err = {{0}};
    struct event *ev;
    if (event_decode_notification(id, ts_us, payload, &ev, &err) < 0) {
        log_warn("eventsub.ws_undecodable", "message_id=%.64s reason=\"%s\"", id, err.msg);
        return;
    }
    s->stats.notifications++;
    ingest_submit(s->ingest, ev, INGEST_WEBSOCKET, NULL, NULL);
}

static int open_conn(struct wsession *s, const char *url, struct wconn **slot, struct err *err);

static void handle_welcome(struct wsession *s, struct wconn *c, json_t *payload)
{
    json_t *session = json_object_get(payload, "session");
    const char *id = jstr(session, "id");
    json_t *ka = json_object_get(session, "keepalive_timeout_seconds");
    if (!id) {
        session_end(s, 1, 1006, "welcome without a session id");
        return;
    }
    c->welcomed = 1;
    snprintf(s->id, sizeof s->id, "%s", id);
    if (json_is_integer(ka) && json_integer_value(ka) >= 1 && json_integer_value(ka) <= 600)
        s->keepalive_s = (int)json_integer_value(ka);
    int carried = 0;
    if (c == s->next) { /* hand-over done: the new socket replaces the old one */
        struct wconn *old = s->cur;
        s->cur = s->next;
        s->next = NULL;
        carried = 1;
        if (old && old->wc)
            ws_client_close(old->wc, 1000, "reconnected");
        s->stats.reconnects++;
    }
    log_info("eventsub.ws_welcome", "session=%s keepalive_s=%d carried=%d", s->id, s->keepalive_s,
             carried);
    watchdog_restart(s);
    s->ops.on_welcome(s->arg, s->id, carried);
}

static void handle_reconnect(struct wsession *s, json_t *payload)
{
    const char *url = jstr(json_object_get(payload, "session"), "reconnect_url");
    if (!url || s->next) {
        log_warn("eventsub.ws_reconnect_ignored", "reason=\"%s\"",
                 url ? "already reconnecting" : "no reconnect_url");
        return;
    }
    log_info("eventsub.ws_reconnect", "session=%s", s->id);
    struct err err = {{0}};
    if (open_conn(s, url, &s->next, &err) < 0)
        session_end(s, 1, 4007, err.msg);
}

static void on_message(void *arg, const char *data, size_t len)
{
    struct wconn *c = arg;
    struct wsession *s = c->s;
    if (s->lost)
        return;
    json_t *msg = json_loadb(data, len, 0, NULL);
    json_t *meta = json_object_get(msg, "metadata");
    json_t *payload = json_object_get(msg, "payload");
    const char *type = jstr(meta, "message_type");
    if (!type) {
        log_warn("eventsub.ws_bad_message", "session=%s bytes=%zu", s->id, len);
        json_decref(msg);
        return;
    }
    s->last_alive_us = clock_wall_us();
    if (c == s->cur && c->welcomed)
        watchdog_restart(s);
    if (strcmp(type, "session_welcome") == 0)
        handle_welcome(s, c, payload);
    else if (strcmp(type, "session_keepalive") == 0)
        s->stats.keepalives++;
    else if (strcmp(type, "notification") == 0)
        handle_notification(s, meta, payload);
    else if (strcmp(type, "session_reconnect") == 0)
        handle_reconnect(s, payload);
    else if (strcmp(type, "revocation") == 0) {
        json_t *sub = json_object_get(payload, "subscription");
        const char *sid = jstr(sub, "id"), *st = jstr(sub, "type"), *status = jstr(sub, "status");
        log_warn("eventsub.ws_revocation", "subscription_id=%.64s type=%.64s status=%.64s",
                 sid ? sid : "-", st ? st : "-", status ? status : "-");
        if (sid)
            s->ops.on_revocation(s->arg, sid, st ? st : "", status ? status : "");
    } else {
        log_info("eventsub.ws_unknown_message", "type=%.64s", type);
    }
    json_decref(msg);
}

static void on_open(void *arg)
{
    struct wconn *c = arg;
    log_debug("eventsub.ws_open", "session=%s", c->s->id);
}

static void on_close(void *arg, int code, const char *reason)
{
    struct wconn *c = arg;
    struct wsession *s = c->s;
    c->wc = NULL;
    int was_cur = c == s->cur, was_next = c == s->next;
    if (was_cur)
        s->cur = NULL;
    else if (was_next)
        s->next = NULL;
    free(c);
    if (!s->lost && (was_cur || was_next)) {
        log_info("eventsub.ws_closed", "session=%s code=%d meaning=\"%s\" reason=\"%.80s\"",
                 s->id, code, wsession_close_meaning(code), reason ? reason : "");
        /* the current socket may close during a hand-over (Twitch's 4004): fine while the new
         * one is on its way; a failed new socket or a lone current one ends the session */
        if (was_next || !s->next)
            session_end(s, 1, code, wsession_close_meaning(code));
    }
    /* neither: the old socket of a finished hand-over, closed by us */
    maybe_free(s);
}

static const struct ws_client_ops conn_ops = {on_open, on_message, on_close};

static int open_conn(struct wsession *s, const char *url, struct wconn **slot, struct err *err)
{
    struct wconn *c = calloc(1, sizeof *c);
    if (!c)
        return err_set(err, "out of memory");
    c->s = s;
    *slot = c;
    if (ws_client_connect(s->loop, url, NULL, &conn_ops, c, &c->wc, err) < 0) {
        *slot = NULL;
        free(c);
        return -1;
    }
    return 0;
}

int wsession_open(uv_loop_t *loop, const char *url, struct ingest *ingest,
                  const struct wsession_ops *ops, void *arg, struct wsession **out,
                  struct err *err)
{
    struct wsession *s = calloc(1, sizeof *s);
    if (!s)
        return err_set(err, "out of memory");
    s->loop = loop;
    s->ingest = ingest;
    s->ops = *ops;
    s->arg = arg;
    s->keepalive_s = DEFAULT_KEEPALIVE_S;
    s->last_alive_us = clock_wall_us();
    if (open_conn(s, url, &s->cur, err) < 0) {
        free(s);
        return -1;
    }
    uv_timer_init(loop, &s->watchdog);
    s->watchdog.data = s;
    /* until the welcome: the connect timeout of ws/client plus one keepalive window */
    uv_timer_start(&s->watchdog, on_watchdog, 20000, 0);
    *out = s;
    return 0;
}

void wsession_close(struct wsession *s)
{
    session_end(s, 0, 1000, "closed by SEV");
    maybe_free(s);
}

const char *wsession_id(const struct wsession *s)
{
    return s->id;
}

void wsession_stats(const struct wsession *s, struct wsession_stats *out)
{
    *out = s->stats;
}
