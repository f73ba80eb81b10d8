/* ingest.c: decode → store → publish, and the retry queue of events nobody else retries.
 *
 * An event submitted without a callback (the EventSub WebSocket, which never redelivers, and
 * SEV's own gap markers and backfill) has no sender to answer 503 to. When the store fails
 * it, it waits in the retry queue (at most retry_max events). Only the oldest is retried,
 * after a backoff (100 ms doubling to 5 s); once it is stored the next follows at once, one
 * at a time, so the queue is stored in its order even when the store recovers between two
 * of its commits. While the queue is not empty, new such events join its tail instead of
 * overtaking it. A full queue drops the newest event (counted, logged at powers of two).
 * (Events submitted before the first failure was known may still be stored before it.)
 *
 *   submit(cb NULL) ──▶ store_append ──fail──▶ queue ◀── (queue not empty: new ones wait too)
 *                                                │ head only: timer (backoff) after a failure,
 *                                                ▼ at once after a success
 *                                   store_append(head) ──ok──▶ popped, next
 */
#include "ingest/ingest.h"

#include <stdlib.h>

#include "base/log.h"

#define RETRY_FIRST_MS 100
#define RETRY_MAX_MS 5000

struct retry_item {
    struct retry_item *next;
    struct event *ev; /* owned (lent to the store while inflight) */
    enum ingest_source source;
    int inflight; /* the head, appended, waiting for the store */
    int orphaned; /* inflight when the queue was stopped: its store callback frees it */
};

struct ingest {
    struct store *store;
    struct bus *bus;
    struct ingest_stats stats;
    /* retry queue (loop thread) */
    int retry_on; /* ingest_retry_start was called and ingest_retry_stop not yet */
    size_t retry_max;
    struct retry_item *head, **tail;
    size_t queued;
    unsigned backoff_ms;
    uv_timer_t timer;
    int timer_init;
};

struct pending {
    struct ingest *in;
    ingest_done_fn cb;
    void *arg;
    enum ingest_source source;
    struct retry_item *item; /* a retry: the queue's item, else NULL */
};

struct ingest *ingest_new(struct store *store, struct bus *bus)
{
    struct ingest *in = calloc(1, sizeof *in);
    if (in) {
        in->store = store;
        in->bus = bus;
        in->tail = &in->head;
    }
    return in;
}

static void queue_free(struct ingest *in, int keep_inflight)
{
    struct retry_item **pp = &in->head;
    while (*pp) {
        struct retry_item *it = *pp;
        if (keep_inflight && it->inflight) { /* its store callback frees it */
            it->orphaned = 1;
            *pp = it->next;
            continue;
        }
        *pp = it->next;
        event_free(it->ev);
        free(it);
    }
    in->tail = &in->head;
    in->queued = 0;
}

void ingest_free(struct ingest *in)
{
    if (!in)
        return;
    queue_free(in, 0);
    free(in);
}

static void retry_schedule(struct ingest *in);
static void retry_send(struct ingest *in);

/* Pops the head (stored). */
static void queue_pop(struct ingest *in)
{
    struct retry_item *it = in->head;
    in->head = it->next;
    if (!in->head)
        in->tail = &in->head;
    in->queued--;
    event_free(it->ev);
    free(it);
}

/* Keeps ev for a later retry (steals it). 0, or -1 when the queue is full (ev freed). */
static int queue_push(struct ingest *in, struct event *ev, enum ingest_source source)
{
    struct retry_item *it = NULL;
    if (in->queued >= in->retry_max || !(it = calloc(1, sizeof *it))) {
        uint64_t k = ++in->stats.retry_dropped;
        if ((k & (k - 1)) == 0) /* the 1st, 2nd, 4th, 8th…: a long outage logs little */
            log_error("ingest.retry_dropped", "id=%s type=%s queued=%zu dropped=%llu", ev->id,
                      ev->type, in->queued, (unsigned long long)k);
        event_free(ev);
        return -1;
    }
    it->ev = ev;
    it->source = source;
    *in->tail = it;
    in->tail = &it->next;
    in->queued++;
    if (in->queued == 1)
        log_warn("ingest.retrying", "id=%s type=%s", ev->id, ev->type);
    retry_schedule(in);
    return 0;
}

