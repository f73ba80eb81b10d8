/* accounts_int.h: the accounts module's state, shared by accounts.c (sessions, ended grants,
 * start-up), accounts_login.c (the OAuth flow) and accounts_me.c (favorites, follows). The
 * Twitch tokens themselves are auth/tokens'. */
#ifndef SEV_AUTH_ACCOUNTS_INT_H
#define SEV_AUTH_ACCOUNTS_INT_H

#include "auth/accounts.h"
#include "auth/tokenbox.h"
#include "auth/tokens.h"
#include "base/buf.h"
#include "base/map.h"

/* Scopes, and why (README.md "Accounts"). */
#define SCOPES_VIEWER "user:read:follows user:read:chat"
#define SCOPES_BROADCASTER                                                                         \
    "moderator:read:followers channel:read:subscriptions bits:read channel:read:redemptions"       \
    " channel:read:hype_train channel:read:polls channel:read:predictions channel:read:goals"      \
    " channel:read:charity channel:read:ads moderator:read:shoutouts"

#define LOGIN_STATE_TTL_US INT64_C(600000000) /* 10 minutes to come back from Twitch */
#define LOGIN_PENDING_MAX 10000

struct pending_login {
    int64_t expires_us; /* monotonic */
    int broadcaster;
};

struct accounts {
    uv_loop_t *loop;
    struct store *store;          /* borrowed */
    struct twitch *tw;            /* borrowed */
    struct tokens *tokens;        /* owned: the users' and the app's Twitch tokens */
    struct accounts_options opts; /* strings point at the copies below */
    char public_url[256], auth_url[256], client_id[128];
    struct accounts_hooks hooks;
    struct map pending;      /* state (hex) → struct pending_login (owned) */
    struct map ended;        /* user id → number (uintptr_t) of deletions of the user's sessions
                              * still in flight after their grant ended: until they are done, a
                              * session the store still has for that user is not honoured */
    int64_t flood_logged_us; /* monotonic: the last auth.login_flood warning */
    unsigned inflight;
    int freeing;
    void (*ready)(void *arg);
    void *ready_arg;
};

void acc_started(struct accounts *a);
/* Call first in every callback of a call counted by acc_started: 1 means accounts is gone
 * (freeing): return at once without touching a. */
int acc_returned(struct accounts *a);
/* SHA-256 of a well-formed session id (64 lowercase hex); -1 if malformed. */
int acc_session_key(const char *session_id, unsigned char key[STORE_SESSION_KEY_LEN]);
int acc_new_session(char id[ACCOUNTS_COOKIE_LEN], unsigned char key[STORE_SESSION_KEY_LEN]);

#endif
