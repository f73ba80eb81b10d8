#include "eventsub/manager.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/map.h"
#include "base/rand.h"
#include "event/event.h"
#include "eventsub/backfill.h"
#include "eventsub/wsession.h"

/* ---- what SEV subscribes to for one streamer ---- */

enum cond_kind {
    COND_BROADCASTER, /* {"broadcaster_user_id": S} */
    COND_RAID_TO,     /* {"to_broadcaster_user_id": S} */
    COND_RAID_FROM,   /* {"from_broadcaster_user_id": S} */
    COND_CHAT,        /* {"broadcaster_user_id": S, "user_id": carrier} */
    COND_MODERATOR,   /* {"broadcaster_user_id": S, "moderator_user_id": S} */
};

/* One subscription SEV makes per streamer: a row of the type table (event_types.c), with
 * channel.raid made twice (incoming and outgoing). Built once from the table. */
struct wanted {
    const struct event_type_info *t;
    enum cond_kind cond;
};

#define MAX_WANTED 64
static struct wanted catalog[MAX_WANTED];
static size_t nwanted;

static void catalog_build(void)
{
    size_t n = 0;
    const struct event_type_info *types = event_types(&n);
    if (nwanted)
        return;
    for (size_t i = 0; i < n && nwanted + 2 <= MAX_WANTED; i++) {
        const struct event_type_info *t = &types[i];
        if (t->need == EVENT_NEED_NEVER)
            continue;
        switch (t->cond) {
        case EVENT_COND_RAID:
            catalog[nwanted++] = (struct wanted){t, COND_RAID_TO};
            catalog[nwanted++] = (struct wanted){t, COND_RAID_FROM};
            break;
        case EVENT_COND_CHAT:
            catalog[nwanted++] = (struct wanted){t, COND_CHAT};
            break;
        case EVENT_COND_MODERATOR:
            catalog[nwanted++] = (struct wanted){t, COND_MODERATOR};
            break;
        case EVENT_COND_BROADCASTER:
            catalog[nwanted++] = (struct wanted){t, COND_BROADCASTER};
            break;
        }
    }
}

#define NWANTED nwanted

enum sub_state {
    SUB_IDLE,        /* not wanted now (no host, or waiting for a session) */
    SUB_CREATING,    /* POST in flight */
    SUB_PENDING,     /* webhook: created, challenge not yet answered */
    SUB_ENABLED,     /* receiving */
    SUB_RETRY,       /* failed transiently; retried by the streamer's timer */
    SUB_UNAVAILABLE, /* cannot be had now; reason says why */
};

struct sub {
    enum sub_state state;
    enum esm_transport via;
    char host[32]; /* the user whose token carries it ("" = app token) */
    char id[64];   /* Twitch's subscription id once created */
    char reason[160];
    int attempts;
    unsigned gen; /* bumped whenever the sub is re-planned: stale callbacks see a mismatch */
};

struct streamer {
    struct esm *m;
    char id[32];
    char login[32];
    struct map viewers; /* user id -> (void *)1 */
    char carrier[32];   /* viewer whose session carries the viewer-token types */
    struct map skip;    /* viewer id -> literal reason: not to carry (cost limit reached,
                           banned from the chat) while another viewer can */
    char *bscopes;      /* scopes the broadcaster granted SEV, NULL if none */
    int scopes_known;   /* the user_scopes answer arrived */
    struct sub subs[MAX_WANTED];
    int64_t down_since_us; /* a possible gap started here (0: none) */
    char gap_reason[96];
    uv_timer_t retry;
    int retry_ms;
    int closing;
    int backfilled; /* the first-view backfill was asked for */
};

struct session {
    struct esm *m;
    char user[32];
    struct wsession *ws; /* NULL while waiting to reconnect */
    int live;            /* welcomed */
    uv_timer_t retry;
    int retry_ms;
    int closing;
};

struct esm {
    uv_loop_t *loop;
    struct esm_options opts;
    struct esm_twitch_ops tw;
    struct ingest *ingest;
    struct map streamers; /* id -> struct streamer */
    struct map sessions;  /* user id -> struct session */
    struct map favorites; /* user id -> strdup(streamer id) */
    int started;
    int adopting;              /* listing existing webhook subscriptions */
    json_t *existing;          /* array of subscriptions listed at start (webhook mode) */
    struct map early_verified; /* subscription ids whose challenge came before the 202 */
    char *ws_url, *callback_url, *secret;
    struct esm_stats stats;
    int handles;  /* open timers */
    int inflight; /* Helix calls whose callback has not run */
    int freeing;  /* esm_free ran: destroyed when both counts reach 0 */
};

/* A Helix callback's context: which sub of which streamer, and at which generation. */
struct call {
    struct esm *m;
    char streamer[32];
    char host[32];
    int row;
    unsigned gen;
};

static void plan(struct streamer *s);
static void create_sub(struct streamer *s, int row);
static void session_want(struct esm *m, const char *user);
static void session_release_if_unused(struct esm *m, const char *user);

static void esm_destroy(struct esm *m)
{
    map_release(&m->streamers);
    map_release(&m->sessions);
    map_release(&m->favorites);
    map_release(&m->early_verified);
    json_decref(m->existing);
    free(m->ws_url);
    free(m->callback_url);
    free(m->secret);
    free(m);
}

static void handle_closed(uv_handle_t *h)
{
    void *owner = h->data;
    struct esm *m = *(struct esm **)owner; /* both streamer and session start with m */
    free(owner);
    if (--m->handles == 0 && m->inflight == 0 && m->freeing)
        esm_destroy(m);
}

/* Every Helix callback starts here; 1 means the manager is going away: do nothing more. */
static int call_returned(struct esm *m)
{
    m->inflight--;
    if (!m->freeing)
        return 0;
    if (m->handles == 0 && m->inflight == 0)
        esm_destroy(m);
    return 1;
}

static int helix(struct esm *m, const char *user, const char *method, const char *path,
                 json_t *body, esm_helix_cb cb, void *arg)
{
    if (m->freeing || m->tw.helix(m->tw.ctx, user, method, path, body, cb, arg) < 0)
        return -1;
    m->inflight++;
    return 0;
}

static int backoff_next(struct esm *m, int *cur)
{
    int base = *cur ? *cur * 2 : m->opts.retry_base_ms;
    if (base > m->opts.retry_max_ms)
        base = m->opts.retry_max_ms;
    *cur = base;
    uint32_t r = 0;
    rand_bytes(&r, sizeof r);
    return base / 2 + (int)(r % (uint32_t)(base / 2 + 1)); /* jitter: [base/2, base] */
}

static int has_scope(const char *scopes, const char *scope)
{
    if (!scopes || !scope)
        return 0;
    size_t n = strlen(scope);
    for (const char *p = scopes; (p = strstr(p, scope)); p += n)
        if ((p == scopes || p[-1] == ' ') && (p[n] == 0 || p[n] == ' '))
            return 1;
    return 0;
}

/* ---- backfill: what Helix can tell, stored as EventSub would have told it ---- */

