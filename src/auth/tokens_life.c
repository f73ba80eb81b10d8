/* tokens_life.c: the tokens module's lifetime, below tokens.c and tokens_app.c (both count
 * their store and Twitch calls here): the struct is freed once tokens_free has run, every
 * counted call has returned and every handle has closed. And the one queue of what tokens
 * owes on a later turn (answers, the app token's turn), behind one wake-up. */
#include <stdlib.h>
#include <string.h>

#include "auth/tokens_int.h"
#include "base/log.h"

static void destroy(struct tokens *tk);

/* ---- lifetime ---- */

void tk_started(struct tokens *tk)
{
    tk->inflight++;
}

int tk_returned(struct tokens *tk)
{
    tk->inflight--;
    if (!tk->freeing)
        return 0;
    destroy(tk);
    return 1;
}

void tk_on_handle_closed(uv_handle_t *h)
{
    struct tokens *tk = h->data;
    tk->handles_open--;
    destroy(tk);
}

static void destroy(struct tokens *tk)
{
    if (!tk->freeing || tk->inflight || tk->handles_open)
        return;
    map_release(&tk->users);
    free(tk);
}

/* ---- what is owed on a later turn, in the order it was asked ---- */

struct tk_deferred {
    struct tk_deferred *next;
    void (*run)(struct tokens *tk); /* a turn of tokens' own, or NULL: an answer (below) */
    twitch_access_fn cb;
    void *arg;
    char *token; /* owned, wiped */
    char *error; /* owned */
};

void tk_run_deferred(void *arg)
{
    struct tokens *tk = arg;
    while (tk->deferred) {
        struct tk_deferred *d = tk->deferred;
        tk->deferred = d->next;
        if (!tk->deferred)
            tk->deferred_tail = &tk->deferred;
        if (d->run)
            d->run(tk);
        else
            d->cb(d->arg, d->token, d->token ? NULL : (d->error ? d->error : "no token"));
        tokenbox_wipe_free(d->token);
        free(d->error);
        free(d);
    }
}

static void deferred_push(struct tokens *tk, struct tk_deferred *d)
{
    *tk->deferred_tail = d;
    tk->deferred_tail = &d->next;
    if (!tk->freeing)
        defer_arm(&tk->defer);
}

void tk_defer_answer(struct tokens *tk, twitch_access_fn cb, void *arg, const char *token,
                     const char *error)
{
    struct tk_deferred *d = calloc(1, sizeof *d);
    if (d && token && !(d->token = strdup(token))) {
        free(d);
        d = NULL;
    }
    if (d && !token)
        d->error = strdup(error ? error : "no token");
    if (!d) { /* out of memory: still exactly one call, now */
        cb(arg, NULL, "out of memory");
        return;
    }
    d->cb = cb;
    d->arg = arg;
    deferred_push(tk, d);
}

int tk_defer_turn(struct tokens *tk, void (*run)(struct tokens *tk))
{
    struct tk_deferred *d = calloc(1, sizeof *d);
    if (!d)
        return -1;
    d->run = run;
    deferred_push(tk, d);
    return 0;
}

void tk_on_store_done(void *arg, int status)
{
    struct tokens *tk = arg;
    if (status < 0)
        log_error("auth.store_failed", "%s", "what=account_write");
    tk_returned(tk);
}
