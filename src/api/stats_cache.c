/* stats_cache.c: see stats_cache.h. An entry is one answer, keyed "kind|hours|login":
 *
 *   (new) ──▶ QUEUED ──slot free──▶ RUNNING ──store answered──▶ READY ──ttl passed──┐
 *               ▲                      │ error: callers told, entry dropped          │
 *               └──────────────────────┴──────────── asked again ◀───────────────────┘
 *
 * Callers wait on the entry (QUEUED or RUNNING); READY and fresh answers at once.
 */
#include "api/stats_cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/map.h"

enum entry_state { ENTRY_QUEUED, ENTRY_RUNNING, ENTRY_READY };

struct waiter {
    struct waiter *next;
    stats_cache_fn cb;
    void *arg;
};

struct entry {
    struct stats_cache *cache; /* borrowed; NULL once the cache is freed mid-query */
    char key[96];
    enum stats_kind kind;
    char login[64];
    int hours;
    enum entry_state state;
    struct stat_list *rows; /* owned, READY only */
    int64_t fresh_until_us; /* READY: monotonic */
    struct waiter *waiters; /* owned list, in arrival order */
    struct waiter **wtail;
    struct entry *qnext; /* the queue of QUEUED entries */
};

struct stats_cache {
    struct store *store; /* borrowed */
    struct stats_cache_options opt;
    struct map entries; /* key → struct entry (owned) */
    struct entry *qhead, **qtail;
    int running;
    struct stats_cache_stats stats;
};

struct stats_cache *stats_cache_new(struct store *store, const struct stats_cache_options *opt)
{
    struct stats_cache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->store = store;
    c->opt = *opt;
    if (c->opt.max_queries < 1)
        c->opt.max_queries = 1;
    if (c->opt.ttl_s < 0)
        c->opt.ttl_s = 0;
    map_init(&c->entries);
    c->qtail = &c->qhead;
    return c;
}

static void waiters_free(struct waiter *w)
{
    while (w) {
        struct waiter *next = w->next;
        free(w);
        w = next;
    }
}

static void entry_free(struct entry *e)
{
    waiters_free(e->waiters);
    stat_list_free(e->rows);
    free(e);
}

void stats_cache_free(struct stats_cache *c)
{
    if (!c)
        return;
    size_t i = 0;
    const char *k;
    void *v;
    while (map_next(&c->entries, &i, &k, &v)) {
        struct entry *e = v;
        if (e->state == ENTRY_RUNNING) { /* the store still calls back: it frees the entry */
            e->cache = NULL;
            waiters_free(e->waiters);
            e->waiters = NULL;
            e->wtail = &e->waiters;
        } else {
            entry_free(e);
        }
    }
    map_release(&c->entries);
    free(c);
}

static int64_t now_us(void)
{
    return clock_mono_us();
}

/* Hands the result to every waiter (they may ask again from their callbacks: the entry is out
 * of the waiting state by then). */
static void entry_answer(struct entry *e, int status)
{
    struct waiter *w = e->waiters;
    e->waiters = NULL;
    e->wtail = &e->waiters;
    while (w) {
        struct waiter *next = w->next;
        w->cb(w->arg, status, status == 0 ? e->rows : NULL);
        free(w);
        w = next;
    }
}

static void start_queued(struct stats_cache *c);

static void on_rows(void *arg, int status, struct stat_list *rows)
{
    struct entry *e = arg;
    struct stats_cache *c = e->cache;
    if (!c) { /* the cache went away meanwhile */
        stat_list_free(rows);
        entry_free(e);
        return;
    }
    c->running--;
    if (status == 0 && rows) {
        e->state = ENTRY_READY;
        e->rows = rows;
        e->fresh_until_us = now_us() + (int64_t)c->opt.ttl_s * 1000000;
        entry_answer(e, 0);
    } else {
        stat_list_free(rows);
        map_remove(&c->entries, e->key); /* errors are not kept */
        entry_answer(e, status < 0 ? status : -1);
        entry_free(e);
    }
    start_queued(c);
}

static int entry_query(struct stats_cache *c, struct entry *e)
{
    switch (e->kind) {
    case STATS_STREAMERS:
        return store_stats_streamers(c->store, on_rows, e);
    case STATS_TYPES:
        return store_stats_types(c->store, e->login, on_rows, e);
    case STATS_HOURLY:
        return store_stats_hourly(c->store, e->login, e->hours, on_rows, e);
    }
    return -1;
}