struct backfill_call {
    struct esm *m;
    char streamer[32];
    int64_t since_us;
};

static struct streamer *backfill_returned(struct backfill_call *c, int status, const char *error,
                                          const char *what)
{
    struct esm *m = c->m;
    if (call_returned(m))
        return NULL;
    if (status != 200) {
        log_warn("eventsub.backfill_failed", "streamer_id=%s what=%s status=%d error=\"%.120s\"",
                 c->streamer, what, status, error ? error : "");
        return NULL;
    }
    return map_get(&m->streamers, c->streamer); /* NULL: nobody watches it any more */
}

static void on_backfill_stream(void *arg, int status, json_t *body, const char *error)
{
    struct backfill_call *c = arg;
    struct streamer *s = backfill_returned(c, status, error, "stream");
    struct event *ev = s ? backfill_stream_online(body, s->id, c->since_us) : NULL;
    if (s)
        log_info("eventsub.backfilled", "streamer=%s type=stream.online count=%d", s->login,
                 ev != NULL);
    if (ev)
        ingest_submit(s->m->ingest, ev, INGEST_SEV, NULL, NULL);
    free(c);
}

static void on_backfill_follows(void *arg, int status, json_t *body, const char *error)
{
    struct backfill_call *c = arg;
    struct streamer *s = backfill_returned(c, status, error, "followers");
    if (s) {
        struct event *evs[BACKFILL_FOLLOWS];
        size_t n = backfill_follows(body, s->id, s->login, c->since_us, evs, BACKFILL_FOLLOWS);
        log_info("eventsub.backfilled", "streamer=%s type=channel.follow count=%zu", s->login, n);
        for (size_t i = 0; i < n; i++) /* duplicates of what EventSub told are dropped there */
            ingest_submit(s->m->ingest, evs[i], INGEST_SEV, NULL, NULL);
    }
    free(c);
}

static void backfill_ask(struct streamer *s, const char *user, const char *path, esm_helix_cb cb,
                         int64_t since_us)
{
    struct backfill_call *c = calloc(1, sizeof *c);
    if (!c)
        return;
    c->m = s->m;
    snprintf(c->streamer, sizeof c->streamer, "%s", s->id);
    c->since_us = since_us;
    if (helix(s->m, user, "GET", path, NULL, cb, c) < 0)
        free(c);
}

/* The stream live now, and the latest followers when the broadcaster lets SEV read them. */
static void backfill(struct streamer *s, int64_t since_us)
{
    char path[160];
    snprintf(path, sizeof path, "/streams?user_id=%s", s->id);
    backfill_ask(s, NULL, path, on_backfill_stream, since_us);
    if (has_scope(s->bscopes, "moderator:read:followers")) {
        snprintf(path, sizeof path, "/channels/followers?broadcaster_id=%s&first=%d", s->id,
                 BACKFILL_FOLLOWS);
        backfill_ask(s, s->id, path, on_backfill_follows, since_us);
    }
}

/* Once per streamer, when its broadcaster's scopes are known: the page is not empty on first
 * view. After a restart the gap's own backfill covers it. */
static void first_view(struct streamer *s)
{
    if (s->backfilled)
        return;
    s->backfilled = 1;
    if (!s->down_since_us)
        backfill(s, 0);
}

/* ---- gap markers ---- */

static void maybe_close_gap(struct streamer *s)
{
    if (!s->down_since_us)
        return;
    int any = 0;
    for (size_t i = 0; i < NWANTED; i++) {
        enum sub_state st = s->subs[i].state;
        if (st == SUB_CREATING || st == SUB_RETRY || st == SUB_IDLE)
            return; /* still coming back */
        any |= st == SUB_ENABLED || st == SUB_PENDING;
    }
    if (!any)
        return;
    backfill(s, s->down_since_us);
    int64_t now = clock_wall_us();
    struct event *gap = event_new_gap(s->id, s->login, NULL, s->down_since_us, now,
                                      s->gap_reason[0] ? s->gap_reason : NULL);
    s->down_since_us = 0;
    s->gap_reason[0] = 0;
    if (!gap)
        return;
    s->m->stats.gaps++;
    log_info("eventsub.gap", "streamer=%s reason=\"%s\"", s->login, gap->summary);
    ingest_submit(s->m->ingest, gap, INGEST_SEV, NULL, NULL);
}

static void mark_down(struct streamer *s, int64_t since_us, const char *why)
{
    if (s->down_since_us && s->down_since_us <= since_us)
        return;
    s->down_since_us = since_us;
    snprintf(s->gap_reason, sizeof s->gap_reason, "%s", why);
}

/* ---- conditions and bodies ---- */

static json_t *condition_for(const struct streamer *s, int row, const char *host)
{
    switch (catalog[row].cond) {
    case COND_BROADCASTER:
        return json_pack("{ss}", "broadcaster_user_id", s->id);
    case COND_RAID_TO:
        return json_pack("{ss}", "to_broadcaster_user_id", s->id);
    case COND_RAID_FROM:
        return json_pack("{ss}", "from_broadcaster_user_id", s->id);
    case COND_CHAT:
        return json_pack("{ssss}", "broadcaster_user_id", s->id, "user_id", host);
    case COND_MODERATOR:
        return json_pack("{ssss}", "broadcaster_user_id", s->id, "moderator_user_id", s->id);
    }
    return NULL;
}

/* Does a listed subscription match row for this streamer (condition keys with "" ignored,
 * since Twitch may echo unused optional keys)? */
static int condition_matches(json_t *have, json_t *want)
{
    const char *key;
    json_t *v;
    json_object_foreach(want, key, v)
    {
        const char *h = json_string_value(json_object_get(have, key));
        if (!h || strcmp(h, json_string_value(v)) != 0)
            return 0;
    }
    json_object_foreach(have, key, v)
    {
        const char *h = json_string_value(v);
        if (h && h[0] && !json_object_get(want, key))
            return 0;
    }
    return 1;
}

/* ---- planning: who carries what ---- */

static const char *pick_carrier(struct streamer *s)
{
    if (s->carrier[0] && map_get(&s->viewers, s->carrier))
        return s->carrier;
    const char *key;
    void *v;
    for (size_t i = 0; map_next(&s->viewers, &i, &key, &v);) {
        if (map_get(&s->skip, key))
            continue;
        snprintf(s->carrier, sizeof s->carrier, "%s", key);
        return s->carrier;
    }
    /* everybody is skipped: the first viewer carries what it still can */
    for (size_t i = 0; map_next(&s->viewers, &i, &key, &v);) {
        snprintf(s->carrier, sizeof s->carrier, "%s", key);
        return s->carrier;
    }
    s->carrier[0] = 0;
    return NULL;
}

/* The carrier cannot carry any more (why is a literal): another viewer takes over. */
static void skip_carrier(struct streamer *s, const char *user, const char *why)
{
    map_put(&s->skip, user, (void *)why);
    if (strcmp(s->carrier, user) == 0)
        s->carrier[0] = 0;
}

static void set_unavailable(struct sub *sub, const char *why)
{
    sub->state = SUB_UNAVAILABLE;
    snprintf(sub->reason, sizeof sub->reason, "%s", why);
}

