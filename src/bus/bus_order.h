/* bus_order: puts a bus's deliveries back into each streamer's one order before the hub.
 *
 *   bus (may drop, repeat or reorder) ──bus_order_event──▶ per streamer: last delivered
 *   streamer_seq N ──▶ N+1 goes on at once; ≤ N is dropped (a repeat); a jump is held while
 *   the missing events are read from the store (store_since after the last delivered id),
 *   then everything goes on in order. A gap the read leaves below an event held while it ran
 *   is read again (that read may predate the missing events' commit; a held event's number
 *   says they are committed): never handed on past, for they would later arrive as repeats.
 *
 * After the bus reconnects (bus_order_resync) every streamer is filled from the store again,
 * and a periodic check fills the streamers the node is showing (every BUS_ORDER_CHECK_MS
 * those with an event in the last BUS_ORDER_RECENT_MS, every BUS_ORDER_CHECK_QUIET_MS the
 * rest), so a lost newest event is found without waiting for the next one. A streamer whose
 * events still flow (one in the last BUS_ORDER_FLOWING_MS) is left out of the check: a loss
 * there shows as a jump at its next event, or, if none comes, at the next check (so within
 * BUS_ORDER_FLOWING_MS + BUS_ORDER_CHECK_MS). Reading every busy streamer every 3 s was one
 * store read per streamer per node: with 1,000 streamers on 3 nodes, 1,000 reads/s queued
 * before the reader's other work and holding each streamer's live events meanwhile. Events
 * without a streamer_seq (a backend that does not number streamers) pass straight through.
 * Loop thread only.
 */
#ifndef SEV_BUS_ORDER_H
#define SEV_BUS_ORDER_H

#include <stdint.h>
#include <uv.h>

#include "bus/bus.h"
#include "store/store.h"

#define BUS_ORDER_CHECK_MS 3000        /* streamers with an event in the last minute */
#define BUS_ORDER_CHECK_QUIET_MS 30000 /* the others this node shows */
#define BUS_ORDER_RECENT_MS 60000
#define BUS_ORDER_FLOWING_MS 1500 /* an event this recent: the check leaves the streamer out */
#define BUS_ORDER_RETRY_MS 1000  /* a failed store read is tried again this often */
#define BUS_ORDER_PRIME_MS 500   /* first sight of a streamer: wait this long for earlier ones */
#define BUS_ORDER_FILL_LIMIT 500 /* events per store read while filling */
#define BUS_ORDER_HOLD_MAX 10000 /* held events per streamer; beyond, the oldest go on */
#define BUS_ORDER_GAP_MAX_MS 5000 /* a gap the store cannot fill for this long is skipped */

struct bus_order;

/* 1 when this node shows login now (its hub has the streamer in memory). */
typedef int (*bus_order_active_fn)(void *arg, const char *login);

struct bus_order_stats {
    uint64_t delivered; /* events handed on */
    uint64_t repeats;   /* dropped: already delivered */
    uint64_t filled;    /* delivered from the store rather than the bus */
    uint64_t fills;     /* store reads made to fill */
};

/* deliver: where ordered events go (ev borrowed for the call). Returns NULL when out of
 * memory. */
struct bus_order *bus_order_new(uv_loop_t *loop, struct store *store /* borrowed */,
                                bus_deliver_fn deliver, bus_order_active_fn active, void *arg);
/* Stops the timer; memory goes once the store's pending reads have called back (run the
 * loop). Nothing is delivered after this call. */
void bus_order_free(struct bus_order *o);

/* One delivery from the bus (ev borrowed). */
void bus_order_event(struct bus_order *o, const struct event *ev);
/* The bus may have lost messages: fill every streamer from the store. */
void bus_order_resync(struct bus_order *o);

void bus_order_stats(const struct bus_order *o, struct bus_order_stats *out);

#endif
