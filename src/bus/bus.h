/* bus: carries durable events from the node that stored them to every node's hub.
 *
 * Backends sit behind `struct bus_backend` (bus_int.h): "local" (one process: publish delivers
 * at once) and "redis://" (bus_redis.c: pub/sub between sev nodes, bus_wire.c messages, each
 * node's deliveries put back in order by bus_order.h on their way to the hub). The deliver
 * callback runs on the loop thread, once per event, on every node including the publisher.
 */
#ifndef SEV_BUS_H
#define SEV_BUS_H

#include <uv.h>

#include "base/err.h"
#include "event/event.h"

struct bus;

typedef void (*bus_deliver_fn)(void *arg, const struct event *ev /* borrowed */);
/* The bus has (re)connected after messages may have been lost: fill from the store. */
typedef void (*bus_resync_fn)(void *arg);

/* uri: "local" or "redis://host:port" (the redis bus connects, and reconnects with backoff,
 * by itself; publishing while it is away reaches only this node: other nodes fill from the
 * store). Returns 0 and *out, or -1 with err. */
int bus_open(uv_loop_t *loop, const char *uri, bus_deliver_fn deliver, void *arg, struct bus **out,
             struct err *err);
/* Called (loop thread) each time the bus (re)connects; see bus_resync_fn. */
void bus_on_resync(struct bus *bus, bus_resync_fn fn, void *arg);
/* Closes connections and handles; run the loop afterwards. bus_free after the loop. */
void bus_stop(struct bus *bus);
void bus_free(struct bus *bus);

/* ev is borrowed for the call. A durable event: STORE_STORED, or STORE_DUPLICATE when it has a
 * streamer_seq (a redelivery; nodes that delivered it already drop it by its streamer_seq). */
void bus_publish(struct bus *bus, const struct event *ev);
/* 1 when every node receives its own publications through the bus and orders them by
 * streamer_seq (redis), 0 when publishing is delivering once (local). */
int bus_shared(const struct bus *bus);
/* 0 if the bus answers (always for local; redis: both connections up and subscribed). */
int bus_ping(struct bus *bus);
const char *bus_name(const struct bus *bus);

#endif
