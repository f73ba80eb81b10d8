#include "bus/bus_order.h"

#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/map.h"
#include "bus/bus_wire.h"

#define TICK_MS 100

struct ostream {
    struct bus_order *o;
    char *login;         /* owned */
    char *last_id;       /* owned: the id of the last event delivered */
    int64_t last;        /* its streamer_seq */
    struct event **held; /* owned, each owned; ascending streamer_seq */
    size_t nheld, cap;
    int filling; /* a store read is in flight (or waits for a retry) */
    int retry;   /* the last read failed: read again on the next tick */
    int stale;   /* the bus may have lost events: fill before delivering the next one */
    int late;    /* an event was held while the fill was reading: the read may predate it */
    int64_t gap_since_us;     /* a fill left a gap below the held events: since when; or 0 */
    int64_t priming_until_us; /* first sight (see bus_order_event); 0 when done */
    int64_t last_event_us;    /* when the bus last brought one of its events */
};

struct bus_order {
    uv_loop_t *loop;
    struct store *store;
    bus_deliver_fn deliver;
    bus_order_active_fn active;
    void *arg;
    struct map streams; /* login -> struct ostream (owned) */
    uv_timer_t timer;
    unsigned ticks;
    size_t priming; /* streams whose first events are being gathered */
    int pending;    /* store reads not yet called back */
    int closing, timer_closed;
    struct bus_order_stats stats;
};

static void ostream_free(struct ostream *s)
{
    for (size_t i = 0; i < s->nheld; i++)
        event_free(s->held[i]);
    free(s->held);
    free(s->login);
    free(s->last_id);
    free(s);
}

static void order_release(struct bus_order *o)
{
    const char *k;
    void *v;
    for (size_t i = 0; map_next(&o->streams, &i, &k, &v);)
        ostream_free(v);
    map_release(&o->streams);
    free(o);
}

static void deliver(struct ostream *s, const struct event *ev)
{
    char *id = strdup(ev->id);
    if (!id)
        return; /* out of memory: the next fill repeats it, which the hub never sees twice */
    free(s->last_id);
    s->last_id = id;
    s->last = ev->streamer_seq;
    s->o->stats.delivered++;
    s->o->deliver(s->o->arg, ev);
}

/* Hands on the held events that follow the last delivered without a gap, in order, and drops
 * the repeats; with all set, every held event newer than the last delivered. Returns how many
 * stay held (a gap below them). */
static size_t flush_held(struct ostream *s, int all)
{
    size_t i = 0;
    for (; i < s->nheld; i++) {
        struct event *ev = s->held[i];
        if (ev->streamer_seq <= s->last)
            s->o->stats.repeats++;
        else if (all || ev->streamer_seq == s->last + 1)
            deliver(s, ev);
        else
            break;
        event_free(ev);
    }
    if (i && i < s->nheld)
        memmove(s->held, s->held + i, (s->nheld - i) * sizeof *s->held);
    s->nheld -= i;
    return s->nheld;
}

static void fill_start(struct ostream *s);

