/* accounts_int.h: the accounts module's state, shared by accounts.c (tokens, sessions,
 * start-up), accounts_login.c (the OAuth flow) and accounts_me.c (favorites, follows). */
#ifndef SEV_AUTH_ACCOUNTS_INT_H
#define SEV_AUTH_ACCOUNTS_INT_H

#include "auth/accounts.h"
#include "auth/tokenbox.h"
#include "base/buf.h"
#include "base/map.h"

/* Scopes, and why (README.md "Accounts"). */
#define SCOPES_VIEWER "user:read:follows user:read:chat"
#define SCOPES_BROADCASTER                                                                         \
    "moderator:read:followers channel:read:subscriptions bits:read channel:read:redemptions"     \
    " channel:read:hype_train channel:read:polls channel:read:predictions channel:read:goals"      \
    " channel:read:charity channel:read:ads moderator:read:shoutouts"

#define LOGIN_STATE_TTL_US INT64_C(600000000) /* 10 minutes to come back from Twitch */
#define LOGIN_PENDING_MAX 10000

struct waiter {
    struct waiter *next;
    twitch_access_fn cb;
    void *arg;
};

/* A token request that arrived before the stored tokens were loaded. */
struct early {
    struct early *next;
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
    int busy;              /* refresh/validation jobs holding this struct */
    int gone;              /* dropped from the map while busy: the last job frees it */
    struct waiter *waiters;
};

struct pending_login {
    int64_t expires_us; /* monotonic */
    int broadcaster;
};

struct deferred;

struct accounts {
    uv_loop_t *loop;
    struct store *store;   /* borrowed */
    struct twitch *tw;     /* borrowed */
    struct tokenbox *box;  /* borrowed */
    struct accounts_options opts; /* strings point at the copies below */
    char public_url[256], auth_url[256], client_id[128];
    struct accounts_hooks hooks;
    struct map tokens;  /* user id → struct utok (owned) */
    struct map pending; /* state (hex) → struct pending_login (owned) */
    struct map ended;   /* user id → number (uintptr_t) of deletions of the user's sessions
                         * still in flight after their grant ended: until they are done, a
                         * session the store still has for that user is not honoured */
    int64_t flood_logged_us; /* monotonic: the last auth.login_flood warning */
    struct early *early;
    int loaded;
    struct deferred *deferred, **deferred_tail;
    uv_timer_t defer_timer, validate_timer;
    unsigned handles_open;
    unsigned inflight;
    int freeing;
    void (*ready)(void *arg);
    void *ready_arg;
};

void acc_started(struct accounts *a);
/* Call first in every callback of a call counted by acc_started: 1 means accounts is gone
 * (freeing): return at once without touching a. */
int acc_returned(struct accounts *a);
struct utok *acc_token_set(struct accounts *a, const char *user_id, const char *access,
                           const char *refresh, int64_t expires_in_s, const char *scopes,
                           int persist);
void acc_user_gone(struct accounts *a, const char *user_id, const char *reason);
void acc_revoke_and_forget(struct accounts *a, const char *user_id, const char *reason);
/* Revokes an access token at Twitch in the background (the string is copied at once). */
void acc_revoke(struct accounts *a, const char *token);
/* SHA-256 of a well-formed session id (64 lowercase hex); -1 if malformed. */
int acc_session_key(const char *session_id, unsigned char key[STORE_SESSION_KEY_LEN]);
int acc_new_session(char id[ACCOUNTS_COOKIE_LEN], unsigned char key[STORE_SESSION_KEY_LEN]);

#endif
