#include "ingest/ingest.h"

#include <stdlib.h>

#include "base/log.h"

struct ingest {
    struct store *store;
    struct bus *bus;
    struct ingest_stats stats;
};

struct pending {
    struct ingest *in;
    ingest_done_fn cb;
    void *arg;
};

struct ingest *ingest_new(struct store *store, struct bus *bus)
{
    struct ingest *in = calloc(1, sizeof *in);
    if (in) {
        in->store = store;
        in->bus = bus;
    }
    return in;
}

void ingest_free(struct ingest *in)
{
    free(in);
}

static void on_stored(void *arg, struct event *ev, int status)
{
    struct pending *p = arg;
    struct ingest *in = p->in;
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
    if (p->cb)
        p->cb(p->arg, status);
    event_free(ev);
    free(p);
}

int ingest_submit(struct ingest *in, struct event *ev, enum ingest_source source,
                  ingest_done_fn cb, void *arg)
{
    if (!event_worth_keeping(ev)) {
        /* acknowledged like a duplicate: the sender is done, nothing is stored or sent */
        in->stats.skipped++;
        event_free(ev);
        if (cb)
            cb(arg, STORE_DUPLICATE);
        return 0;
    }
    struct pending *p = malloc(sizeof *p);
    if (!p) {
        event_free(ev);
        return -1;
    }
    p->in = in;
    p->cb = cb;
    p->arg = arg;
    in->stats.by_transport[source]++;
    if (store_append(in->store, ev, on_stored, p) < 0) {
        in->stats.failed++;
        event_free(ev);
        free(p);
        return -1;
    }
    return 0;
}

void ingest_stats(const struct ingest *in, struct ingest_stats *out)
{
    *out = in->stats;
}
