/* twitch: the one client for Twitch's OAuth server ({TWITCH_AUTH_URL}: /token, /validate,
 * /revoke) and Helix ({TWITCH_API_URL}/…). Every call SEV makes to Twitch goes through here.
 *
 *   caller ──twitch_get_users()…──▶ request ──token?──▶ the token provider (auth/tokens:
 *                                      │                 app and user tokens) ───────┐
 *                                      ▼                                             │
 *            libcurl multi on the libuv loop (uv_poll per socket + one uv_timer) ◀───┘
 *                                      │
 *        5xx / no answer: retried with jittered backoff (idempotent calls only)
 *        429: waits until Ratelimit-Reset, then retries
 *        401 with a token we chose: that token is reported rejected, a fresh one is fetched
 *                                   (refresh), and the call is made once more
 *                                      ▼
 *        JSON parsed (jansson) into the plain structs below; cb(arg, result, …)
 *
 * Order: a leaf. twitch/ calls nothing above it; tokens reach it through the provider table
 * (twitch_set_token_provider), which the token owner registers.
 *
 * Threads: loop thread only. Nothing here blocks: DNS, connect, TLS and transfers run inside
 * curl's multi interface driven by the loop.
 *
 * Callbacks: a function that returns 0 calls its callback exactly once, later, on the loop
 * (never inside the call itself); one that returns -1 never calls it. Everything handed to a
 * callback (structs, strings, json_t) is borrowed for the duration of the callback: copy what
 * you keep. twitch_free() calls every pending callback with TWITCH_ECANCELED.
 *
 * Errors reach the caller as struct twitch_result: `error` says whether an answer came at all,
 * `status` is Twitch's HTTP status, `message` is Twitch's own "message" or ours (never a token).
 *
 * Secrets: tokens, codes and the client secret never go into logs or error messages; the
 * buffers that held them are wiped before they are freed.
 */
#ifndef SEV_TWITCH_H
#define SEV_TWITCH_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "base/err.h"

struct twitch;

enum twitch_error {
    TWITCH_OK = 0,         /* an HTTP answer came: see status */
    TWITCH_ENET = -1,      /* no answer (connect, DNS, TLS, reset) after the retries */
    TWITCH_ETIMEOUT = -2,  /* no complete answer within the timeout, after the retries */
    TWITCH_EPARSE = -3,    /* a 2xx answer whose body is not what Twitch documents */
    TWITCH_ENOTOKEN = -4,  /* no usable token: not a SEV user, the grant is dead (refresh
                            * refused), or no app token could be had */
    TWITCH_ECANCELED = -5, /* twitch_free ran first */
    TWITCH_ENOMEM = -6,
};

struct twitch_result {
    int error;           /* enum twitch_error */
    int status;          /* HTTP status of the final answer; 0 when none came */
    const char *message; /* borrowed, never NULL: Twitch's "message", or what went wrong; ""
                          * on success */
    json_t *body;        /* borrowed: the parsed JSON answer, or NULL (none, or not JSON) */
};

/* 1 when an answer came with a 2xx status. */
int twitch_ok(const struct twitch_result *r);

/* A token handed out by a provider: borrowed for the call; NULL with a reason on failure. */
typedef void (*twitch_access_fn)(void *arg, const char *token, const char *error);

/* Where Bearer tokens come from (auth/tokens registers itself). Set before the first Helix
 * call; NULL unsets it (calls that need a token then end with TWITCH_ENOTOKEN). */
struct twitch_token_provider {
    /* A current access token: as_user NULL for the app token, else that user's (refreshed
     * first if it is near expiry or was rejected). Returns 0 (cb runs once, possibly inside
     * this call) or -1 (never). */
    int (*get)(void *ctx, const char *as_user, twitch_access_fn cb, void *arg);
    /* A call with this token was answered 401 (as_user as in get): do not give it out again. */
    void (*rejected)(void *ctx, const char *as_user, const char *token);
    void *ctx;
};