static int row_of(const char *type)
{
    for (size_t row = 0; type && row < NWANTED; row++)
        if (strcmp(catalog[row].t->type, type) == 0)
            return (int)row;
    return -1;
}

static int decide_row(struct streamer *s, int row, enum esm_transport *via, const char **host,
                      const char **why)
{
    const struct event_type_info *t = catalog[row].t;
    struct esm *m = s->m;
    switch (t->need) {
    case EVENT_NEED_NOTHING:
        *via = m->opts.transport;
        *host = m->opts.transport == ESM_WEBHOOK ? "" : pick_carrier(s);
        if (!*host) {
            *why = "nobody watches this streamer";
            return 0;
        }
        return 1;
    case EVENT_NEED_VIEWER_CHAT:
        *via = ESM_WEBSOCKET;
        *host = pick_carrier(s);
        if (!*host) {
            *why = "needs a viewer logged in to SEV";
            return 0;
        }
        return 1;
    case EVENT_NEED_BROADCASTER:
        if (!s->scopes_known) {
            *why = "checking the broadcaster's authorization";
            return 0;
        }
        if (!has_scope(s->bscopes, t->scope) && !has_scope(s->bscopes, t->alt_scope)) {
            *why = "needs the broadcaster to authorize SEV";
            return 0;
        }
        *via = m->opts.transport;
        *host = m->opts.transport == ESM_WEBHOOK ? "" : s->id;
        return 1;
    case EVENT_NEED_NEVER:
        *why = "not subscribed per streamer";
        return 0;
    }
    return 0;
}

static int supersedes(int row)
{
    for (size_t k = 0; k < NWANTED; k++)
        if (catalog[k].t->superseded_by &&
            strcmp(catalog[k].t->superseded_by, catalog[row].t->type) == 0)
            return 1;
    return 0;
}

/* Decides transport and host of one row; returns 1 if it should exist now. A row whose
 * superseding type can be had is not made: that type carries the same occurrences (a cheer
 * told once by channel.bits.use instead of by channel.cheer and channel.chat.message too). */
static int decide(struct streamer *s, int row, enum esm_transport *via, const char **host,
                  const char **why)
{
    int over = row_of(catalog[row].t->superseded_by);
    enum esm_transport v2;
    const char *h2 = NULL, *w2 = NULL;
    if (over >= 0 && decide_row(s, over, &v2, &h2, &w2) && s->subs[over].state != SUB_UNAVAILABLE) {
        *why = "received through channel.bits.use instead";
        return 0;
    }
    return decide_row(s, row, via, host, why);
}

static void delete_remote(struct esm *m, const char *host, const char *id);

/* Brings every row of s to what it should be now. */
static void plan(struct streamer *s)
{
    struct esm *m = s->m;
    if (!m->started || m->adopting || s->closing)
        return;
    for (int row = 0; row < (int)NWANTED; row++) {
        struct sub *sub = &s->subs[row];
        enum esm_transport via = ESM_WEBSOCKET;
        const char *host = NULL, *why = NULL;
        int want = decide(s, row, &via, &host, &why);
        int same = want && sub->via == via && strcmp(sub->host, host) == 0;
        if (sub->state == SUB_ENABLED || sub->state == SUB_PENDING || sub->state == SUB_CREATING) {
            if (same)
                continue;
            /* moved or no longer wanted: drop the old one */
            if (sub->id[0])
                delete_remote(m, sub->host, sub->id);
            sub->id[0] = 0;
            sub->gen++;
        }
        if (!want) {
            if (sub->state != SUB_UNAVAILABLE || strcmp(sub->reason, why) != 0)
                sub->gen++;
            set_unavailable(sub, why);
            sub->host[0] = 0;
            continue;
        }
        if (sub->state == SUB_UNAVAILABLE && same && sub->attempts >= m->opts.max_attempts)
            continue; /* failed for good with this host: wait for a change */
        if (!same)
            sub->attempts = 0;
        sub->via = via;
        snprintf(sub->host, sizeof sub->host, "%s", host);
        if (sub->state == SUB_RETRY && same)
            continue; /* the timer will do it */
        sub->state = SUB_IDLE;
        sub->reason[0] = 0;
        if (via == ESM_WEBHOOK) {
            create_sub(s, row);
        } else {
            session_want(m, host); /* creates when (or if already) welcomed */
            struct session *se = map_get(&m->sessions, host);
            if (se && se->live)
                create_sub(s, row);
        }
    }
    maybe_close_gap(s);
}

/* ---- Helix calls ---- */

static void on_deleted(void *arg, int status, json_t *body, const char *error)
{
    struct call *c = arg;
    (void)body;
    if (call_returned(c->m)) {
        free(c);
        return;
    }
    if (status == 204 || status == 404)
        c->m->stats.deleted++;
    else
        log_warn("eventsub.delete_failed", "status=%d error=\"%s\"", status, error ? error : "");
    free(c);
}

static void delete_remote(struct esm *m, const char *host, const char *id)
{
    struct call *c = calloc(1, sizeof *c);
    if (!c)
        return;
    c->m = m;
    char path[160];
    snprintf(path, sizeof path, "/eventsub/subscriptions?id=%s", id);
    if (helix(m, host[0] ? host : NULL, "DELETE", path, NULL, on_deleted, c) < 0)
        free(c);
}

static struct streamer *call_target(struct call *c, struct sub **sub)
{
    struct streamer *s = map_get(&c->m->streamers, c->streamer);
    if (!s || s->closing || s->subs[c->row].gen != c->gen)
        return NULL;
    *sub = &s->subs[c->row];
    return s;
}

static void arm_retry(struct streamer *s);

static void session_release_if_unused(struct esm *m, const char *user);

/* The end of every create attempt (and of the listings a failure leads to): a sub that is
 * now unavailable may let another type carry, or leave its session with nothing to do. */
static void create_settled(struct streamer *s, int row)
{
    struct sub *sub = &s->subs[row];
    if (sub->state == SUB_UNAVAILABLE && supersedes(row))
        plan(s); /* what it would have carried is made the other way */
    if (sub->state == SUB_UNAVAILABLE && sub->via == ESM_WEBSOCKET && sub->host[0]) {
        char host[32];
        snprintf(host, sizeof host, "%s", sub->host);
        /* every subscription of that session failed: close it rather than keep an empty
         * session that Twitch closes with 4003 and SEV would reopen in a loop */
        session_release_if_unused(s->m, host);
    }
    maybe_close_gap(s);
}

static void retry_or_give_up(struct esm *m, struct streamer *s, struct sub *sub, const char *msg)
{
    if (sub->attempts >= m->opts.max_attempts) {
        char why[160];
        snprintf(why, sizeof why, "failed %d times: %s", sub->attempts, msg);
        set_unavailable(sub, why);
        return;
    }
    sub->state = SUB_RETRY; /* 5xx, 429 rate limit, network, 401 mid-refresh */
    arm_retry(s);
}

