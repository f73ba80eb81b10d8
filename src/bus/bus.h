/* bus: carries durable events from the node that stored them to every node's hub.
 *
 * Backends sit behind `struct bus_backend`: "local" (one process: publish delivers at once)
 * now, "redis://" (pub/sub between sev nodes) for scale-out. The deliver callback runs on the
 * loop thread, once per event, on every node including the publisher.
 */
#ifndef SEV_BUS_H
#define SEV_BUS_H

#include <uv.h>

#include "base/err.h"
#include "event/event.h"

struct bus;

typedef void (*bus_deliver_fn)(void *arg, const struct event *ev /* borrowed */);

/* uri: "local" or "redis://host:port". Returns 0 and *out, or -1 with err. */
int bus_open(uv_loop_t *loop, const char *uri, bus_deliver_fn deliver, void *arg,
             struct bus **out, struct err *err);
void bus_free(struct bus *bus);

/* ev is borrowed for the call. */
void bus_publish(struct bus *bus, const struct event *ev);
/* 0 if the bus answers (always for local). */
int bus_ping(struct bus *bus);
const char *bus_name(const struct bus *bus);

#endif
