#include "bus/bus_int.h"

#include <stdlib.h>
#include <string.h>

static const struct bus_backend *const backends[] = {&bus_local_backend};

int bus_open(uv_loop_t *loop, const char *uri, bus_deliver_fn deliver, void *arg,
             struct bus **out, struct err *err)
{
    const struct bus_backend *be = NULL;
    for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++)
        if (strncmp(uri, backends[i]->scheme, strlen(backends[i]->scheme)) == 0)
            be = backends[i];
    if (!be) {
        if (strncmp(uri, "redis://", 8) == 0)
            return err_set(err, "SEV_BUS: the redis bus is not built into this version yet; "
                                "use local");
        return err_set(err, "SEV_BUS: unknown bus '%s'", uri);
    }
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

void bus_free(struct bus *bus)
{
    if (!bus)
        return;
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