/* 1 when Twitch's answer says the token's budget is spent: total_cost and max_total_cost
 * (Create and Get EventSub Subscriptions carry both) leave no room for a subscription of
 * cost 1. */
static int cost_spent(json_t *body)
{
    json_t *total = json_object_get(body, "total_cost");
    json_t *max = json_object_get(body, "max_total_cost");
    return json_is_integer(total) && json_is_integer(max) &&
           json_integer_value(total) >= json_integer_value(max);
}

static void cost_limit_reached(struct streamer *s, struct sub *sub)
{
    /* this carrier's token is full (its user may run other apps): let another viewer
     * carry; with nobody else, say so and wait for a change */
    set_unavailable(sub, "Twitch's subscription cost limit for this token is reached");
    sub->attempts = s->m->opts.max_attempts;
    if (sub->host[0] && strcmp(sub->host, s->carrier) == 0 && s->viewers.count > 1) {
        skip_carrier(s, s->carrier, "cost limit");
        plan(s);
    }
}

/* Does a listed subscription stand for row of s, made the way SEV would make it now? */
static int listed_is_ours(struct streamer *s, int row, json_t *item)
{
    struct esm *m = s->m;
    struct sub *sub = &s->subs[row];
    const char *type = json_string_value(json_object_get(item, "type"));
    const char *version = json_string_value(json_object_get(item, "version"));
    const char *status = json_string_value(json_object_get(item, "status"));
    json_t *tr = json_object_get(item, "transport");
    const char *method = json_string_value(json_object_get(tr, "method"));
    if (!type || !version || !status || !method || strcmp(type, catalog[row].t->type) != 0 ||
        strcmp(version, catalog[row].t->version) != 0 ||
        (strcmp(status, "enabled") != 0 &&
         strcmp(status, "webhook_callback_verification_pending") != 0))
        return 0;
    if (sub->via == ESM_WEBHOOK) {
        const char *cb = json_string_value(json_object_get(tr, "callback"));
        if (strcmp(method, "webhook") != 0 || !cb || strcmp(cb, m->callback_url) != 0)
            return 0;
    } else {
        struct session *se = map_get(&m->sessions, sub->host);
        const char *sid = json_string_value(json_object_get(tr, "session_id"));
        if (strcmp(method, "websocket") != 0 || !se || !se->ws || !sid ||
            strcmp(sid, wsession_id(se->ws)) != 0)
            return 0;
    }
    json_t *want = condition_for(s, row, sub->host);
    int same = condition_matches(json_object_get(item, "condition"), want);
    json_decref(want);
    return same;
}

static void take_over(struct streamer *s, struct sub *sub, const char *id, const char *status)
{
    struct esm *m = s->m;
    snprintf(sub->id, sizeof sub->id, "%s", id);
    sub->state = status && strcmp(status, "enabled") == 0 ? SUB_ENABLED : SUB_PENDING;
    /* the challenge may come before the 202 is handled: it was remembered */
    if (sub->state == SUB_PENDING && map_remove(&m->early_verified, id))
        sub->state = SUB_ENABLED;
    sub->attempts = 0;
}

static void list_for_conflict(struct call *c, struct sub *sub, const char *after);

/* After a 409: the subscription exists (a lost race, a leftover of an earlier run): find it
 * with Get EventSub Subscriptions filtered by type and take it over. */
static void on_conflict_listed(void *arg, int status, json_t *body, const char *error)
{
    struct call *c = arg;
    struct esm *m = c->m;
    if (call_returned(m)) {
        free(c);
        return;
    }
    struct sub *sub = NULL;
    struct streamer *s = call_target(c, &sub);
    if (!s) {
        free(c);
        return;
    }
    int row = c->row;
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(body, "data"), i, item)
    {
        const char *id = json_string_value(json_object_get(item, "id"));
        if (status == 200 && id && listed_is_ours(s, row, item)) {
            take_over(s, sub, id, json_string_value(json_object_get(item, "status")));
            m->stats.adopted++;
            log_info("eventsub.adopted", "streamer=%s type=%s why=conflict status=%s", s->login,
                     catalog[row].t->type, sub->state == SUB_ENABLED ? "enabled" : "pending");
            free(c);
            create_settled(s, row);
            return;
        }
    }
    const char *cursor =
        json_string_value(json_object_get(json_object_get(body, "pagination"), "cursor"));
    if (status == 200 && cursor && cursor[0] && strlen(cursor) < 400) {
        list_for_conflict(c, sub, cursor);
        return;
    }
    log_warn("eventsub.conflict_unresolved", "streamer=%s type=%s status=%d error=\"%s\"", s->login,
             catalog[row].t->type, status, error ? error : "");
    retry_or_give_up(m, s, sub, "Twitch says it exists but does not list it");
    free(c);
    create_settled(s, row);
}

static void list_for_conflict(struct call *c, struct sub *sub, const char *after)
{
    struct streamer *s = map_get(&c->m->streamers, c->streamer);
    char path[640];
    /* the filters are exclusive: type only (the token's own subscriptions are listed) */
    snprintf(path, sizeof path, "/eventsub/subscriptions?type=%s%s%s", catalog[c->row].t->type,
             after ? "&after=" : "", after ? after : "");
    sub->state = SUB_CREATING; /* still settling: plan leaves it alone */
    if (helix(c->m, c->host[0] ? c->host : NULL, "GET", path, NULL, on_conflict_listed, c) < 0) {
        retry_or_give_up(c->m, s, sub, "could not list subscriptions");
        free(c);
    }
}

/* After a 429: a rate limit (retry later) or the token's cost budget (wait for a change)?
 * Twitch's answer to Get EventSub Subscriptions says which: total_cost, max_total_cost. */
static void on_cost_listed(void *arg, int status, json_t *body, const char *error)
{
    struct call *c = arg;
    struct esm *m = c->m;
    (void)error;
    if (call_returned(m)) {
        free(c);
        return;
    }
    struct sub *sub = NULL;
    struct streamer *s = call_target(c, &sub);
    int row = c->row;
    free(c);
    if (!s)
        return;
    if (status == 200 && cost_spent(body))
        cost_limit_reached(s, sub);
    else
        retry_or_give_up(m, s, sub, "rate limited");
    create_settled(s, row);
}

