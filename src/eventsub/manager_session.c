/* manager_session.c: EventSub WebSocket sessions, one per user (wsession.c does the
 * protocol): opened when a subscription needs the user's session, reopened after a jittered
 * backoff when lost, closed when nothing rides on it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "eventsub/manager_int.h"
#include "eventsub/wsession.h"

/* ---- WebSocket sessions, one per user ---- */

static void session_open(struct session *se);
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
        s->m->create_sub(s, row);
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
        esm_mark_down(s, l->since, l->why);
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
        esm_session_close(se);
        return;
    }
    int delay = esm_backoff_next(m, &se->retry_ms);
    uv_timer_start(&se->retry, on_session_retry, (uint64_t)delay, 0);
}

static void on_ws_revocation(void *arg, const char *subscription_id, const char *type,
                             const char *status)
{
    struct session *se = arg;
    se->m->revoked(se->m, subscription_id, type, status);
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
        uv_timer_start(&se->retry, on_session_retry, (uint64_t)esm_backoff_next(m, &se->retry_ms),
                       0);
        return;
    }
    m->stats.sessions_opened++;
}

void esm_session_want(struct esm *m, const char *user)
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
        uv_close((uv_handle_t *)&se->retry, esm_handle_closed);
        return;
    }
    session_open(se);
}

void esm_session_close(struct session *se)
{
    se->closing = 1;
    if (se->ws)
        wsession_close(se->ws);
    se->ws = NULL;
    uv_timer_stop(&se->retry);
    uv_close((uv_handle_t *)&se->retry, esm_handle_closed);
}

static void count_hosted(struct streamer *s, int row, void *arg)
{
    (void)s, (void)row;
    (*(int *)arg)++;
}

void esm_session_release_if_unused(struct esm *m, const char *user)
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
    esm_session_close(se);
}