struct twitch_options {
    const char *client_id;     /* copied */
    const char *client_secret; /* copied; wiped at free */
    const char *auth_url;      /* TWITCH_AUTH_URL, e.g. https://id.twitch.tv/oauth2 */
    const char *api_url;       /* TWITCH_API_URL, e.g. https://api.twitch.tv/helix */
    int timeout_ms;            /* per attempt, whole transfer (default 10000) */
    int connect_timeout_ms;    /* default 5000 */
    int max_attempts;          /* attempts for 5xx / no answer (default 3) */
    int retry_base_ms;         /* first backoff (default 300), doubling, jittered, cap 5 s */
    int max_rate_wait_ms;      /* longest wait for Ratelimit-Reset on a 429 (default 60000) */
};

struct twitch_stats {
    uint64_t requests;     /* HTTP attempts sent */
    uint64_t errors;       /* calls that ended without a 2xx answer */
    uint64_t retries;      /* attempts repeated after a 5xx or no answer */
    uint64_t rate_limited; /* 429 answers */
    uint64_t inflight;     /* calls not yet called back */
};

int twitch_new(uv_loop_t *loop, const struct twitch_options *opts, struct twitch **out,
               struct err *err);
/* Every pending call's callback runs inside this call with TWITCH_ECANCELED; the memory is
 * released once curl's sockets and the timers have closed (run the loop on). */
void twitch_free(struct twitch *t);
void twitch_set_token_provider(struct twitch *t, const struct twitch_token_provider *p);
void twitch_stats(const struct twitch *t, struct twitch_stats *out);

/* ---- OAuth --------------------------------------------------------------------------------- */

struct twitch_token {
    const char *access_token;
    const char *refresh_token; /* "" when none (client credentials) */
    int64_t expires_in_s;      /* 0 when Twitch did not say */
    const char *scopes;        /* granted scopes, space-separated ("" when none) */
};
/* tok is NULL unless the answer was 200 with an access token. */
typedef void (*twitch_token_fn)(void *arg, const struct twitch_result *r,
                                const struct twitch_token *tok);

/* Authorization code → user token (POST /token, grant_type=authorization_code). redirect_uri
 * must equal the one sent to /authorize. Not retried (codes are single-use). */
int twitch_oauth_code(struct twitch *t, const char *code, const char *redirect_uri,
                      twitch_token_fn cb, void *arg);
/* Refresh (grant_type=refresh_token). A 400 means the grant is dead: log the user out. The
 * refresh token may change: keep the new one. */
int twitch_oauth_refresh(struct twitch *t, const char *refresh_token, twitch_token_fn cb,
                         void *arg);
/* Client credentials (an app token). Helix calls get theirs from the token provider. */
int twitch_oauth_client_credentials(struct twitch *t, twitch_token_fn cb, void *arg);

struct twitch_validation {
    const char *client_id;
    const char *login;   /* "" for app tokens */
    const char *user_id; /* "" for app tokens */
    const char *scopes;  /* space-separated */
    int64_t expires_in_s;
};
/* GET /validate: v is NULL unless 200 (401: the token is invalid). */
typedef void (*twitch_validate_fn)(void *arg, const struct twitch_result *r,
                                   const struct twitch_validation *v);
int twitch_oauth_validate(struct twitch *t, const char *access_token, twitch_validate_fn cb,
                          void *arg);

/* POST /revoke. 200 revoked; 400 the token was not valid anyway. */
typedef void (*twitch_done_fn)(void *arg, const struct twitch_result *r);
int twitch_oauth_revoke(struct twitch *t, const char *token, twitch_done_fn cb, void *arg);

/* ---- Helix ----------------------------------------------------------------------------------
 * as_user: whose token the call carries: NULL for the app token, else a user id; both come
 * from the token provider. A 401 is retried once with a fresh token; if none can
 * be had the call ends with TWITCH_ENOTOKEN. */

/* Any Helix call: path relative to TWITCH_API_URL ("/users?id=1"), body (borrowed, may be
 * NULL) is sent as JSON. Retried on 5xx only for GET and DELETE. */
int twitch_helix(struct twitch *t, const char *as_user, const char *method, const char *path,
                 json_t *body, twitch_done_fn cb, void *arg);

struct twitch_user {
    char id[32];
    char login[32];
    char display_name[128];
    char type[16];
    char broadcaster_type[16];
    char profile_image_url[512];
    char created_at[40]; /* Twitch account creation, RFC 3339 */
};
typedef void (*twitch_users_fn)(void *arg, const struct twitch_result *r,
                                const struct twitch_user *users, size_t n);
