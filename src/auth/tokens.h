/* tokens: the one home of SEV's Twitch tokens — the app access token (client credentials) and
 * every user's access/refresh pair. It caches them, queues the requests that wait for one,
 * refreshes them (one refresh serves every waiter), validates them at start-up and then
 * every options.validate_interval_ms (Twitch requires hourly), seals them with the tokenbox
 * and keeps them in the store.
 *
 *   twitch request engine ──token provider (get/rejected)──▶ tokens ──▶ cache (memory)
 *        ▲                                                     │  miss, near expiry, 401
 *        └──────── twitch_oauth_* (client credentials, refresh, validate, revoke) ◀─┘
 *                                                              │
 *                                     store (sealed by tokenbox: owner "app" or a user id)
 *
 * Order: tokens sits above twitch/, store/ and auth/tokenbox and below accounts (which owns
 * it: users and sessions). It registers itself as the twitch client's token provider at
 * tokens_new; the engine only calls it through that table, so twitch/ calls nothing above it.
 *
 * A user's grant ends when Twitch refuses the refresh, a validation names someone else, the
 * stored token cannot be opened, or accounts says so (logout, deletion): the tokens are
 * forgotten and deleted from the store, then hooks.on_grant_ended runs.
 *
 * Threads: loop thread only. Callbacks: a function taking a callback that returns 0 calls it
 * exactly once, never inside the call itself (one exception: when memory runs out while
 * queueing an answer, the answer "out of memory" comes at once); one that returns -1 never
 * calls it. At tokens_free every owed token callback runs (inside tokens_free) with an error.
 * Secrets: tokens are never logged; the buffers that held them are wiped before free.
 */
#ifndef SEV_AUTH_TOKENS_H
#define SEV_AUTH_TOKENS_H

#include <stdint.h>
#include <uv.h>

#include "base/err.h"
#include "store/store.h"
#include "twitch/twitch.h"

struct tokens;
struct tokenbox;

/* What accounts hears from tokens. All may be NULL; ids are borrowed for the call. None runs
 * after tokens_free. */
struct tokens_hooks {
    /* user_id's grant ended (reason: a short word for the log); its tokens are gone. */
    void (*on_grant_ended)(void *arg, const char *user_id, const char *reason);
    /* 1 while the end of user_id's grant is still being carried out above (its sessions are
     * being deleted): its stored tokens, if any are read meanwhile, are not taken up. */
    int (*grant_ending)(void *arg, const char *user_id);
    /* Each round of user-token validation (start-up, then every interval while upkeep is on):
     * accounts sweeps the expired sessions. */
    void (*on_upkeep)(void *arg);
    void *arg;
};

struct tokens_options {
    const char *client_id;        /* copied: a validated token must be ours */
    int64_t validate_interval_ms; /* default 1 hour (app token on every node; user tokens
                                   * while upkeep is on) */
    int64_t refresh_margin_s;     /* refresh a user token that expires within this (default
                                   * 300; at most a quarter of the token's lifetime) */
    int shared_store;             /* several nodes write tokens: a user token this node lacks
                                   * is looked for in the store before saying there is none */
};

/* Loop, store, twitch client and tokenbox are borrowed and outlive tokens. Registers itself as
 * the twitch client's token provider. */
int tokens_new(uv_loop_t *loop, struct store *st, struct twitch *tw, struct tokenbox *box,
               const struct tokens_options *opts, const struct tokens_hooks *hooks,
               struct tokens **out, struct err *err);
/* Loads the stored tokens (app and users), validates them, starts the hourly validation, then
 * calls loaded (later, once; never when tokens_free ran first). User token requests that
 * arrive before the load wait for it. Returns 0 or -1. */
int tokens_start(struct tokens *tk, void (*loaded)(void *arg), void *arg);
/* Several nodes: loads the stored tokens of users this node does not know yet (they logged in
 * on another node). Tokens it knows are left alone. done (may be NULL) runs later with live
 * 1, or with live 0 when tokens was freed meanwhile (then it must not touch tokens). Returns
 * 0, or -1 before tokens_start has loaded (then done is not called). */
int tokens_adopt_new(struct tokens *tk, void (*done)(void *arg, int live), void *arg);
/* The hourly validation of user tokens: on (1) or off (0). tokens_start turns it on. */
void tokens_set_upkeep(struct tokens *tk, int on);
/* Unregisters the provider; owed token callbacks run now with an error; memory goes once every
 * store and Twitch call made here has called back (run the loop on; free before twitch). */
void tokens_free(struct tokens *tk);

/* The app token: cb(arg, token, NULL) or cb(arg, NULL, why). Fetched on first use, again when
 * within 10% of its lifetime (or an hour) of expiry, after a 401, or when validation fails. */
int tokens_app(struct tokens *tk, twitch_access_fn cb, void *arg);
/* A current access token of user_id (refreshed first when near expiry or rejected), or
 * cb(arg, NULL, why) when SEV has none (not a user, logged out, dead grant). */
int tokens_user(struct tokens *tk, const char *user_id, twitch_access_fn cb, void *arg);
/* A call with token was answered 401 (user_id NULL: the app token): it is not given out again. */
void tokens_rejected(struct tokens *tk, const char *user_id, const char *token);

/* A login's new tokens for user_id (copied), kept and stored sealed; they replace any the user
 * had, and a different old access token is revoked at Twitch. 0, or -1 out of memory. */
int tokens_set_user(struct tokens *tk, const char *user_id, const char *access, const char *refresh,
                    int64_t expires_in_s, const char *scopes);
/* How many users SEV holds tokens of. */
size_t tokens_user_count(const struct tokens *tk);
/* 1 when SEV holds tokens of user_id. */
int tokens_has_user(const struct tokens *tk, const char *user_id);
/* The scopes user_id granted SEV (space-separated; borrowed until the tokens change), or NULL
 * when SEV holds no token of theirs. */
const char *tokens_user_scopes(const struct tokens *tk, const char *user_id);
/* Ends user_id's grant (see above; revoke: the access token is revoked at Twitch first). */
void tokens_end_grant(struct tokens *tk, const char *user_id, const char *reason, int revoke);

#endif
