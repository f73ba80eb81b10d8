/* manager_gap.c: gap markers ("sev.gap", from the last sign of life to the return of every
 * subscription) and the backfill from Helix that goes with them, and the small pieces every
 * manager file shares: Helix call accounting, handle lifetime, backoff. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/rand.h"
#include "eventsub/backfill.h"
#include "eventsub/manager_int.h"

/* ---- shared: the struct's end, Helix call accounting, backoff ---- */

void esm_destroy(struct esm *m)
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

int esm_helix(struct esm *m, const char *user, const char *method, const char *path, json_t *body,
              esm_helix_cb cb, void *arg)
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
void esm_first_view(struct streamer *s)
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