static void on_stored(void *arg, struct event *ev, int status)
{
    struct pending p = *(struct pending *)arg;
    struct ingest *in = p.in;
    free(arg);
    if (status == STORE_STORED) {
        in->stats.stored++;
        bus_publish(in->bus, ev);
    } else if (status == STORE_DUPLICATE) {
        in->stats.duplicates++;
        log_debug("ingest.duplicate", "id=%s type=%s", ev->id, ev->type);
        /* the first delivery's node may have died between its COMMIT and its publish: publish
         * again, and every node drops it if it had it already (by its streamer_seq) */
        if (ev->streamer_seq > 0 && bus_shared(in->bus))
            bus_publish(in->bus, ev);
    } else {
        in->stats.failed++;
        log_error("ingest.store_failed", "id=%s type=%s status=%d", ev->id, ev->type, status);
    }
    if (p.cb)
        p.cb(p.arg, status);
    struct retry_item *it = p.item;
    if (it && it->orphaned) { /* a retry whose queue was stopped meanwhile */
        event_free(it->ev);
        free(it);
    } else if (it) { /* the head */
        it->inflight = 0;
        if (status >= 0) {
            in->stats.retried++;
            in->backoff_ms = 0;
            queue_pop(in);
            if (in->head)
                retry_send(in); /* the next, at once */
            else
                log_info("ingest.retry_drained", "%s", "queued=0");
        } else {
            retry_schedule(in);
        }
    } else if (status < 0 && !p.cb && in->retry_on) {
        queue_push(in, ev, p.source); /* nobody else will retry it */
    } else {
        event_free(ev);
    }
}

/* Appends ev; 0, or the store's error (ev untouched). */
static int append(struct ingest *in, struct event *ev, enum ingest_source source, ingest_done_fn cb,
                  void *arg, struct retry_item *item)
{
    struct pending *p = malloc(sizeof *p);
    if (!p)
        return -1;
    *p = (struct pending){in, cb, arg, source, item};
    int rc = store_append(in->store, ev, on_stored, p);
    if (rc < 0)
        free(p);
    return rc;
}

/* Appends the head again (it alone is ever in flight). */
static void retry_send(struct ingest *in)
{
    struct retry_item *it = in->head;
    if (!in->retry_on || !it || it->inflight)
        return;
    if (append(in, it->ev, it->source, NULL, NULL, it) < 0) {
        retry_schedule(in); /* the store's queue is full: later */
        return;
    }
    it->inflight = 1;
}

static void on_retry_timer(uv_timer_t *t)
{
    retry_send(t->data);
}

/* Arms the timer for the next retry unless one is armed or the head is in flight (its answer
 * decides what comes next). */
static void retry_schedule(struct ingest *in)
{
    if (!in->timer_init || !in->retry_on || !in->head || in->head->inflight ||
        uv_is_active((uv_handle_t *)&in->timer))
        return;
    in->backoff_ms = in->backoff_ms ? in->backoff_ms * 2 : RETRY_FIRST_MS;
    if (in->backoff_ms > RETRY_MAX_MS)
        in->backoff_ms = RETRY_MAX_MS;
    uv_timer_start(&in->timer, on_retry_timer, in->backoff_ms, 0);
}

int ingest_retry_start(struct ingest *in, uv_loop_t *loop, size_t max)
{
    if (uv_timer_init(loop, &in->timer) != 0)
        return -1;
    in->timer.data = in;
    in->timer_init = 1;
    in->retry_max = max;
    in->retry_on = max > 0;
    return 0;
}

void ingest_retry_stop(struct ingest *in)
{
    if (!in || !in->timer_init)
        return;
    in->retry_on = 0;
    if (in->queued)
        log_error("ingest.retry_abandoned", "queued=%zu", in->queued);
    queue_free(in, 1);
    uv_close((uv_handle_t *)&in->timer, NULL);
    in->timer_init = 0;
}

int ingest_submit(struct ingest *in, struct event *ev, enum ingest_source source, ingest_done_fn cb,
                  void *arg)
{
    if (!event_worth_keeping(ev)) {
        /* acknowledged like a duplicate: the sender is done, nothing is stored or sent */
        in->stats.skipped++;
        event_free(ev);
        if (cb)
            cb(arg, STORE_DUPLICATE);
        return 0;
    }
    in->stats.by_transport[source]++;
    int retryable = !cb && in->retry_on;
    if (retryable && in->head) /* behind the ones waiting: order holds */
        return queue_push(in, ev, source) < 0 ? -1 : 0;
    if (append(in, ev, source, cb, arg, NULL) < 0) {
        in->stats.failed++;
        if (retryable)
            return queue_push(in, ev, source) < 0 ? -1 : 0;
        event_free(ev);
        return -1;
    }
    return 0;
}

void ingest_stats(const struct ingest *in, struct ingest_stats *out)
{
    *out = in->stats;
    out->retry_queued = in->queued;
}
