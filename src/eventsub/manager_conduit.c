/* manager_conduit.c: conduit mode — find or make the conduit (Get/Create Conduits), SEV's
 * own EventSub WebSocket session, and shard 0 pointed at it (Update Conduit Shards). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "eventsub/manager_int.h"
#include "eventsub/wsession.h"

/* ---- conduit mode: the conduit and SEV's own session behind its shard ---- */

static void shard_open(struct shard *sh);

/* Retries whichever step is due: finding the conduit, or opening the session. */
static void on_shard_retry(uv_timer_t *t)
{
    struct shard *sh = t->data;
    if (!sh->m->conduit_id[0])
        esm_conduit_find(sh->m);
    else
        shard_open(sh);
}

static void shard_retry_later(struct shard *sh)
{
    struct esm *m = sh->m;
    if (m->freeing || uv_is_active((uv_handle_t *)&sh->retry))
        return;
    uv_timer_start(&sh->retry, on_shard_retry, (uint64_t)esm_backoff_next(m, &sh->retry_ms), 0);
}

/* The conduit's subscriptions missed what Twitch sent while no session was behind the shard:
 * each streamer gets its gap marker (subscriptions are unchanged, so it is written now). */
static void conduit_gap(struct esm *m, int64_t since_us, const char *why)
{
    const char *key;
    void *v;
    for (size_t i = 0; map_next(&m->streamers, &i, &key, &v);) {
        struct streamer *s = v;
        int any = 0;
        for (size_t row = 0; row < NWANTED; row++)
            any |= s->subs[row].via == ESM_CONDUIT && s->subs[row].state == SUB_ENABLED;
        if (!any)
            continue;
        esm_mark_down(s, since_us, why);
        esm_maybe_close_gap(s);
    }
}

/* The conduit is gone (deleted, or idle for 72 h): its subscriptions went with it; nothing is
 * made until a conduit is found or made again. */
static void conduit_lost(struct esm *m)
{
    log_warn("eventsub.conduit_gone", "conduit=%s", m->conduit_id);
    m->conduit_id[0] = 0;
    m->adopting = 1;
    const char *key;
    void *v;
    for (size_t i = 0; map_next(&m->streamers, &i, &key, &v);) {
        struct streamer *s = v;
        for (size_t row = 0; row < NWANTED; row++) {
            struct sub *sub = &s->subs[row];
            if (sub->via != ESM_CONDUIT || sub->state == SUB_UNAVAILABLE)
                continue;
            if (sub->state == SUB_ENABLED)
                esm_mark_down(s, clock_wall_us(), "EventSub conduit lost");
            sub->state = SUB_IDLE;
            sub->id[0] = 0;
            sub->gen++;
        }
    }
}

static void on_shard_pointed(void *arg, int status, json_t *body, const char *error)
{
    struct esm *m = arg;
    if (esm_call_returned(m))
        return;
    struct shard *sh = m->shard;
    json_t *item = json_array_get(json_object_get(body, "data"), 0);
    const char *st = json_string_value(json_object_get(item, "status"));
    json_t *failed = json_array_get(json_object_get(body, "errors"), 0);
    if (status == 202 && st && strcmp(st, "enabled") == 0) {
        sh->pointed = 1;
        sh->retry_ms = 0;
        log_info("eventsub.shard_ready", "conduit=%s shard=0 session=%s", m->conduit_id,
                 sh->ws ? wsession_id(sh->ws) : "");
        if (sh->lost_at_us) {
            int64_t since = sh->lost_at_us;
            sh->lost_at_us = 0;
            conduit_gap(m, since, sh->why);
        }
        return;
    }
    const char *msg = json_string_value(json_object_get(failed ? failed : body, "message"));
    log_warn("eventsub.shard_update_failed", "conduit=%s status=%d error=\"%s\"", m->conduit_id,
             status,
             msg     ? msg
             : error ? error
                     : "");
    if (!sh->lost_at_us) {
        sh->lost_at_us = clock_wall_us();
        snprintf(sh->why, sizeof sh->why, "EventSub conduit shard could not be re-pointed");
    }
    if (sh->ws)
        wsession_close(sh->ws);
    sh->ws = NULL;
    if (status == 404)
        conduit_lost(m);
    shard_retry_later(sh);
}

static void on_shard_welcome(void *arg, const char *session_id, int carried)
{
    struct shard *sh = arg;
    struct esm *m = sh->m;
    log_info("eventsub.shard_session_ready", "session=%s carried=%d", session_id, carried);
    if (carried)
        return; /* a session_reconnect hand-over: the shard moved with the session */
    sh->pointed = 0;
    json_t *body = json_pack("{ss s[{ss s{ssss}}]}", "conduit_id", m->conduit_id, "shards", "id",
                             "0", "transport", "method", "websocket", "session_id", session_id);
    int rc =
        body ? esm_helix(m, NULL, "PATCH", "/eventsub/conduits/shards", body, on_shard_pointed, m)
             : -1;
    json_decref(body);
    if (rc < 0) {
        wsession_close(sh->ws);
        sh->ws = NULL;
        shard_retry_later(sh);
    }
}

