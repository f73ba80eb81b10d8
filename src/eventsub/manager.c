/* manager.c: the EventSub manager's life (esm_new, esm_free, stats), its streamers and
 * favorites, gap markers and the first-view backfill, revocations and verification. The
 * design is in manager.h; the files and their order in manager_int.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/rand.h"
#include "eventsub/backfill.h"
#include "eventsub/manager_int.h"
#include "eventsub/wsession.h"

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

void esm_handle_closed(uv_handle_t *h)
{
    void *owner = h->data;
    struct esm *m = *(struct esm **)owner; /* both streamer and session start with m */
    free(owner);
    if (--m->handles == 0 && m->inflight == 0 && m->freeing)
        esm_destroy(m);
}

/* Every Helix callback starts here; 1 means the manager is going away: do nothing more. */
int esm_call_returned(struct esm *m)
{
    m->inflight--;
    if (!m->freeing)
        return 0;
    if (m->handles == 0 && m->inflight == 0)
        esm_destroy(m);
    return 1;
}

int esm_helix(struct esm *m, const char *user, const char *method, const char *path,
                 json_t *body, esm_helix_cb cb, void *arg)
{
    if (m->freeing || m->tw.helix(m->tw.ctx, user, method, path, body, cb, arg) < 0)
        return -1;
    m->inflight++;
    return 0;
}

int esm_backoff_next(struct esm *m, int *cur)
{
    int base = *cur ? *cur * 2 : m->opts.retry_base_ms;
    if (base > m->opts.retry_max_ms)
        base = m->opts.retry_max_ms;
    *cur = base;
    uint32_t r = 0;
    rand_bytes(&r, sizeof r);
    return base / 2 + (int)(r % (uint32_t)(base / 2 + 1)); /* jitter: [base/2, base] */
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
    if (esm_call_returned(m))
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
    if (esm_helix(s->m, user, "GET", path, NULL, cb, c) < 0)
        free(c);
}