static void on_created(void *arg, int status, json_t *body, const char *error)
{
    struct call *c = arg;
    struct esm *m = c->m;
    if (call_returned(m)) {
        free(c);
        return;
    }
    struct sub *sub = NULL;
    struct streamer *s = call_target(c, &sub);
    json_t *item = json_array_get(json_object_get(body, "data"), 0);
    const char *id = json_string_value(json_object_get(item, "id"));
    const char *st = json_string_value(json_object_get(item, "status"));
    const char *msg = json_string_value(json_object_get(body, "message"));
    if (!msg)
        msg = error ? error : "";
    if (!s) { /* re-planned while in flight: what was made is an orphan */
        if (status == 202 && id)
            delete_remote(m, c->host, id);
        free(c);
        return;
    }
    int row = c->row;
    const char *type = catalog[row].t->type;
    if (status == 202 && id) {
        m->stats.created++;
        take_over(s, sub, id, st);
        log_info("eventsub.subscribed", "streamer=%s type=%s via=%s status=%s", s->login, type,
                 sub->via == ESM_WEBHOOK ? "webhook" : "websocket",
                 sub->state == SUB_ENABLED ? "enabled"
                 : st                      ? st
                                           : "?");
        free(c);
        create_settled(s, row);
        return;
    }
    m->stats.create_errors++;
    sub->attempts++;
    log_warn("eventsub.subscribe_failed", "streamer=%s type=%s status=%d attempt=%d error=\"%s\"",
             s->login, type, status, sub->attempts, msg);
    if (status == 409) {
        list_for_conflict(c, sub, NULL); /* c lives on */
        return;
    }
    if (status == 429 && cost_spent(body)) {
        cost_limit_reached(s, sub);
    } else if (status == 429) {
        /* the answer does not say which limit: ask Twitch for the token's costs */
        sub->state = SUB_CREATING;
        if (helix(m, c->host[0] ? c->host : NULL, "GET", "/eventsub/subscriptions?status=enabled",
                  NULL, on_cost_listed, c) == 0)
            return; /* c lives on */
        retry_or_give_up(m, s, sub, msg);
    } else if (status == 400 || status == 403 || status == 410) {
        char why[160];
        snprintf(why, sizeof why, "Twitch refused: %s", msg);
        set_unavailable(sub, status == 403 ? "the token lacks the scope this type needs" : why);
    } else {
        retry_or_give_up(m, s, sub, msg);
    }
    free(c);
    create_settled(s, row);
}

static void create_sub(struct streamer *s, int row)
{
    struct esm *m = s->m;
    struct sub *sub = &s->subs[row];
    const struct wanted *w = &catalog[row];
    json_t *transport = sub->via == ESM_WEBHOOK
                            ? json_pack("{ssssss}", "method", "webhook", "callback",
                                        m->callback_url, "secret", m->secret)
                            : NULL;
    if (sub->via == ESM_WEBSOCKET) {
        struct session *se = map_get(&m->sessions, sub->host);
        if (!se || !se->live || !se->ws)
            return;
        transport = json_pack("{ssss}", "method", "websocket", "session_id", wsession_id(se->ws));
    }
    json_t *body = json_pack("{sssssoso}", "type", w->t->type, "version", w->t->version,
                             "condition", condition_for(s, row, sub->host), "transport", transport);
    struct call *c = calloc(1, sizeof *c);
    if (!body || !c) {
        json_decref(body);
        free(c);
        return;
    }
    c->m = m;
    snprintf(c->streamer, sizeof c->streamer, "%s", s->id);
    snprintf(c->host, sizeof c->host, "%s", sub->host);
    c->row = row;
    c->gen = ++sub->gen;
    sub->state = SUB_CREATING;
    sub->id[0] = 0;
    int rc = helix(m, sub->host[0] ? sub->host : NULL, "POST", "/eventsub/subscriptions", body,
                   on_created, c);
    json_decref(body);
    if (rc < 0) {
        free(c);
        sub->state = SUB_RETRY;
        arm_retry(s);
    }
}

/* ---- the per-streamer retry timer ---- */

static void on_retry(uv_timer_t *t)
{
    struct streamer *s = t->data;
    struct esm *m = s->m;
    for (int row = 0; row < (int)NWANTED; row++) {
        struct sub *sub = &s->subs[row];
        if (sub->state != SUB_RETRY)
            continue;
        sub->state = SUB_IDLE;
        sub->gen++;
        if (sub->via == ESM_WEBSOCKET) {
            struct session *se = map_get(&m->sessions, sub->host);
            if (!se || !se->live) {
                session_want(m, sub->host);
                continue;
            }
        }
        create_sub(s, row);
    }
}

static void arm_retry(struct streamer *s)
{
    if (uv_is_active((uv_handle_t *)&s->retry))
        return;
    uv_timer_start(&s->retry, on_retry, (uint64_t)backoff_next(s->m, &s->retry_ms), 0);
}

/* ---- WebSocket sessions, one per user ---- */

static void session_open(struct session *se);
static void session_close(struct session *se);
static void count_hosted(struct streamer *s, int row, void *arg);

static void for_each_hosted(struct esm *m, const char *user,
                            void (*fn)(struct streamer *, int row, void *), void *arg)
{
    const char *key;
    void *v;
    for (size_t i = 0; map_next(&m->streamers, &i, &key, &v);) {
        struct streamer *s = v;
        for (int row = 0; row < (int)NWANTED; row++)
            if (s->subs[row].via == ESM_WEBSOCKET && strcmp(s->subs[row].host, user) == 0 &&
                s->subs[row].state != SUB_UNAVAILABLE)
                fn(s, row, arg);
    }
}

static void create_hosted(struct streamer *s, int row, void *arg)
{
    (void)arg;
    if (s->subs[row].state == SUB_IDLE || s->subs[row].state == SUB_RETRY)
        create_sub(s, row);
}

static void on_welcome(void *arg, const char *session_id, int carried)
{
    struct session *se = arg;
    se->live = 1;
    se->retry_ms = 0;
    log_info("eventsub.session_ready", "user=%s session=%s carried=%d", se->user, session_id,
             carried);
    if (!carried)
        for_each_hosted(se->m, se->user, create_hosted, NULL);
}

struct lost_ctx {
    int64_t since;
    char why[96];
};

static void lose_hosted(struct streamer *s, int row, void *arg)
{
    struct lost_ctx *l = arg;
    struct sub *sub = &s->subs[row];
    if (sub->state == SUB_ENABLED || sub->state == SUB_CREATING || sub->state == SUB_PENDING)
        mark_down(s, l->since, l->why);
    sub->state = SUB_IDLE;
    sub->id[0] = 0;
    sub->gen++;
}

static void on_session_retry(uv_timer_t *t)
{
    struct session *se = t->data;
    session_open(se);
}

static void on_lost(void *arg, int close_code, const char *why, int64_t last_alive_us)
{
    struct session *se = arg;
    struct esm *m = se->m;
    se->ws = NULL; /* it frees itself */
    se->live = 0;
    m->stats.sessions_lost++;
    struct lost_ctx l = {.since = last_alive_us ? last_alive_us : clock_wall_us()};
    snprintf(l.why, sizeof l.why, "EventSub connection lost: %s",
             close_code ? wsession_close_meaning(close_code) : why);
    log_warn("eventsub.session_lost", "user=%s code=%d meaning=\"%s\"", se->user, close_code,
             why ? why : "");
    for_each_hosted(m, se->user, lose_hosted, &l);
    int hosted = 0;
    for_each_hosted(m, se->user, count_hosted, &hosted);
    if (!hosted) {
        /* nothing to carry (Twitch closes an empty session with 4003): not reopened */
        map_remove(&m->sessions, se->user);
        log_info("eventsub.session_closed", "user=%s reason=\"nothing to carry\"", se->user);
        session_close(se);
        return;
    }
    int delay = backoff_next(m, &se->retry_ms);
    uv_timer_start(&se->retry, on_session_retry, (uint64_t)delay, 0);
}

