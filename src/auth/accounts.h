/* accounts: SEV's users — login with Twitch, sessions, their Twitch tokens, favorites.
 *
 * Login (authorization-code flow, twitch-platform.md 1.1–1.2):
 *
 *   GET /auth/login ──▶ accounts_login_begin: nonce N (32 random bytes) goes into a short-lived
 *                       HttpOnly cookie; state = hex(SHA-256(N)) goes to Twitch and into a
 *                       pending set (10 minutes, single use)
 *   Twitch ──302──▶ GET /auth/callback?code&state ──▶ accounts_login_finish: SHA-256(cookie)
 *                       must equal state (constant-time) and state must be pending (taken
 *                       out: a second use fails); code → token → /validate (who, which
 *                       scopes) → Get Users (profile) → user, sealed token, new session
 *
 * Sessions: an opaque random id (32 bytes, hex) in an HttpOnly, SameSite=Lax cookie; the
 * store keeps only SHA-256 of it, so lookups compare hashes, never the secret. A new one at
 * every login (the old one is deleted); they expire (options.session_ttl_s).
 *
 * Tokens: owned by auth/tokens (tokens.h), which accounts builds and frees: kept in memory and
 * sealed in the store, validated at start-up and every options.validate_interval_ms,
 * refreshed near expiry. When a grant ends (Twitch refuses the refresh, logout, deletion) the
 * user's sessions are deleted and hooks.on_user_tokens_gone runs. Their next request gets a
 * 401 whose reason is "session_expired" (the page then says so and offers to log in again).
 *
 * Order: accounts → auth/tokens → twitch/, store/, auth/tokenbox. Nothing below calls it
 * except through hooks it registers.
 *
 * Threads: loop thread only. Callbacks never run inside the call that was given them.
 */
#ifndef SEV_AUTH_ACCOUNTS_H
#define SEV_AUTH_ACCOUNTS_H

#include <stdint.h>
#include <uv.h>

#include "base/err.h"
#include "store/store.h"
#include "twitch/twitch.h"

struct accounts;
struct tokenbox;

/* What the rest of SEV (the EventSub subscription manager) hears from accounts. All may be
 * NULL. Ids and logins are borrowed for the call. */
struct accounts_hooks {
    /* A user's favorite changed (old or new NULL: none). Also called once per stored favorite
     * during accounts_start, with old NULL, before its ready callback. */
    void (*on_favorite_changed)(void *arg, const char *user_id, const char *old_streamer_id,
                                const char *new_streamer_id, const char *new_login);
    /* The user's tokens are gone (logout, revoked or dead grant, deleted account): nothing
     * may ride on them any more. */
    void (*on_user_tokens_gone)(void *arg, const char *user_id);
    /* The user logged in (again) and granted scopes: plans may now do more. */
    void (*on_user_authorized)(void *arg, const char *user_id);
    void *arg;
};

#define ACCOUNTS_SESSION_TTL_S (30 * 24 * 3600) /* sessions last 30 days */

struct accounts_options {
    const char *public_url;        /* SEV_PUBLIC_URL: the redirect URI is {public_url}/auth/callback */
    const char *auth_url;          /* TWITCH_AUTH_URL: /authorize is appended */
    const char *client_id;
    int64_t validate_interval_ms;  /* default 1 hour */
    int64_t session_ttl_s;         /* default ACCOUNTS_SESSION_TTL_S */
    int64_t refresh_margin_s;      /* refresh when the token expires within this (default 300;
                                    * at most a quarter of the token's lifetime) */
    int shared_store;              /* several nodes write tokens: a token this node lacks is
                                    * looked for in the store before saying there is none */
};

/* Loop, store, twitch client and tokenbox are borrowed and outlive accounts. Builds its tokens
 * (auth/tokens), which register as the twitch client's token provider. */
int accounts_new(uv_loop_t *loop, struct store *st, struct twitch *tw, struct tokenbox *box,
                 const struct accounts_options *opts, const struct accounts_hooks *hooks,
                 struct accounts **out, struct err *err);
/* Loads the stored tokens (tokens_start: app and users), validates them, reads every
 * favorite (hooks.on_favorite_changed each), then calls ready. Token requests that
 * arrive before the tokens are loaded wait for them. Returns 0 or -1. */
int accounts_start(struct accounts *a, void (*ready)(void *arg), void *arg);
/* Several nodes: loads the stored tokens of users this node does not know yet (they logged in
 * on another node), so the leader's subscription manager can use them. Tokens it knows are
 * left alone. done (may be NULL) runs on the loop once they are loaded (live 1), or with live
 * 0 when accounts was freed meanwhile (then it must not touch accounts). Returns 0, or -1
 * (then done is not called). */
int accounts_adopt_new_tokens(struct accounts *a, void (*done)(void *arg, int live), void *arg);
/* Several nodes: the hourly validation of every stored token runs on the leader only
 * (on = 1 starts it, 0 stops it). accounts_start starts it; start-up validation still runs. */
