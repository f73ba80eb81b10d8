/* manager_sub.c: the subscription state machine of one streamer — who carries what (plan),
 * Create/Delete EventSub Subscription, a 409 taken over, the cost limit, and the per-streamer
 * retry timer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "eventsub/manager_int.h"
#include "eventsub/wsession.h"

/* ---- conditions and bodies ---- */

json_t *esm_condition_for(const struct streamer *s, int row, const char *host)
{
    switch (esm_catalog[row].cond) {
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
int esm_condition_matches(json_t *have, json_t *want)
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
void esm_skip_carrier(struct streamer *s, const char *user, const char *why)
{
    map_put(&s->skip, user, (void *)why);
    if (strcmp(s->carrier, user) == 0)
        s->carrier[0] = 0;
}

void esm_set_unavailable(struct sub *sub, const char *why)
{
    sub->state = SUB_UNAVAILABLE;
    snprintf(sub->reason, sizeof sub->reason, "%s", why);
}

static int decide_row(struct streamer *s, int row, enum esm_transport *via, const char **host,
                      const char **why)
{
    const struct event_type_info *t = esm_catalog[row].t;
    struct esm *m = s->m;
    switch (t->need) {
    case EVENT_NEED_NOTHING:
        *via = m->opts.transport;
        *host = m->opts.transport != ESM_WEBSOCKET ? "" : pick_carrier(s);
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
        if (!esm_has_scope(s->bscopes, t->scope) && !esm_has_scope(s->bscopes, t->alt_scope)) {
            *why = "needs the broadcaster to authorize SEV";
            return 0;
        }
        *via = m->opts.transport;
        *host = m->opts.transport != ESM_WEBSOCKET ? "" : s->id;
        return 1;
    case EVENT_NEED_NEVER:
        *why = "not subscribed per streamer";
        return 0;
    }
    return 0;
}

/* Decides transport and host of one row; returns 1 if it should exist now. A row whose
 * superseding type can be had is not made: that type carries the same occurrences (a cheer
 * told once by channel.bits.use instead of by channel.cheer and channel.chat.message too). */
int esm_decide(struct streamer *s, int row, enum esm_transport *via, const char **host,
               const char **why)
{
    int over = esm_row_of(esm_catalog[row].t->superseded_by);
    enum esm_transport v2;
    const char *h2 = NULL, *w2 = NULL;
    if (over >= 0 && decide_row(s, over, &v2, &h2, &w2) && s->subs[over].state != SUB_UNAVAILABLE) {
        *why = "received through channel.bits.use instead";
        return 0;
    }
    return decide_row(s, row, via, host, why);
}

/* Brings every row of s to what it should be now. */
void esm_plan(struct streamer *s)
{
    struct esm *m = s->m;
    if (!m->started || m->adopting || s->closing)
        return;
    for (int row = 0; row < (int)NWANTED; row++) {
        struct sub *sub = &s->subs[row];
        enum esm_transport via = ESM_WEBSOCKET;
        const char *host = NULL, *why = NULL;
        int want = esm_decide(s, row, &via, &host, &why);
        int same = want && sub->via == via && strcmp(sub->host, host) == 0;
        if (sub->state == SUB_ENABLED || sub->state == SUB_PENDING || sub->state == SUB_CREATING) {
            if (same)
                continue;
            /* moved or no longer wanted: drop the old one */
            if (sub->id[0])
                esm_delete_remote(m, sub->host, sub->id);
            sub->id[0] = 0;
            sub->gen++;
        }
        if (!want) {
            if (sub->state != SUB_UNAVAILABLE || strcmp(sub->reason, why) != 0)
                sub->gen++;
            esm_set_unavailable(sub, why);
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
        if (via != ESM_WEBSOCKET) {
            esm_create_sub(s, row);
        } else {
            esm_session_want(m, host); /* creates when (or if already) welcomed */
            struct session *se = map_get(&m->sessions, host);
            if (se && se->live)
                esm_create_sub(s, row);
        }
    }
    esm_maybe_close_gap(s);
}

/* ---- Helix calls ---- */

static void on_deleted(void *arg, int status, json_t *body, const char *error)
{
    struct call *c = arg;
    (void)body;
    if (esm_call_returned(c->m)) {
        free(c);
        return;
    }
    if (status == 204 || status == 404)
        c->m->stats.deleted++;
    else
        log_warn("eventsub.delete_failed", "status=%d error=\"%s\"", status, error ? error : "");
    free(c);
}

void esm_delete_remote(struct esm *m, const char *host, const char *id)
{
    struct call *c = calloc(1, sizeof *c);
    if (!c)
        return;
    c->m = m;
    char path[160];
    snprintf(path, sizeof path, "/eventsub/subscriptions?id=%s", id);
    if (esm_helix(m, host[0] ? host : NULL, "DELETE", path, NULL, on_deleted, c) < 0)
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

/* The end of every create attempt (and of the listings a failure leads to): a sub that is
 * now unavailable may let another type carry, or leave its session with nothing to do. */
static void create_settled(struct streamer *s, int row)
{
    struct sub *sub = &s->subs[row];
    if (sub->state == SUB_UNAVAILABLE && esm_supersedes(row))
        esm_plan(s); /* what it would have carried is made the other way */
    if (sub->state == SUB_UNAVAILABLE && sub->via == ESM_WEBSOCKET && sub->host[0]) {
        char host[32];
        snprintf(host, sizeof host, "%s", sub->host);
        /* every subscription of that session failed: close it rather than keep an empty
         * session that Twitch closes with 4003 and SEV would reopen in a loop */
        esm_session_release_if_unused(s->m, host);
    }
    esm_maybe_close_gap(s);
}

static void retry_or_give_up(struct esm *m, struct streamer *s, struct sub *sub, const char *msg)
{
    if (sub->attempts >= m->opts.max_attempts) {
        char why[160];
        snprintf(why, sizeof why, "failed %d times: %s", sub->attempts, msg);
        esm_set_unavailable(sub, why);
        return;
    }
    sub->state = SUB_RETRY; /* 5xx, 429 rate limit, network, 401 mid-refresh */
    esm_arm_retry(s);
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
    esm_set_unavailable(sub, "Twitch's subscription cost limit for this token is reached");
    sub->attempts = s->m->opts.max_attempts;
    if (sub->host[0] && strcmp(sub->host, s->carrier) == 0 && s->viewers.count > 1) {
        esm_skip_carrier(s, s->carrier, "cost limit");
        esm_plan(s);
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
    if (!type || !version || !status || !method || strcmp(type, esm_catalog[row].t->type) != 0 ||
        strcmp(version, esm_catalog[row].t->version) != 0 ||
        (strcmp(status, "enabled") != 0 &&
         strcmp(status, "webhook_callback_verification_pending") != 0))
        return 0;
    if (sub->via == ESM_WEBHOOK) {
        const char *cb = json_string_value(json_object_get(tr, "callback"));
        if (strcmp(method, "webhook") != 0 || !cb || strcmp(cb, m->callback_url) != 0)
            return 0;
    } else if (sub->via == ESM_CONDUIT) {
        const char *cid = json_string_value(json_object_get(tr, "conduit_id"));
        if (strcmp(method, "conduit") != 0 || !cid || strcmp(cid, m->conduit_id) != 0)
            return 0;
    } else {
        struct session *se = map_get(&m->sessions, sub->host);
        const char *sid = json_string_value(json_object_get(tr, "session_id"));
        if (strcmp(method, "websocket") != 0 || !se || !se->ws || !sid ||
            strcmp(sid, wsession_id(se->ws)) != 0)
            return 0;
    }
    json_t *want = esm_condition_for(s, row, sub->host);
    int same = esm_condition_matches(json_object_get(item, "condition"), want);
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
    if (esm_call_returned(m)) {
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
                     esm_catalog[row].t->type, sub->state == SUB_ENABLED ? "enabled" : "pending");
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
             esm_catalog[row].t->type, status, error ? error : "");
    retry_or_give_up(m, s, sub, "Twitch says it exists but does not list it");
    free(c);
    create_settled(s, row);
}

static void list_for_conflict(struct call *c, struct sub *sub, const char *after)
{
    struct streamer *s = map_get(&c->m->streamers, c->streamer);
    char path[640];
    /* the filters are exclusive: type only (the token's own subscriptions are listed) */
    snprintf(path, sizeof path, "/eventsub/subscriptions?type=%s%s%s", esm_catalog[c->row].t->type,
             after ? "&after=" : "", after ? after : "");
    sub->state = SUB_CREATING; /* still settling: esm_plan leaves it alone */
    if (esm_helix(c->m, c->host[0] ? c->host : NULL, "GET", path, NULL, on_conflict_listed, c) <
        0) {
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
    if (esm_call_returned(m)) {
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
    if (esm_call_returned(m)) {
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
            esm_delete_remote(m, c->host, id);
        free(c);
        return;
    }
    int row = c->row;
    const char *type = esm_catalog[row].t->type;
    if (status == 202 && id) {
        m->stats.created++;
        take_over(s, sub, id, st);
        log_info("eventsub.subscribed", "streamer=%s type=%s via=%s status=%s", s->login, type,
                 esm_via_name(sub->via),
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
        if (esm_helix(m, c->host[0] ? c->host : NULL, "GET",
                      "/eventsub/subscriptions?status=enabled", NULL, on_cost_listed, c) == 0)
            return; /* c lives on */
        retry_or_give_up(m, s, sub, msg);
    } else if (status == 400 || status == 403 || status == 410) {
        char why[160];
        snprintf(why, sizeof why, "Twitch refused: %s", msg);
        esm_set_unavailable(sub, status == 403 ? "the token lacks the scope this type needs" : why);
    } else {
        retry_or_give_up(m, s, sub, msg);
    }
    free(c);
    create_settled(s, row);
}

void esm_create_sub(struct streamer *s, int row)
{
    struct esm *m = s->m;
    struct sub *sub = &s->subs[row];
    const struct wanted *w = &esm_catalog[row];
    json_t *transport = sub->via == ESM_WEBHOOK
                            ? json_pack("{ssssss}", "method", "webhook", "callback",
                                        m->callback_url, "secret", m->secret)
                        : sub->via == ESM_CONDUIT
                            ? json_pack("{ssss}", "method", "conduit", "conduit_id", m->conduit_id)
                            : NULL;
    if (sub->via == ESM_WEBSOCKET) {
        struct session *se = map_get(&m->sessions, sub->host);
        if (!se || !se->live || !se->ws)
            return;
        transport = json_pack("{ssss}", "method", "websocket", "session_id", wsession_id(se->ws));
    }
    json_t *body =
        json_pack("{sssssoso}", "type", w->t->type, "version", w->t->version, "condition",
                  esm_condition_for(s, row, sub->host), "transport", transport);
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
    int rc = esm_helix(m, sub->host[0] ? sub->host : NULL, "POST", "/eventsub/subscriptions", body,
                       on_created, c);
    json_decref(body);
    if (rc < 0) {
        free(c);
        sub->state = SUB_RETRY;
        esm_arm_retry(s);
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
                esm_session_want(m, sub->host);
                continue;
            }
        }
        esm_create_sub(s, row);
    }
}

void esm_arm_retry(struct streamer *s)
{
    if (uv_is_active((uv_handle_t *)&s->retry))
        return;
    uv_timer_start(&s->retry, on_retry, (uint64_t)esm_backoff_next(s->m, &s->retry_ms), 0);
}