static void on_ws_revocation(void *arg, const char *subscription_id, const char *type,
                             const char *status)
{
    struct session *se = arg;
    esm_on_revocation(se->m, subscription_id, type, status);
}

static const struct wsession_ops session_ops = {on_welcome, on_ws_revocation, on_lost};

static void session_open(struct session *se)
{
    struct esm *m = se->m;
    struct err err = {{0}};
    if (se->ws || se->closing)
        return;
    if (wsession_open(m->loop, m->ws_url, m->ingest, &session_ops, se, &se->ws, &err) < 0) {
        log_warn("eventsub.session_open_failed", "user=%s error=\"%s\"", se->user, err.msg);
        se->ws = NULL;
        uv_timer_start(&se->retry, on_session_retry, (uint64_t)backoff_next(m, &se->retry_ms), 0);
        return;
    }
    m->stats.sessions_opened++;
}

static void session_want(struct esm *m, const char *user)
{
    struct session *se = map_get(&m->sessions, user);
    if (se)
        return;
    se = calloc(1, sizeof *se);
    if (!se)
        return;
    se->m = m;
    snprintf(se->user, sizeof se->user, "%s", user);
    uv_timer_init(m->loop, &se->retry);
    se->retry.data = se;
    m->handles++;
    if (map_put(&m->sessions, se->user, se) < 0) {
        uv_close((uv_handle_t *)&se->retry, handle_closed);
        return;
    }
    session_open(se);
}

static void session_close(struct session *se)
{
    se->closing = 1;
    if (se->ws)
        wsession_close(se->ws);
    se->ws = NULL;
    uv_timer_stop(&se->retry);
    uv_close((uv_handle_t *)&se->retry, handle_closed);
}

static void count_hosted(struct streamer *s, int row, void *arg)
{
    (void)s, (void)row;
    (*(int *)arg)++;
}

static void session_release_if_unused(struct esm *m, const char *user)
{
    struct session *se = map_get(&m->sessions, user);
    if (!se)
        return;
    int n = 0;
    for_each_hosted(m, user, count_hosted, &n);
    if (n)
        return;
    map_remove(&m->sessions, user);
    log_info("eventsub.session_closed", "user=%s reason=\"nothing to carry\"", user);
    session_close(se);
}

/* ---- streamers ---- */

static void on_scopes(void *arg, const char *user_id, const char *scopes)
{
    struct esm *m = arg;
    if (call_returned(m))
        return;
    struct streamer *s = map_get(&m->streamers, user_id);
    if (!s)
        return;
    free(s->bscopes);
    s->bscopes = scopes ? strdup(scopes) : NULL;
    s->scopes_known = 1;
    plan(s);
    first_view(s);
}

static void ask_scopes(struct streamer *s)
{
    struct esm *m = s->m;
    if (!m->tw.user_scopes || m->tw.user_scopes(m->tw.ctx, s->id, on_scopes, m) < 0) {
        s->scopes_known = 1;
        plan(s);
        first_view(s);
        return;
    }
    m->inflight++;
}

static struct streamer *streamer_get(struct esm *m, const char *id, const char *login)
{
    struct streamer *s = map_get(&m->streamers, id);
    if (s)
        return s;
    s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->m = m;
    snprintf(s->id, sizeof s->id, "%s", id);
    snprintf(s->login, sizeof s->login, "%s", login ? login : id);
    map_init(&s->viewers);
    map_init(&s->skip);
    uv_timer_init(m->loop, &s->retry);
    s->retry.data = s;
    m->handles++;
    if (m->opts.stopped_at_us && !m->started)
        mark_down(s, m->opts.stopped_at_us, "SEV was restarted");
    for (size_t i = 0; i < NWANTED; i++)
        s->subs[i].state = SUB_IDLE;
    if (map_put(&m->streamers, s->id, s) < 0) {
        map_release(&s->viewers);
        map_release(&s->skip);
        uv_close((uv_handle_t *)&s->retry, handle_closed);
        return NULL;
    }
    ask_scopes(s);
    return s;
}

static void collect_hosts(struct streamer *s, char hosts[][32], int *n)
{
    for (size_t i = 0; i < NWANTED; i++) {
        const char *h = s->subs[i].host;
        if (!h[0] || s->subs[i].via != ESM_WEBSOCKET)
            continue;
        int seen = 0;
        for (int k = 0; k < *n; k++)
            seen |= strcmp(hosts[k], h) == 0;
        if (!seen && *n < (int)MAX_WANTED)
            snprintf(hosts[(*n)++], 32, "%s", h);
    }
}

/* The last viewer left: delete everything, then free. */
static void streamer_drop(struct streamer *s)
{
    struct esm *m = s->m;
    char hosts[MAX_WANTED][32];
    int nhosts = 0;
    collect_hosts(s, hosts, &nhosts);
    for (size_t i = 0; i < NWANTED; i++) {
        struct sub *sub = &s->subs[i];
        if (sub->id[0])
            delete_remote(m, sub->host, sub->id);
        sub->state = SUB_UNAVAILABLE;
        sub->host[0] = 0;
    }
    log_info("eventsub.streamer_dropped", "streamer=%s", s->login);
    map_remove(&m->streamers, s->id);
    s->closing = 1;
    for (int k = 0; k < nhosts; k++)
        session_release_if_unused(m, hosts[k]);
    map_release(&s->viewers);
    map_release(&s->skip);
    free(s->bscopes);
    uv_timer_stop(&s->retry);
    uv_close((uv_handle_t *)&s->retry, handle_closed);
}

void esm_favorite_changed(struct esm *m, const char *user_id, const char *old_id,
                          const char *new_id, const char *new_login)
{
    char *had = map_remove(&m->favorites, user_id);
    const char *leaving = old_id ? old_id : had;
    if (leaving && new_id && strcmp(leaving, new_id) == 0) {
        map_put(&m->favorites, user_id, had ? had : strdup(new_id));
        return;
    }
    if (leaving) {
        struct streamer *s = map_get(&m->streamers, leaving);
        if (s && map_remove(&s->viewers, user_id)) {
            char hosts[MAX_WANTED][32];
            int nhosts = 0;
            collect_hosts(s, hosts, &nhosts);
            if (s->viewers.count == 0) {
                streamer_drop(s);
            } else {
                if (strcmp(s->carrier, user_id) == 0)
                    s->carrier[0] = 0;
                plan(s);
                for (int k = 0; k < nhosts; k++)
                    session_release_if_unused(m, hosts[k]);
            }
        }
    }
    free(had);
    if (!new_id)
        return;
    char *copy = strdup(new_id);
    if (!copy || map_put(&m->favorites, user_id, copy) < 0) {
        free(copy);
        return;
    }
    struct streamer *s = streamer_get(m, new_id, new_login);
    if (!s)
        return;
    map_put(&s->viewers, user_id, (void *)1);
    log_info("eventsub.viewer_joined", "streamer=%s viewers=%zu", s->login, s->viewers.count);
    plan(s);
}