static void on_shard_revocation(void *arg, const char *subscription_id, const char *type,
                                const char *status)
{
    struct shard *sh = arg;
    sh->m->revoked(sh->m, subscription_id, type, status);
}

static void on_shard_lost(void *arg, int close_code, const char *why, int64_t last_alive_us)
{
    struct shard *sh = arg;
    struct esm *m = sh->m;
    sh->ws = NULL; /* it frees itself */
    sh->pointed = 0;
    m->stats.sessions_lost++;
    if (!sh->lost_at_us) {
        sh->lost_at_us = last_alive_us ? last_alive_us : clock_wall_us();
        snprintf(sh->why, sizeof sh->why, "EventSub connection lost: %s",
                 close_code ? wsession_close_meaning(close_code) : why);
    }
    log_warn("eventsub.shard_session_lost", "conduit=%s code=%d meaning=\"%s\"", m->conduit_id,
             close_code, why ? why : "");
    /* soon (the first retry within a second): the conduit's notifications have nowhere to go
     * until the shard is re-pointed */
    shard_retry_later(sh);
}

static const struct wsession_ops shard_ops = {on_shard_welcome, on_shard_revocation, on_shard_lost};

static void shard_open(struct shard *sh)
{
    struct esm *m = sh->m;
    struct err err = {{0}};
    if (sh->ws || m->freeing || !m->conduit_id[0])
        return;
    if (wsession_open(m->loop, m->ws_url, m->ingest, &shard_ops, sh, &sh->ws, &err) < 0) {
        log_warn("eventsub.session_open_failed", "user=(conduit) error=\"%s\"", err.msg);
        sh->ws = NULL;
        shard_retry_later(sh);
        return;
    }
    m->stats.sessions_opened++;
}

/* The conduit is known: open the session behind its shard, then adopt the conduit's existing
 * subscriptions (esm_list_page) and make the rest. */
static void conduit_ready(struct esm *m)
{
    log_info("eventsub.conduit_ready", "conduit=%s", m->conduit_id);
    shard_open(m->shard);
    m->adopting = 1;
    json_decref(m->existing);
    m->existing = json_array();
    esm_list_page(m, NULL);
}

static void on_conduit_created(void *arg, int status, json_t *body, const char *error)
{
    struct esm *m = arg;
    if (esm_call_returned(m))
        return;
    json_t *item = json_array_get(json_object_get(body, "data"), 0);
    const char *id = json_string_value(json_object_get(item, "id"));
    if (status != 200 || !id || strlen(id) >= sizeof m->conduit_id) {
        const char *msg = json_string_value(json_object_get(body, "message"));
        log_warn("eventsub.conduit_create_failed", "status=%d error=\"%s\"", status,
                 msg     ? msg
                 : error ? error
                         : "");
        shard_retry_later(m->shard);
        return;
    }
    snprintf(m->conduit_id, sizeof m->conduit_id, "%s", id);
    log_info("eventsub.conduit_created", "conduit=%s", id);
    if (m->opts.conduit_made)
        m->opts.conduit_made(m->opts.conduit_arg, id);
    conduit_ready(m);
}

/* Get Conduits: the conduit the last run made, if Twitch still has it; else a new one (one
 * shard). Conduits this deployment did not make are left alone. */
static void on_conduits_listed(void *arg, int status, json_t *body, const char *error)
{
    struct esm *m = arg;
    if (esm_call_returned(m))
        return;
    if (status != 200) {
        log_warn("eventsub.conduit_list_failed", "status=%d error=\"%s\"", status,
                 error ? error : "");
        shard_retry_later(m->shard);
        return;
    }
    const char *want = m->remembered[0] ? m->remembered : NULL;
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(body, "data"), i, item)
    {
        const char *id = json_string_value(json_object_get(item, "id"));
        if (!want || !id || strcmp(id, want) != 0 || strlen(id) >= sizeof m->conduit_id)
            continue;
        snprintf(m->conduit_id, sizeof m->conduit_id, "%s", id);
        m->stats.adopted++;
        conduit_ready(m);
        return;
    }
    m->remembered[0] = 0; /* gone: never looked for again */
    json_t *req = json_pack("{si}", "shard_count", 1);
    int rc =
        req ? esm_helix(m, NULL, "POST", "/eventsub/conduits", req, on_conduit_created, m) : -1;
    json_decref(req);
    if (rc < 0)
        shard_retry_later(m->shard);
}

void esm_conduit_find(struct esm *m)
{
    if (esm_helix(m, NULL, "GET", "/eventsub/conduits", NULL, on_conduits_listed, m) < 0)
        shard_retry_later(m->shard);
}