static void on_fill(void *arg, int status, struct event_list *events)
{
    struct ostream *s = arg;
    struct bus_order *o = s->o;
    o->pending--;
    if (o->closing) {
        event_list_free(events);
        if (o->pending == 0 && o->timer_closed)
            order_release(o);
        return;
    }
    if (status < 0) {
        s->retry = 1; /* the store is away: hold, and read again on the next tick */
        return;
    }
    size_t n = status == 0 ? events->count : 0;
    for (size_t i = 0; i < n; i++) {
        struct event *ev = events->items[i];
        if (ev->streamer_seq > s->last) {
            o->stats.filled++;
            deliver(s, ev);
        }
    }
    event_list_free(events);
    if (n == BUS_ORDER_FILL_LIMIT) {
        fill_start(s);
        return;
    }
    if (status == 1)
        log_warn("bus.fill_unknown_since", "streamer=%s since=%s", s->login, s->last_id);
    s->filling = 0;
    s->stale = 0;
    /* A held event's number says that every lower one is committed (the store numbers a
     * streamer in commit order), so a gap left below it is one the read could not see yet: it
     * began before they committed. Handing on past it would lose them for good (they would
     * arrive later as repeats). So read again: at once when an event was held during this read,
     * else at the next retry; after BUS_ORDER_GAP_MAX_MS (a store that does not number
     * densely) the held events go on. */
    if (status == 1 || flush_held(s, 0) == 0) {
        flush_held(s, 1);
        s->gap_since_us = 0;
        return;
    }
    int64_t now = clock_mono_us();
    if (!s->gap_since_us)
        s->gap_since_us = now;
    if (now - s->gap_since_us >= (int64_t)BUS_ORDER_GAP_MAX_MS * 1000) {
        log_warn("bus.gap_unfilled", "streamer=%s after=%lld next=%lld", s->login,
                 (long long)s->last, (long long)s->held[0]->streamer_seq);
        flush_held(s, 1);
        s->gap_since_us = 0;
    } else if (s->late) {
        fill_start(s);
    } else {
        s->filling = 1; /* hold what comes meanwhile */
        s->retry = 1;
    }
}

static void fill_start(struct ostream *s)
{
    struct bus_order *o = s->o;
    s->filling = 1;
    s->retry = 0;
    s->late = 0;
    if (!s->last_id ||
        store_since(o->store, s->login, s->last_id, BUS_ORDER_FILL_LIMIT, on_fill, s) < 0) {
        s->retry = 1;
        return;
    }
    o->pending++;
    o->stats.fills++;
}

static int hold(struct ostream *s, const struct event *ev)
{
    for (size_t i = 0; i < s->nheld; i++)
        if (s->held[i]->streamer_seq == ev->streamer_seq)
            return 0; /* already held */
    if (s->nheld == BUS_ORDER_HOLD_MAX) {
        /* the store has been away for long: the oldest goes on rather than memory growing */
        if (s->held[0]->streamer_seq > s->last)
            deliver(s, s->held[0]);
        event_free(s->held[0]);
        memmove(s->held, s->held + 1, --s->nheld * sizeof *s->held);
    }
    if (s->nheld == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        struct event **h = realloc(s->held, cap * sizeof *h);
        if (!h)
            return -1;
        s->held = h;
        s->cap = cap;
    }
    struct event *copy = bus_event_clone(ev);
    if (!copy)
        return -1;
    size_t at = s->nheld;
    while (at > 0 && s->held[at - 1]->streamer_seq > ev->streamer_seq)
        at--;
    memmove(s->held + at + 1, s->held + at, (s->nheld - at) * sizeof *s->held);
    s->held[at] = copy;
    s->nheld++;
    return 0;
}

void bus_order_event(struct bus_order *o, const struct event *ev)
{
    if (o->closing)
        return;
    if (ev->streamer_seq <= 0 || !ev->streamer_login || !ev->id) {
        o->stats.delivered++;
        o->deliver(o->arg, ev);
        return;
    }
    struct ostream *s = map_get(&o->streams, ev->streamer_login);
    int64_t now = clock_mono_us();
    if (s)
        s->last_event_us = now;
    if (!s) { /* first sight: nothing of it was delivered here before */
        s = calloc(1, sizeof *s);
        if (!s || !(s->login = strdup(ev->streamer_login)) ||
            map_put(&o->streams, ev->streamer_login, s) < 0) {
            if (s)
                free(s->login);
            free(s);
            o->deliver(o->arg, ev);
            return;
        }
        s->o = o;
        s->last_event_us = now;
        if (ev->streamer_seq == 1) {
            deliver(s, ev);
            return;
        }
        /* Earlier ones may still be on their way (another node published them a moment
         * before, or this node's own copy overtook them): gather for BUS_ORDER_PRIME_MS, then
         * hand on in order. */
        s->priming_until_us = now + (int64_t)BUS_ORDER_PRIME_MS * 1000;
        o->priming++;
    }
    if (s->priming_until_us) {
        if (hold(s, ev) < 0)
            o->deliver(o->arg, ev);
        return;
    }
    if (ev->streamer_seq <= s->last) {
        o->stats.repeats++;
        return;
    }
    if (ev->streamer_seq == s->last + 1 && !s->filling && !s->stale) {
        deliver(s, ev);
        return;
    }
    /* a jump, or a fill under way: hold it until the store has filled the gap */
    if (s->filling)
        s->late = 1;
    if (hold(s, ev) < 0) {
        log_error("bus.hold_failed", "streamer=%s reason=out_of_memory", s->login);
        return; /* the fill reads it from the store */
    }
    if (!s->filling)
        fill_start(s);
}