void esm_user_authorized(struct esm *m, const char *user_id)
{
    struct streamer *s = map_get(&m->streamers, user_id);
    if (s)
        ask_scopes(s); /* the broadcaster may have granted more */
    const char *fav = map_get(&m->favorites, user_id);
    struct streamer *f = fav ? map_get(&m->streamers, fav) : NULL;
    if (f)
        plan(f); /* a carrier whose subscriptions failed may now succeed */
}

void esm_user_gone(struct esm *m, const char *user_id)
{
    esm_favorite_changed(m, user_id, NULL, NULL, NULL);
    struct streamer *s = map_get(&m->streamers, user_id);
    if (s) {
        free(s->bscopes);
        s->bscopes = NULL;
        plan(s);
    }
    struct session *se = map_remove(&m->sessions, user_id);
    if (se)
        session_close(se);
}

/* ---- start-up: adopt what exists (webhook mode) ---- */

static void adopt_and_plan(struct esm *m)
{
    const char *key;
    void *v;
    size_t idx;
    json_t *item;
    json_array_foreach(m->existing, idx, item)
    {
        const char *type = json_string_value(json_object_get(item, "type"));
        const char *version = json_string_value(json_object_get(item, "version"));
        const char *status = json_string_value(json_object_get(item, "status"));
        const char *id = json_string_value(json_object_get(item, "id"));
        json_t *cond = json_object_get(item, "condition");
        int usable = status && (strcmp(status, "enabled") == 0 ||
                                strcmp(status, "webhook_callback_verification_pending") == 0);
        int adopted = 0;
        for (size_t i = 0; usable && !adopted && map_next(&m->streamers, &i, &key, &v);) {
            struct streamer *s = v;
            for (int row = 0; row < (int)NWANTED && !adopted; row++) {
                struct sub *sub = &s->subs[row];
                enum esm_transport via;
                const char *host = NULL, *why = NULL;
                if (sub->id[0] || strcmp(catalog[row].t->type, type ? type : "") != 0 ||
                    strcmp(catalog[row].t->version, version ? version : "") != 0)
                    continue;
                if (!decide(s, row, &via, &host, &why) || via != ESM_WEBHOOK)
                    continue;
                json_t *want = condition_for(s, row, host);
                if (condition_matches(cond, want)) {
                    snprintf(sub->id, sizeof sub->id, "%s", id);
                    sub->via = ESM_WEBHOOK;
                    sub->host[0] = 0;
                    sub->state = strcmp(status, "enabled") == 0 ? SUB_ENABLED : SUB_PENDING;
                    adopted = 1;
                    m->stats.adopted++;
                }
                json_decref(want);
            }
        }
        if (!adopted && id) {
            log_info("eventsub.orphan_deleted", "type=%s status=%s", type ? type : "?",
                     status ? status : "?");
            delete_remote(m, "", id);
        }
    }
    json_decref(m->existing);
    m->existing = NULL;
    m->adopting = 0;
    for (size_t i = 0; map_next(&m->streamers, &i, &key, &v);)
        plan(v);
}

static void list_page(struct esm *m, const char *after);

static void on_listed(void *arg, int status, json_t *body, const char *error)
{
    struct esm *m = arg;
    if (call_returned(m))
        return;
    if (status != 200) {
        log_warn("eventsub.list_failed",
                 "status=%d error=\"%s\" action=\"creating without "
                 "adoption; a 409 will be resolved by listing again\"",
                 status, error ? error : "");
        adopt_and_plan(m);
        return;
    }
    size_t idx;
    json_t *item;
    json_array_foreach(json_object_get(body, "data"), idx, item)
    {
        json_t *tr = json_object_get(item, "transport");
        const char *cb = json_string_value(json_object_get(tr, "callback"));
        if (!cb || strcmp(cb, m->callback_url) != 0)
            continue; /* another app's or another deployment's: not ours to touch */
        if (m->opts.secret_changed) {
            delete_remote(m, "", json_string_value(json_object_get(item, "id")));
            continue; /* made with the old secret: its notifications would fail the HMAC */
        }
        json_array_append(m->existing, item);
    }
    const char *cursor =
        json_string_value(json_object_get(json_object_get(body, "pagination"), "cursor"));
    if (cursor && cursor[0])
        list_page(m, cursor);
    else
        adopt_and_plan(m);
}

static void list_page(struct esm *m, const char *after)
{
    char path[512];
    snprintf(path, sizeof path, "/eventsub/subscriptions%s%s", after ? "?after=" : "",
             after ? after : "");
    if (helix(m, NULL, "GET", path, NULL, on_listed, m) < 0)
        adopt_and_plan(m);
}

void esm_start(struct esm *m)
{
    if (m->started)
        return;
    m->started = 1;
    if (m->opts.transport == ESM_WEBHOOK) {
        m->adopting = 1;
        m->existing = json_array();
        list_page(m, NULL);
        return;
    }
    const char *key;
    void *v;
    for (size_t i = 0; map_next(&m->streamers, &i, &key, &v);)
        plan(v);
}

/* ---- revocations and verification ---- */

static struct sub *find_sub(struct esm *m, const char *id, struct streamer **owner)
{
    const char *key;
    void *v;
    for (size_t i = 0; id && map_next(&m->streamers, &i, &key, &v);) {
        struct streamer *s = v;
        for (size_t row = 0; row < NWANTED; row++)
            if (strcmp(s->subs[row].id, id) == 0) {
                *owner = s;
                return &s->subs[row];
            }
    }
    return NULL;
}