/* Starts queued queries while slots are free. A query the store refuses fails its waiters. */
static void start_queued(struct stats_cache *c)
{
    while (c->qhead && c->running < c->opt.max_queries) {
        struct entry *e = c->qhead;
        c->qhead = e->qnext;
        if (!c->qhead)
            c->qtail = &c->qhead;
        e->qnext = NULL;
        c->stats.waiting--;
        e->state = ENTRY_RUNNING;
        c->running++;
        c->stats.queries++;
        if (entry_query(c, e) < 0) {
            c->running--;
            map_remove(&c->entries, e->key);
            entry_answer(e, -1);
            entry_free(e);
        }
    }
}

/* Makes room for one more entry by dropping kept answers: expired ones first, else the one
 * that expires soonest. 0, or -1 when every entry is still being computed. */
static int make_room(struct stats_cache *c)
{
    if (c->entries.count < STATS_CACHE_ENTRIES)
        return 0;
    int64_t now = now_us();
    struct entry *victim = NULL;
    size_t i = 0, expired = 0;
    const char *k;
    void *v;
    while (map_next(&c->entries, &i, &k, &v)) {
        struct entry *e = v;
        if (e->state != ENTRY_READY)
            continue;
        if (e->fresh_until_us <= now)
            expired++;
        if (!victim || e->fresh_until_us < victim->fresh_until_us)
            victim = e;
    }
    if (!victim)
        return -1;
    struct entry **drop = expired > 1 ? malloc(expired * sizeof *drop) : NULL;
    if (drop) { /* drop every expired one: one scan pays for many inserts */
        size_t n = 0;
        i = 0;
        while (map_next(&c->entries, &i, &k, &v)) {
            struct entry *e = v;
            if (e->state == ENTRY_READY && e->fresh_until_us <= now && e != victim && n < expired)
                drop[n++] = e;
        }
        for (size_t j = 0; j < n; j++) {
            map_remove(&c->entries, drop[j]->key);
            entry_free(drop[j]);
        }
        free(drop);
    }
    map_remove(&c->entries, victim->key);
    entry_free(victim);
    return 0;
}

static int waiter_add(struct entry *e, stats_cache_fn cb, void *arg)
{
    struct waiter *w = malloc(sizeof *w);
    if (!w)
        return -1;
    w->next = NULL;
    w->cb = cb;
    w->arg = arg;
    *e->wtail = w;
    e->wtail = &w->next;
    return 0;
}

static void entry_enqueue(struct stats_cache *c, struct entry *e)
{
    e->state = ENTRY_QUEUED;
    e->qnext = NULL;
    *c->qtail = e;
    c->qtail = &e->qnext;
    c->stats.waiting++;
}

int stats_cache_get(struct stats_cache *c, enum stats_kind kind, const char *login, int hours,
                    stats_cache_fn cb, void *arg)
{
    if (!cb || (kind != STATS_STREAMERS && (!login || strlen(login) >= 64)))
        return -1;
    if (kind != STATS_HOURLY)
        hours = 0;
    if (kind == STATS_STREAMERS)
        login = "";
    char key[96];
    snprintf(key, sizeof key, "%d|%d|%s", (int)kind, hours, login);
    struct entry *e = map_get(&c->entries, key);
    if (e && e->state == ENTRY_READY && e->fresh_until_us > now_us()) {
        c->stats.shared++;
        cb(arg, 0, e->rows);
        return 0;
    }
    if (e && e->state != ENTRY_READY) { /* being computed: wait for it */
        if (waiter_add(e, cb, arg) < 0)
            return -1;
        c->stats.shared++;
        return 0;
    }
    if (e) { /* kept but stale: compute again */
        stat_list_free(e->rows);
        e->rows = NULL;
    } else {
        if (make_room(c) < 0) {
            c->stats.refused++;
            return -1;
        }
        e = calloc(1, sizeof *e);
        if (!e)
            return -1;
        e->cache = c;
        snprintf(e->key, sizeof e->key, "%s", key);
        e->kind = kind;
        snprintf(e->login, sizeof e->login, "%s", login);
        e->hours = hours;
        e->wtail = &e->waiters;
        if (map_put(&c->entries, e->key, e) < 0) {
            free(e);
            return -1;
        }
    }
    if (waiter_add(e, cb, arg) < 0) {
        map_remove(&c->entries, e->key);
        entry_free(e);
        return -1;
    }
    entry_enqueue(c, e);
    start_queued(c); /* may answer cb with an error before this returns */
    return 0;
}

void stats_cache_stats_get(const struct stats_cache *c, struct stats_cache_stats *out)
{
    *out = c->stats;
}
