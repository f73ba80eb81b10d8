/* manager.c: the EventSub manager's public entry points — life (esm_new, esm_free, stats),
 * streamers and favorites, start-up, revocations and verification. The design is in
 * manager.h; the files and their order in manager_int.h. This file calls the others; none
 * calls it (lower files reach it through struct esm's create_sub and revoked pointers). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/rand.h"
#include "eventsub/backfill.h"
#include "eventsub/manager_int.h"
#include "eventsub/wsession.h"

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
    esm_first_view(s);
}

static void ask_scopes(struct streamer *s)
{
    struct esm *m = s->m;
    if (!m->tw.user_scopes || m->tw.user_scopes(m->tw.ctx, s->id, on_scopes, m) < 0) {
        s->scopes_known = 1;
        esm_plan(s);
        esm_first_view(s);
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

/* ---- start ---- */

void esm_start(struct esm *m)
{
    if (m->started)
        return;
    m->started = 1;
    if (m->opts.transport == ESM_CONDUIT) {
        m->adopting = 1; /* nothing is made before the conduit is known */
        esm_conduit_find(m);
        return;
    }
    if (m->opts.transport == ESM_WEBHOOK) {
        m->adopting = 1;
        m->existing = json_array();
        esm_list_page(m, NULL);
        return;
    }
    const char *key;
    void *v;
    for (size_t i = 0; map_next(&m->streamers, &i, &key, &v);)
        esm_plan(v);
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
    m->create_sub = esm_create_sub;
    m->revoked = esm_on_revocation;
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
