#include "bus/bus_int.h"

#include <stdlib.h>
#include <string.h>

static const struct bus_backend *const backends[] = {&bus_local_backend, &bus_redis_backend};

int bus_open(uv_loop_t *loop, const char *uri, bus_deliver_fn deliver, void *arg, struct bus **out,
             struct err *err)
{
    const struct bus_backend *be = NULL;
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++)
        if (strncmp(uri, backends[i]->scheme, strlen(backends[i]->scheme)) == 0)
            be = backends[i];
    if (!be)
        return err_set(err, "SEV_BUS: '%s' must be local or redis://host:port", uri);
    struct bus *bus = calloc(1, sizeof *bus);
    if (!bus)
        return err_set(err, "out of memory");
    bus->backend = be;
    bus->loop = loop;
    bus->deliver = deliver;
    bus->deliver_arg = arg;
    if (be->open(bus, uri, err) < 0) {
        free(bus);
        return -1;
    }
    *out = bus;
    return 0;
}

void bus_on_resync(struct bus *bus, bus_resync_fn fn, void *arg)
{
    bus->resync = fn;
    bus->resync_arg = arg;
}

void bus_stop(struct bus *bus)
{
    if (!bus || bus->stopped)
        return;
    bus->stopped = 1;
    if (bus->backend->stop)
        bus->backend->stop(bus);
}

int bus_shared(const struct bus *bus)
{
    return bus->backend->shared;
}

void bus_free(struct bus *bus)
{
    if (!bus)
        return;
    if (!bus->stopped && bus->backend->stop) { /* start-up failed before the loop ran */
        bus_stop(bus);
        uv_run(bus->loop, UV_RUN_NOWAIT); /* let the handles' close callbacks run */
    }
    bus->backend->close(bus);
    free(bus);
}

void bus_publish(struct bus *bus, const struct event *ev)
{
    bus->backend->publish(bus, ev);
}

int bus_ping(struct bus *bus)
{
    return bus->backend->ping(bus);
}

const char *bus_name(const struct bus *bus)
{
    return bus->backend->name;
}