/* Get Users by ids and/or logins (at most 100 together; more: -1). None at all with a user
 * token: that user. Unknown ids/logins are simply absent. */
int twitch_get_users(struct twitch *t, const char *as_user, const char *const *ids, size_t nids,
                     const char *const *logins, size_t nlogins, twitch_users_fn cb, void *arg);

struct twitch_stream {
    char id[32];
    char user_id[32];
    char user_login[32];
    char user_name[128];
    char game_name[256];
    char title[512];
    char type[16];
    char started_at[40];
    int64_t viewer_count;
};
typedef void (*twitch_streams_fn)(void *arg, const struct twitch_result *r,
                                  const struct twitch_stream *streams, size_t n);
/* Get Streams for these users (any number: sent in batches of 100, one after another). Only
 * live channels are in the answer. With no ids and no logins: -1. */
int twitch_get_streams(struct twitch *t, const char *as_user, const char *const *user_ids,
                       size_t nids, const char *const *user_logins, size_t nlogins,
                       twitch_streams_fn cb, void *arg);

struct twitch_followed {
    char broadcaster_id[32];
    char broadcaster_login[32];
    char broadcaster_name[128];
    char followed_at[40];
};
/* cursor: the next page's, or NULL at the end; total: Twitch's count of all follows. */
typedef void (*twitch_followed_fn)(void *arg, const struct twitch_result *r,
                                   const struct twitch_followed *channels, size_t n,
                                   const char *cursor, int64_t total);
/* Get Followed Channels of user_id (needs user:read:follows, so as_user is normally user_id).
 * max_items 0: one page of up to 100 starting at `after` (NULL: the first). max_items > 0:
 * follows the cursors and gathers up to max_items in one answer. */
int twitch_get_followed(struct twitch *t, const char *as_user, const char *user_id,
                        const char *after, size_t max_items, twitch_followed_fn cb, void *arg);

/* ---- EventSub subscriptions ------------------------------------------------------------------ */

struct twitch_eventsub_sub {
    char id[64];
    char status[64];
    char type[96];
    char version[8];
    char created_at[40];
    int64_t cost;
    json_t *condition; /* borrowed from the answer */
    json_t *transport; /* borrowed from the answer */
};
struct twitch_eventsub_page {
    const struct twitch_eventsub_sub *subs;
    size_t n;
    int64_t total, total_cost, max_total_cost;
    const char *cursor; /* NULL at the end (always NULL with all_pages) */
};
/* created is NULL unless 202. 409: the same type + condition exists already. */
typedef void (*twitch_eventsub_created_fn)(void *arg, const struct twitch_result *r,
                                           const struct twitch_eventsub_sub *created);
typedef void (*twitch_eventsub_list_fn)(void *arg, const struct twitch_result *r,
                                        const struct twitch_eventsub_page *page);

/* POST /eventsub/subscriptions with body ({"type","version","condition","transport"},
 * borrowed) and as_user's token (NULL: the app token, required for webhooks; a user id: that
 * user's token, required for WebSocket transports). Not retried on 5xx (409 would follow). */
int twitch_eventsub_create(struct twitch *t, const char *as_user, json_t *body,
                           twitch_eventsub_created_fn cb, void *arg);

/* At most one filter may be set (Twitch's rule); all NULL lists everything the token sees. */
struct twitch_eventsub_filter {
    const char *status;
    const char *type;
    const char *user_id;
    const char *subscription_id;
};
/* GET /eventsub/subscriptions: one page from `after` (NULL: the first), or every page when
 * all_pages (then at most 10000 subscriptions). */
int twitch_eventsub_list(struct twitch *t, const char *as_user,
                         const struct twitch_eventsub_filter *filter, const char *after,
                         int all_pages, twitch_eventsub_list_fn cb, void *arg);
/* DELETE /eventsub/subscriptions?id=…: 204 deleted, 404 not found. */
int twitch_eventsub_delete(struct twitch *t, const char *as_user, const char *id, twitch_done_fn cb,
                           void *arg);

#endif
