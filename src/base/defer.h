/* defer: SEV's one way to run something on a later turn of the loop.
 *
 * Two forms, one contract:
 *
 *   defer_call(loop, fn, arg)   a one-shot: fn(arg) runs once, then the module frees what it
 *                               allocated. Nothing to keep, nothing to cancel: arg must stay
 *                               valid until fn has run (hold a reference, or let fn find out
 *                               that its owner is going, as accounts' jobs do).
 *   struct defer                a wake-up embedded in its owner: defer_init once, defer_arm
 *                               whenever there is work ("run fn(arg) soon"; arming an armed
 *                               wake-up does nothing, so a burst of work costs one call),
 *                               defer_release when the owner goes.
 *
 * The contract, for both:
 * - fn(arg) runs on the loop thread, on a later turn of the loop (libuv's idle phase of the
 *   next iteration): never inside defer_call or defer_arm, never inside the turn's pass of
 *   wake-ups that armed it. A caller may ask in the middle of changing its state.
 * - While a call is owed the loop stays alive (uv_run does not return).
 * - A wake-up runs once per arming; fn may arm it again (it then runs on a later turn).
 * - Calls owed for the same turn come in no promised order among themselves (libuv runs the
 *   latest armed first): an owner whose answers must keep their order queues them behind one
 *   wake-up of its own (tokens does).
 * - defer_release disarms it: fn is not called after defer_release returns. The handle closes
 *   on a later turn; `closed` gets it (its `data` is arg), and only then may the memory of
 *   the struct defer go (owners count their handles as they do for timers).
 * Not thread-safe: loop thread only (another thread wakes the loop with uv_async_t).
 *
 * A timer that exists to wait (a retry's backoff) may be started with a delay of 0 when the
 * wait happens to be none: that is the same timer, not another way to defer. */
#ifndef SEV_BASE_DEFER_H
#define SEV_BASE_DEFER_H

#include <uv.h>

typedef void (*defer_fn)(void *arg);

/* Runs fn(arg) once on a later turn. 0, or -1 when out of memory (then fn never runs). */
int defer_call(uv_loop_t *loop, defer_fn fn, void *arg);

struct defer {
    uv_idle_t idle; /* first: the handle; idle.data is arg */
    defer_fn fn;
    int state; /* 0 idle, 1 armed, -1 released */
};

/* Makes d, not armed; fn(arg) is what defer_arm asks for. */
void defer_init(struct defer *d, uv_loop_t *loop, defer_fn fn, void *arg);
/* fn(arg) runs once on a later turn (once however often it is armed meanwhile). Nothing after
 * defer_release. */
void defer_arm(struct defer *d);
/* Disarms d and closes its handle; closed(&d->idle) runs on a later turn, after which d's
 * memory may be freed. Once only. */
void defer_release(struct defer *d, uv_close_cb closed);

#endif