/* The stream live now, and the latest followers when the broadcaster lets SEV read them. */
static void backfill(struct streamer *s, int64_t since_us)
{
    char path[160];
    snprintf(path, sizeof path, "/streams?user_id=%s", s->id);
    backfill_ask(s, NULL, path, on_backfill_stream, since_us);
    if (esm_has_scope(s->bscopes, "moderator:read:followers")) {
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

void esm_maybe_close_gap(struct streamer *s)
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

void esm_mark_down(struct streamer *s, int64_t since_us, const char *why)
{
    if (s->down_since_us && s->down_since_us <= since_us)
        return;
    s->down_since_us = since_us;
    snprintf(s->gap_reason, sizeof s->gap_reason, "%s", why);
}

/* ---- streamers ---- */

static void on_scopes(void *arg, const char *user_id, const char *scopes)
{
    struct esm *m = arg;
    if (esm_call_returned(m))
        return;
    struct streamer *s = map_get(&m->streamers, user_id);
    if (!s)
        return;
    free(s->bscopes);
    s->bscopes = scopes ? strdup(scopes) : NULL;
    s->scopes_known = 1;
    esm_plan(s);
    first_view(s);
}

static void ask_scopes(struct streamer *s)
{
    struct esm *m = s->m;
    if (!m->tw.user_scopes || m->tw.user_scopes(m->tw.ctx, s->id, on_scopes, m) < 0) {
        s->scopes_known = 1;
        esm_plan(s);
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
        esm_mark_down(s, m->opts.stopped_at_us, "SEV was restarted");
    for (size_t i = 0; i < NWANTED; i++)
        s->subs[i].state = SUB_IDLE;
    if (map_put(&m->streamers, s->id, s) < 0) {
        map_release(&s->viewers);
        map_release(&s->skip);
        uv_close((uv_handle_t *)&s->retry, esm_handle_closed);
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
            esm_delete_remote(m, sub->host, sub->id);
        sub->state = SUB_UNAVAILABLE;
        sub->host[0] = 0;
    }
    log_info("eventsub.streamer_dropped", "streamer=%s", s->login);
    map_remove(&m->streamers, s->id);
    s->closing = 1;
    for (int k = 0; k < nhosts; k++)
        esm_session_release_if_unused(m, hosts[k]);
    map_release(&s->viewers);
    map_release(&s->skip);
    free(s->bscopes);
    uv_timer_stop(&s->retry);
    uv_close((uv_handle_t *)&s->retry, esm_handle_closed);
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
                esm_plan(s);
                for (int k = 0; k < nhosts; k++)
                    esm_session_release_if_unused(m, hosts[k]);
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
    esm_plan(s);
}

void esm_user_authorized(struct esm *m, const char *user_id)
{
    struct streamer *s = map_get(&m->streamers, user_id);
    if (s)
        ask_scopes(s); /* the broadcaster may have granted more */
    const char *fav = map_get(&m->favorites, user_id);
    struct streamer *f = fav ? map_get(&m->streamers, fav) : NULL;
    if (f)
        esm_plan(f); /* a carrier whose subscriptions failed may now succeed */
}

void esm_user_gone(struct esm *m, const char *user_id)
{
    esm_favorite_changed(m, user_id, NULL, NULL, NULL);
    struct streamer *s = map_get(&m->streamers, user_id);
    if (s) {
        free(s->bscopes);
        s->bscopes = NULL;
        esm_plan(s);
    }
    struct session *se = map_remove(&m->sessions, user_id);
    if (se)
        esm_session_close(se);
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
    esm_mark_down(s, clock_wall_us(), "a subscription was revoked");
    if (strcmp(r, "authorization_revoked") == 0 && by_viewer) {
        /* the carrier withdrew SEV's authorization: nothing rides on that grant any more;
         * another viewer carries */
        esm_set_unavailable(sub, "the viewer carrying it withdrew SEV's authorization");
        esm_user_gone(m, host);
        return;
    }
    if (strcmp(r, "authorization_revoked") == 0) {
        /* the broadcaster withdrew: no resubscribing until they authorize again */
        free(s->bscopes);
        s->bscopes = NULL;
        esm_set_unavailable(sub, "the broadcaster withdrew SEV's authorization");
        esm_plan(s);
        return;
    }
    if (strcmp(r, "user_removed") == 0 && by_viewer) {
        esm_set_unavailable(sub, "the viewer carrying it no longer exists on Twitch");
        esm_user_gone(m, host);
        return;
    }
    if (strcmp(r, "user_removed") == 0) {
        /* the streamer's account is gone: nothing to subscribe to until it is back */
        esm_set_unavailable(sub, "the streamer's Twitch account no longer exists");
        sub->attempts = m->opts.max_attempts;
        return;
    }
    if (strcmp(r, "chat_user_banned") == 0) {
        /* the carrier was banned from this chat: the next viewer carries */
        esm_set_unavailable(sub, "the viewer carrying chat was banned from this chat");
        if (by_viewer && s->viewers.count > 1) {
            esm_skip_carrier(s, host, "banned from the chat");
            esm_plan(s);
            esm_session_release_if_unused(m, host);
        }
        return;
    }
    if (strcmp(r, "moderator_removed") == 0) {
        /* the moderator whose grant it used is no longer one: wait for a new grant */
        esm_set_unavailable(sub, "the moderator it was made with is no longer a moderator");
        sub->attempts = m->opts.max_attempts;
        return;
    }
    if (strcmp(r, "version_removed") == 0) {
        /* SEV subscribes the version of its type table: that version is retired */
        log_error("eventsub.version_removed", "type=%s action=\"update SEV's type table\"",
                  type ? type : "?");
        esm_set_unavailable(sub, "Twitch retired this version of the type: SEV needs an update");
        sub->attempts = m->opts.max_attempts;
        return;
    }
    /* notification_failures_exceeded (deliveries failed: SEV answers every authentic one
     * 2xx now), beta_maintenance (a beta type paused) and anything new: made again after
     * the backoff */
    sub->state = SUB_RETRY;
    esm_arm_retry(s);
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
    esm_maybe_close_gap(s);
}

/* ---- life ---- */

int esm_new(uv_loop_t *loop, const struct esm_options *opts, const struct esm_twitch_ops *ops,
            struct ingest *ingest, struct esm **out, struct err *err)
{
    esm_catalog_build();
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
    snprintf(m->remembered, sizeof m->remembered, "%s", opts->conduit_id ? opts->conduit_id : "");
    m->opts.conduit_id = NULL;
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
    if (m->opts.transport == ESM_CONDUIT) {
        m->shard = calloc(1, sizeof *m->shard);
        if (!m->shard) {
            esm_destroy(m);
            return err_set(err, "out of memory");
        }
        m->shard->m = m;
        uv_timer_init(loop, &m->shard->retry);
        m->shard->retry.data = m->shard;
        m->handles++;
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
        esm_session_close(v);
    if (m->shard) { /* the conduit and its subscriptions stay for the next run */
        if (m->shard->ws)
            wsession_close(m->shard->ws);
        m->shard->ws = NULL;
        uv_timer_stop(&m->shard->retry);
        uv_close((uv_handle_t *)&m->shard->retry, esm_handle_closed);
        m->shard = NULL;
    }
    for (size_t i = 0; map_next(&m->streamers, &i, &key, &v);) {
        struct streamer *s = v;
        s->closing = 1;
        map_release(&s->viewers);
        map_release(&s->skip);
        free(s->bscopes);
        uv_timer_stop(&s->retry);
        uv_close((uv_handle_t *)&s->retry, esm_handle_closed);
    }
    if (m->handles == 0 && m->inflight == 0)
        esm_destroy(m);
}

void esm_stats(const struct esm *m, struct esm_stats *out)
{
    *out = m->stats;
    out->streamers = (uint32_t)m->streamers.count;
    out->sessions = (uint32_t)m->sessions.count + (m->shard && m->shard->ws ? 1 : 0);
    out->enabled = 0;
    const char *key;
    void *v;
    for (size_t i = 0; map_next(&m->streamers, &i, &key, &v);)
        for (size_t row = 0; row < NWANTED; row++)
            out->enabled += ((struct streamer *)v)->subs[row].state == SUB_ENABLED;
}
