/* bus_int: what a bus backend implements. */
#ifndef SEV_BUS_INT_H
#define SEV_BUS_INT_H

#include "bus/bus.h"

struct bus_backend {
    const char *name;
    const char *scheme; /* URI prefix it answers to */
    int (*open)(struct bus *bus, const char *uri, struct err *err);
    void (*publish)(struct bus *bus, const struct event *ev);
    int (*ping)(struct bus *bus);
    void (*stop)(struct bus *bus);  /* may be NULL; see bus_stop */
    void (*close)(struct bus *bus); /* frees impl */
    int shared;
};

struct bus {
    const struct bus_backend *backend;
    uv_loop_t *loop;
    bus_deliver_fn deliver;
    void *deliver_arg;
    bus_resync_fn resync;
    void *resync_arg;
    int stopped;
    void *impl; /* owned by the backend */
};

extern const struct bus_backend bus_local_backend;
extern const struct bus_backend bus_redis_backend;

#endif
