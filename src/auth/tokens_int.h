/* tokens_int.h: the tokens module's state, shared by tokens.c (user tokens, the load, the
 * provider, new/free), tokens_app.c (the app token) and tokens_life.c (the lifetime count and
 * the one queue of what is owed on a later turn, below both). Files call downwards only:
 * tokens.c → tokens_app.c → tokens_life.c (the queue calls tokens_app.c's turn through a
 * pointer). Only src/auth/tokens*.c include it. */
#ifndef SEV_AUTH_TOKENS_INT_H
#define SEV_AUTH_TOKENS_INT_H

#include "auth/tokenbox.h"
#include "auth/tokens.h"
#include "base/defer.h"
#include "base/map.h"

/* A token request waiting for a fetch or a refresh. */
struct tk_waiter {
    struct tk_waiter *next;
    twitch_access_fn cb;
    void *arg;
};

/* A user token request that arrived before the stored tokens were loaded. */
struct tk_early {
    struct tk_early *next;
    char user_id[32];
    twitch_access_fn cb;
    void *arg;
};

/* One user's tokens (loop thread). */
struct utok {
    char user_id[32];
    char *access;  /* owned, wiped */
    char *refresh; /* owned, wiped */
    char scopes[1024];
    int64_t expires_at_us; /* 0: unknown */
    int64_t lifetime_s;    /* the lifetime Twitch gave the current token; 0: unknown */
    unsigned gen;          /* counts replacements: a job that began before one ignores its
                            * answer (it was about the tokens that were replaced) */
    int rejected;          /* a 401 named it: refresh before giving it out */
    int refreshing, validating;
    int busy; /* refresh/validation jobs holding this struct */
    int gone; /* dropped from the map while busy: the last job frees it */
    struct tk_waiter *waiters;
};

/* The app token. */
struct app_tok {
    char *token; /* owned, wiped */
    int64_t expires_at_us, lifetime_us;
    int fetching, validating;
    struct tk_waiter *waiters, **waiters_tail;
    int turn_queued;           /* tk_defer_turn holds the turn that serves the waiters */
    uv_timer_t validate_timer; /* every interval, on every node */
};

struct tk_deferred;

struct tokens {
    uv_loop_t *loop;
    struct store *store;        /* borrowed */
    struct twitch *tw;          /* borrowed */
    struct tokenbox *box;       /* borrowed */
    struct tokens_options opts; /* client_id points at the copy below */
    char client_id[128];
    struct tokens_hooks hooks;
    struct map users; /* user id → struct utok (owned) */
    struct tk_early *early;
    int loaded;
    void (*loaded_cb)(void *arg);
    void *loaded_arg;
    struct app_tok app;
    struct tk_deferred *deferred, **deferred_tail;
    struct defer defer;        /* runs `deferred` on a later turn (tk_run_deferred) */
    uv_timer_t validate_timer; /* user tokens (upkeep) */
    unsigned handles_open;
    unsigned inflight;
    int freeing;
};

/* tokens_life.c. Every store or Twitch call made here is counted: tk_started before, and its
 * callback calls tk_returned first — 1 means tokens is being freed: return at once without touching
 * tk. */
void tk_started(struct tokens *tk);
int tk_returned(struct tokens *tk);
void tk_on_handle_closed(uv_handle_t *h);
/* The store write's callback of fire-and-forget writes (arg: tk). */
void tk_on_store_done(void *arg, int status);
void tk_revoke(struct tokens *tk, const char *token);
/* What tokens owes on a later turn, one FIFO behind tk->defer: answers and turns come out in
 * the order they were queued (a token asked for before another is answered first).
 * tk_defer_answer: cb(arg, token or NULL, error) (token copied; out of memory: cb now, with
 * an error). tk_defer_turn: run(tk), 0 or -1 (out of memory). tk_run_deferred(tk) runs all
 * that is queued, now (tk->defer's function; tokens_free calls it too). */
void tk_defer_answer(struct tokens *tk, twitch_access_fn cb, void *arg, const char *token,
                     const char *error);
int tk_defer_turn(struct tokens *tk, void (*run)(struct tokens *tk));
void tk_run_deferred(void *tk);

/* tokens_app.c */
void tk_app_init(struct tokens *tk);
/* A stored app token at start-up (copied); validated at once. */
void tk_app_seed(struct tokens *tk, const char *token, int64_t expires_at_us);
void tk_app_rejected(struct tokens *tk, const char *token);
void tk_app_release(struct tokens *tk); /* at free: waiters get an error, its timer closes */

#endif
