/* ingest: the one place that orders store → publish (the transports decode).
 *
 * Transports (webhook, EventSub WebSocket) hand it decoded events. It stores each durably
 * (the store group-commits), then publishes new ones on the bus; duplicates (a redelivery,
 * or the same event over two transports) are acknowledged and, on a shared bus (redis) with
 * a store that numbers streamers, published again: the bus drops what a node had already.
 */
#ifndef SEV_INGEST_H
#define SEV_INGEST_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "bus/bus.h"
#include "event/event.h"
#include "store/store.h"

struct ingest;

struct ingest_stats {
    uint64_t stored;
    uint64_t duplicates;
    uint64_t failed;
    uint64_t skipped; /* not kept: plain chat messages (event_worth_keeping) */
    uint64_t by_transport[3]; /* by enum ingest_source */
    uint64_t retried;         /* events stored by a retry */
    uint64_t retry_dropped;   /* events dropped: the retry queue was full */
    uint64_t retry_queued;    /* events waiting for a retry now */
};

/* INGEST_SEV: made by SEV itself (gap markers, Helix backfill) */
enum ingest_source { INGEST_WEBHOOK = 0, INGEST_WEBSOCKET = 1, INGEST_SEV = 2 };

/* status: STORE_STORED, STORE_DUPLICATE, or negative (not stored: the sender should retry). */
typedef void (*ingest_done_fn)(void *arg, int status);

struct ingest *ingest_new(struct store *store /* borrowed */, struct bus *bus /* borrowed */);
void ingest_free(struct ingest *in);

/* Takes ev (steals). cb (may be NULL) runs on the loop once the event is durable or failed,
 * or at once (before this returns) for an event SEV does not keep (STORE_DUPLICATE).
 * Returns 0, or -1 when it could not even be queued (then ev is freed and cb not called). */
int ingest_submit(struct ingest *in, struct event *ev, enum ingest_source source,
                  ingest_done_fn cb, void *arg);

void ingest_stats(const struct ingest *in, struct ingest_stats *out);

/* Retrying events submitted without a callback (the EventSub WebSocket never redelivers;
 * SEV's own events have no sender): when the store fails one, it is kept (at most max; the
 * newest is dropped beyond that) and appended again with backoff (100 ms doubling to 5 s),
 * in order; later ones wait behind it. Without this call, such failures are dropped.
 * max 0 turns retrying off. Returns 0 or -1. */
int ingest_retry_start(struct ingest *in, uv_loop_t *loop, size_t max);
/* Before the store closes: drops what still waits (logged) and closes the timer (the loop
 * must run once more before ingest_free). */
void ingest_retry_stop(struct ingest *in);

#endif