void bus_order_resync(struct bus_order *o)
{
    const char *k;
    void *v;
    for (size_t i = 0; map_next(&o->streams, &i, &k, &v);) {
        struct ostream *s = v;
        if (s->filling || s->priming_until_us)
            continue;
        if (o->active(o->arg, s->login))
            fill_start(s);
        else
            s->stale = 1;
    }
}

/* The end of a first sight's gathering: the lowest goes on, then what follows it without a
 * gap; a gap is filled from the store as any jump. */
static void prime_done(struct ostream *s)
{
    size_t n = 0;
    while (n < s->nheld && (n == 0 || s->held[n]->streamer_seq == s->last + 1)) {
        deliver(s, s->held[n]);
        event_free(s->held[n]);
        n++;
    }
    memmove(s->held, s->held + n, (s->nheld - n) * sizeof *s->held);
    s->nheld -= n;
    if (s->nheld)
        fill_start(s);
}

static void on_tick(uv_timer_t *t)
{
    struct bus_order *o = t->data;
    int check = ++o->ticks % (BUS_ORDER_CHECK_MS / TICK_MS) == 0;
    int check_quiet = o->ticks % (BUS_ORDER_CHECK_QUIET_MS / TICK_MS) == 0;
    int retry = o->ticks % (BUS_ORDER_RETRY_MS / TICK_MS) == 0;
    if (!check && !retry && !o->priming)
        return;
    int64_t now = clock_mono_us();
    const char *k;
    void *v;
    for (size_t i = 0; map_next(&o->streams, &i, &k, &v);) {
        struct ostream *s = v;
        int64_t since = now - s->last_event_us;
        if (s->priming_until_us) {
            if (now >= s->priming_until_us) {
                s->priming_until_us = 0;
                o->priming--;
                prime_done(s);
            }
        } else if (s->retry && retry) {
            fill_start(s);
        } else if (check && !s->filling && since >= (int64_t)BUS_ORDER_FLOWING_MS * 1000 &&
                   (check_quiet || since < (int64_t)BUS_ORDER_RECENT_MS * 1000) &&
                   o->active(o->arg, s->login)) {
            fill_start(s); /* recent streamers every 3 s, the others every 30 s */
        }
    }
}

struct bus_order *bus_order_new(uv_loop_t *loop, struct store *store, bus_deliver_fn deliver_fn,
                                bus_order_active_fn active, void *arg)
{
    struct bus_order *o = calloc(1, sizeof *o);
    if (!o)
        return NULL;
    o->loop = loop;
    o->store = store;
    o->deliver = deliver_fn;
    o->active = active;
    o->arg = arg;
    map_init(&o->streams);
    uv_timer_init(loop, &o->timer);
    o->timer.data = o;
    uv_timer_start(&o->timer, on_tick, TICK_MS, TICK_MS);
    return o;
}

static void on_timer_closed(uv_handle_t *h)
{
    struct bus_order *o = h->data;
    o->timer_closed = 1;
    if (o->pending == 0)
        order_release(o);
}

void bus_order_free(struct bus_order *o)
{
    if (!o)
        return;
    o->closing = 1;
    uv_close((uv_handle_t *)&o->timer, on_timer_closed);
}

void bus_order_stats(const struct bus_order *o, struct bus_order_stats *out)
{
    *out = o->stats;
}