void accounts_set_upkeep(struct accounts *a, int on);
/* Frees its tokens (pending token callbacks run with an error); memory goes once every store
 * and Twitch call it made has called back (run the loop on; free accounts before the twitch
 * client). */
void accounts_free(struct accounts *a);

/* The scopes user_id granted SEV (space-separated), or NULL when SEV holds no live token. */
const char *accounts_user_scopes(struct accounts *a, const char *user_id);

/* ---- login ---------------------------------------------------------------------------------- */

#define ACCOUNTS_COOKIE_LEN 65 /* 64 hex characters and the NUL */

struct accounts_login {
    char state_cookie[ACCOUNTS_COOKIE_LEN]; /* the state cookie's value */
    char *location;                         /* owned: the /authorize URL to redirect to */
};
/* broadcaster: also ask for the broadcaster scopes (the streamer logs in). 0 or -1. */
int accounts_login_begin(struct accounts *a, int broadcaster, struct accounts_login *out);

enum accounts_login_outcome {
    ACCOUNTS_LOGIN_OK = 0,
    ACCOUNTS_LOGIN_BAD_REQUEST, /* missing/wrong/reused state, no code, or Twitch refused the
                                 * code: no session */
    ACCOUNTS_LOGIN_DENIED,      /* the viewer declined on Twitch (error=access_denied) */
    ACCOUNTS_LOGIN_FAILED,      /* Twitch answered something unusable */
    ACCOUNTS_LOGIN_UNAVAILABLE, /* Twitch did not answer */
};
/* session_id: the new session cookie's value (OK only), borrowed for the call. */
typedef void (*accounts_login_fn)(void *arg, int outcome, const char *session_id);
/* The callback's parameters (any may be NULL): state and code or error from the query, the
 * state cookie, and the browser's current session cookie (deleted on success: rotation).
 * Returns 0 (cb later) or -1. */
int accounts_login_finish(struct accounts *a, const char *state, const char *state_cookie,
                          const char *code, const char *error, const char *old_session,
                          accounts_login_fn cb, void *arg);

/* ---- sessions and the signed-in user -------------------------------------------------------- */

/* status 0 and the user (borrowed for the call), 1 no such session (unknown, expired, or its
 * user's grant has ended — even while the store is still deleting it), or negative on a store
 * error. */
typedef void (*accounts_user_fn)(void *arg, int status, const struct store_user *u);
/* Looks a session cookie value up. A malformed value is answered 1 (later, like the rest). */
int accounts_session_user(struct accounts *a, const char *session_id, accounts_user_fn cb,
                          void *arg);
/* Ends the session and, if it had a user, revokes their Twitch token and drops their tokens
 * and every session (hooks.on_user_tokens_gone). cb(arg, 0) when done. */
int accounts_logout(struct accounts *a, const char *session_id, store_done_fn cb, void *arg);
/* Deletes the user, their tokens, sessions and favorite (hooks first), revokes the token. */
int accounts_delete_user(struct accounts *a, const struct store_user *u, store_done_fn cb,
                         void *arg);

/* ---- favorites and follows ------------------------------------------------------------------ */

/* What a favorite or follows call came to. Auth says what happened; api/ chooses the HTTP
 * status. */
enum accounts_result {
    ACCOUNTS_OK = 0,
    ACCOUNTS_EGRANT,    /* the user's Twitch grant is gone (logged out, deleted, dead grant) */
    ACCOUNTS_ENOTFOUND, /* Twitch has no such user */
    ACCOUNTS_ETWITCH,   /* Twitch answered with an error, or with nonsense */
    ACCOUNTS_ETIMEOUT,  /* Twitch did not answer */
    ACCOUNTS_EINTERNAL, /* SEV's store failed, or memory ran out */
};
/* result: enum accounts_result; message: a sentence for the viewer (NULL on ACCOUNTS_OK). */
typedef void (*accounts_favorite_fn)(void *arg, int result, const struct twitch_user *streamer,
                                     const char *message);
/* Looks login up (Get Users), stores the streamer and the favorite, calls the hook. A user
 * whose tokens went (logout, deletion) while Twitch answered gets 401 and nothing is stored. */
int accounts_set_favorite(struct accounts *a, const struct store_user *u, const char *login,
                          accounts_favorite_fn cb, void *arg);
/* Clears the favorite (hook with new NULL). cb(arg, 0) or negative. */
int accounts_clear_favorite(struct accounts *a, const struct store_user *u, store_done_fn cb,
                            void *arg);

struct accounts_channel {
    char id[32];
    char login[32];
    char display_name[128];
    int live;
};
typedef void (*accounts_following_fn)(void *arg, int result,
                                      const struct accounts_channel *channels, size_t n,
                                      const char *message);
/* The channels user_id follows (all pages, up to 2000) with their live state (Get Streams in
 * batches of 100). result as accounts_favorite_fn. */
int accounts_following(struct accounts *a, const char *user_id, accounts_following_fn cb,
                       void *arg);

#endif