/* What SEV does next for each revocation reason (Twitch's Subscription status values). */
void esm_on_revocation(struct esm *m, const char *subscription_id, const char *type,
                       const char *reason)
{
    struct streamer *s = NULL;
    struct sub *sub = find_sub(m, subscription_id, &s);
    m->stats.revocations++;
    log_warn("eventsub.revoked", "type=%s reason=%s known=%d", type ? type : "?",
             reason ? reason : "?", sub != NULL);
    if (!sub)
        return;
    const char *r = reason ? reason : "";
    int by_viewer = sub->host[0] && strcmp(sub->host, s->id) != 0; /* a carrier's token */
    char host[32];
    snprintf(host, sizeof host, "%s", sub->host);
    sub->id[0] = 0;
    sub->gen++;
    mark_down(s, clock_wall_us(), "a subscription was revoked");
    if (strcmp(r, "authorization_revoked") == 0 && by_viewer) {
        /* the carrier withdrew SEV's authorization: nothing rides on that grant any more;
         * another viewer carries */
        set_unavailable(sub, "the viewer carrying it withdrew SEV's authorization");
        esm_user_gone(m, host);
        return;
    }
    if (strcmp(r, "authorization_revoked") == 0) {
        /* the broadcaster withdrew: no resubscribing until they authorize again */
        free(s->bscopes);
        s->bscopes = NULL;
        set_unavailable(sub, "the broadcaster withdrew SEV's authorization");
        plan(s);
        return;
    }
    if (strcmp(r, "user_removed") == 0 && by_viewer) {
        set_unavailable(sub, "the viewer carrying it no longer exists on Twitch");
        esm_user_gone(m, host);
        return;
    }
    if (strcmp(r, "user_removed") == 0) {
        /* the streamer's account is gone: nothing to subscribe to until it is back */
        set_unavailable(sub, "the streamer's Twitch account no longer exists");
        sub->attempts = m->opts.max_attempts;
        return;
    }
    if (strcmp(r, "chat_user_banned") == 0) {
        /* the carrier was banned from this chat: the next viewer carries */
        set_unavailable(sub, "the viewer carrying chat was banned from this chat");
        if (by_viewer && s->viewers.count > 1) {
            skip_carrier(s, host, "banned from the chat");
            plan(s);
            session_release_if_unused(m, host);
        }
        return;
    }
    if (strcmp(r, "moderator_removed") == 0) {
        /* the moderator whose grant it used is no longer one: wait for a new grant */
        set_unavailable(sub, "the moderator it was made with is no longer a moderator");
        sub->attempts = m->opts.max_attempts;
        return;
    }
    if (strcmp(r, "version_removed") == 0) {
        /* SEV subscribes the version of its type table: that version is retired */
        log_error("eventsub.version_removed", "type=%s action=\"update SEV's type table\"",
                  type ? type : "?");
        set_unavailable(sub, "Twitch retired this version of the type: SEV needs an update");
        sub->attempts = m->opts.max_attempts;
        return;
    }
    /* notification_failures_exceeded (deliveries failed: SEV answers every authentic one
     * 2xx now), beta_maintenance (a beta type paused) and anything new: made again after
     * the backoff */
    sub->state = SUB_RETRY;
    arm_retry(s);
}

void esm_on_verified(struct esm *m, const char *subscription_id)
{
    struct streamer *s = NULL;
    struct sub *sub = find_sub(m, subscription_id, &s);
    if (!sub) {
        /* the challenge can come before the create call's 202 is handled: remembered (a
         * bounded few) so the subscription shows verified when it is */
        if (subscription_id && m->early_verified.count < 256)
            map_put(&m->early_verified, subscription_id, (void *)1);
        return;
    }
    sub->state = SUB_ENABLED;
    maybe_close_gap(s);
}

/* ---- capabilities ---- */

int esm_capabilities_json(struct esm *m, const char *login, struct buf *out)
{
    struct streamer *s = NULL;
    const char *key;
    void *v;
    for (size_t i = 0; m && map_next(&m->streamers, &i, &key, &v);)
        if (strcasecmp(((struct streamer *)v)->login, login) == 0)
            s = v;
    catalog_build(); /* m may be NULL: esm_new never ran */
    json_t *types = json_array();
    for (size_t row = 0; row < NWANTED; row++) {
        const struct wanted *w = &catalog[row];
        if (row > 0 && catalog[row - 1].t == w->t)
            continue; /* the second raid row: reported with the first */
        int receiving = 0;
        const char *reason = m ? "nobody watches this streamer yet: set it as your favorite"
                               : "SEV runs without Twitch credentials (TWITCH_CLIENT_ID)";
        const char *via = NULL;
        if (s) {
            for (size_t k = row; k < NWANTED && catalog[k].t == w->t; k++) {
                const struct sub *sub = &s->subs[k];
                if (sub->state == SUB_ENABLED) {
                    receiving = 1;
                    via = sub->via == ESM_WEBHOOK ? "webhook" : "websocket";
                } else if (sub->state == SUB_UNAVAILABLE) {
                    reason = sub->reason;
                } else if (sub->state == SUB_PENDING) {
                    reason = "waiting for Twitch to verify the webhook";
                } else {
                    reason = "connecting to Twitch";
                }
            }
        }
        json_array_append_new(
            types, json_pack("{ss ss ss sb ss? ss? ss? ss? ss?}", "type", w->t->type, "version",
                             w->t->version, "label", w->t->what, "receiving", receiving,
                             "transport", via, "reason", receiving ? NULL : reason, "scope",
                             w->t->scope, "event_label", w->t->label, "icon", w->t->icon));
    }
    json_t *labels = json_object();
    json_t *doc = labels && event_labels_json(labels) == 0
                      ? json_pack("{so so}", "types", types, "labels", labels)
                      : NULL;
    if (!doc) {
        json_decref(labels);
        json_decref(types);
    }
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (!text)
        return -1;
    int rc = buf_puts(out, text);
    free(text);
    return rc;
}

/* ---- life ---- */

int esm_new(uv_loop_t *loop, const struct esm_options *opts, const struct esm_twitch_ops *ops,
            struct ingest *ingest, struct esm **out, struct err *err)
{
    catalog_build();
    struct esm *m = calloc(1, sizeof *m);
    if (!m)
        return err_set(err, "out of memory");
    m->loop = loop;
    m->opts = *opts;
    m->tw = *ops;
    m->ingest = ingest;
    if (!m->opts.retry_base_ms)
        m->opts.retry_base_ms = 1000;
    if (!m->opts.retry_max_ms)
        m->opts.retry_max_ms = 60000;
    if (!m->opts.max_attempts)
        m->opts.max_attempts = 5;
    m->ws_url = strdup(opts->ws_url ? opts->ws_url : "");
    m->callback_url = strdup(opts->callback_url ? opts->callback_url : "");
    m->secret = strdup(opts->webhook_secret ? opts->webhook_secret : "");
    m->opts.ws_url = m->opts.callback_url = m->opts.webhook_secret = NULL;
    map_init(&m->streamers);
    map_init(&m->sessions);
    map_init(&m->favorites);
    map_init(&m->early_verified);
    if (!m->ws_url || !m->callback_url || !m->secret) {
        free(m->ws_url);
        free(m->callback_url);
        free(m->secret);
        free(m);
        return err_set(err, "out of memory");
    }
    *out = m;
    return 0;
}

void esm_free(struct esm *m)
{
    if (!m)
        return;
    m->freeing = 1;
    const char *key;
    void *v;
    for (size_t i = 0; map_next(&m->favorites, &i, &key, &v);)
        free(v);
    for (size_t i = 0; map_next(&m->sessions, &i, &key, &v);)
        session_close(v);
    for (size_t i = 0; map_next(&m->streamers, &i, &key, &v);) {
        struct streamer *s = v;
        s->closing = 1;
        map_release(&s->viewers);
        map_release(&s->skip);
        free(s->bscopes);
        uv_timer_stop(&s->retry);
        uv_close((uv_handle_t *)&s->retry, handle_closed);
    }
    if (m->handles == 0 && m->inflight == 0)
        esm_destroy(m);
}

void esm_stats(const struct esm *m, struct esm_stats *out)
{
    *out = m->stats;
    out->streamers = (uint32_t)m->streamers.count;
    out->sessions = (uint32_t)m->sessions.count;
    out->enabled = 0;
    const char *key;
    void *v;
    for (size_t i = 0; map_next(&m->streamers, &i, &key, &v);)
        for (size_t row = 0; row < NWANTED; row++)
            out->enabled += ((struct streamer *)v)->subs[row].state == SUB_ENABLED;
}
