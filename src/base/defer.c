/* defer: a later turn of the loop through libuv's idle handles. An idle handle started during
 * the idle phase is not run in that pass (libuv moves the pass's handles aside first), so
 * "later turn" holds even for a wake-up armed by another one. */
#include "base/defer.h"

#include <stdlib.h>

struct defer_once {
    uv_idle_t idle; /* first */
    defer_fn fn;
    void *arg;
};

static void on_once_closed(uv_handle_t *h)
{
    free(h); /* the struct defer_once: idle is its first member */
}

static void on_once(uv_idle_t *h)
{
    struct defer_once *o = (struct defer_once *)h;
    uv_close((uv_handle_t *)h, on_once_closed); /* stops it; freed after this turn */
    o->fn(o->arg);
}

int defer_call(uv_loop_t *loop, defer_fn fn, void *arg)
{
    struct defer_once *o = malloc(sizeof *o);
    if (!o)
        return -1;
    o->fn = fn;
    o->arg = arg;
    uv_idle_init(loop, &o->idle);
    uv_idle_start(&o->idle, on_once);
    return 0;
}

static void on_wake(uv_idle_t *h)
{
    struct defer *d = (struct defer *)h;
    uv_idle_stop(h);
    d->state = 0;
    d->fn(h->data);
}

void defer_init(struct defer *d, uv_loop_t *loop, defer_fn fn, void *arg)
{
    uv_idle_init(loop, &d->idle);
    d->idle.data = arg;
    d->fn = fn;
    d->state = 0;
}

void defer_arm(struct defer *d)
{
    if (d->state == 0) {
        uv_idle_start(&d->idle, on_wake);
        d->state = 1;
    }
}

void defer_release(struct defer *d, uv_close_cb closed)
{
    d->state = -1;
    uv_close((uv_handle_t *)&d->idle, closed);
}
