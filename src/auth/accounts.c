/* accounts.c: sessions, the end of a grant (its sessions refused until deleted), the start-up
 * load and the wiring of auth/tokens. The login flow is in accounts_login.c, favorites and
 * follows in accounts_me.c; the tokens themselves in tokens.c.
 *
 * Lifetime: every store or Twitch call made here counts in a->inflight; its callback first
 * calls acc_returned(a), which frees the struct once accounts_free has run and nothing is
 * left. */
#include "auth/accounts_int.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/rand.h"

#define DEFAULT_SESSION_TTL_S ACCOUNTS_SESSION_TTL_S

static void destroy(struct accounts *a);

/* ---- lifetime ---- */

void acc_started(struct accounts *a)
{
    a->inflight++;
}

int acc_returned(struct accounts *a)
{
    a->inflight--;
    if (!a->freeing)
        return 0;
    destroy(a);
    return 1;
}

static void destroy(struct accounts *a)
{
    if (!a->freeing || a->inflight)
        return;
    const char *k;
    void *v;
    for (size_t i = 0; map_next(&a->pending, &i, &k, &v);)
        free(v);
    map_release(&a->pending);
    map_release(&a->ended);
    free(a);
}

static void on_store_done(void *arg, int status)
{
    struct accounts *a = arg;
    if (status < 0)
        log_error("auth.store_failed", "%s", "what=account_write");
    acc_returned(a);
}

/* ---- ended grants: their sessions are refused before the store has deleted them ---- */

struct ended_job {
    struct accounts *a;
    char user_id[32];
};

static void ended_hold(struct accounts *a, const char *user_id)
{
    uintptr_t n = (uintptr_t)map_get(&a->ended, user_id);
    if (map_put(&a->ended, user_id, (void *)(n + 1)) < 0)
        log_warn("auth.out_of_memory", "what=ended user_id=%s", user_id);
}

static void on_sessions_ended(void *arg, int status)
{
    struct ended_job *j = arg;
    struct accounts *a = j->a;
    if (status < 0)
        log_error("auth.store_failed", "what=sessions_delete user_id=%s", j->user_id);
    uintptr_t n = (uintptr_t)map_get(&a->ended, j->user_id);
    if (n <= 1 || map_put(&a->ended, j->user_id, (void *)(n - 1)) < 0)
        map_remove(&a->ended, j->user_id);
    free(j);
    acc_returned(a);
}

/* Deletes every session of the user; until that is done, lookups refuse them. */
static void end_sessions(struct accounts *a, const char *user_id)
{
    struct ended_job *j = calloc(1, sizeof *j);
    if (!j) {
        if (store_sessions_delete(a->store, user_id, on_store_done, a) == 0)
            acc_started(a);
        return;
    }
    j->a = a;
    snprintf(j->user_id, sizeof j->user_id, "%s", user_id);
    if (store_sessions_delete(a->store, user_id, on_sessions_ended, j) < 0) {
        log_error("auth.store_failed", "what=sessions_delete user_id=%s", user_id);
        free(j);
        return;
    }
    acc_started(a);
    ended_hold(a, user_id);
}

/* tokens' hook: the grant ended (its tokens are gone): end every session of the user, tell
 * the hooks. */
static void on_grant_ended(void *arg, const char *user_id, const char *reason)
{
    struct accounts *a = arg;
    end_sessions(a, user_id);
    if (a->hooks.on_user_tokens_gone)
        a->hooks.on_user_tokens_gone(a->hooks.arg, user_id);
}

static int grant_ending(void *arg, const char *user_id)
{
    struct accounts *a = arg;
    return map_get(&a->ended, user_id) != NULL;
}

/* tokens' hook, at each validation round: expired sessions are deleted. */
static void on_upkeep(void *arg)
{
    struct accounts *a = arg;
    if (store_sessions_delete(a->store, NULL, on_store_done, a) == 0)
        acc_started(a);
}

/* ---- start-up ---- */

static void on_favorites(void *arg, int status, struct store_favorite_list *l)
{
    struct accounts *a = arg;
    if (acc_returned(a)) {
        store_favorite_list_free(l);
        return;
    }
    if (status < 0)
        log_error("auth.start_failed", "%s", "what=favorites");
    for (size_t i = 0; l && i < l->count; i++)
        if (a->hooks.on_favorite_changed)
            a->hooks.on_favorite_changed(a->hooks.arg, l->items[i].user_id, NULL,
                                         l->items[i].streamer.id, l->items[i].streamer.login);
    log_info("auth.started", "users_with_tokens=%zu favorites=%zu", tokens_user_count(a->tokens),
             l ? l->count : 0);
    store_favorite_list_free(l);
    if (a->ready)
        a->ready(a->ready_arg);
}

static void on_tokens_loaded(void *arg)
{
    struct accounts *a = arg;
    if (store_favorites_all(a->store, on_favorites, a) == 0) {
        acc_started(a);
    } else if (a->ready) {
        log_error("auth.start_failed", "%s", "what=favorites");
        a->ready(a->ready_arg);
    }
}

int accounts_adopt_new_tokens(struct accounts *a, void (*done)(void *arg, int live), void *arg)
{
    return a->freeing ? -1 : tokens_adopt_new(a->tokens, done, arg);
}

void accounts_set_upkeep(struct accounts *a, int on)
{
    if (a && !a->freeing)
        tokens_set_upkeep(a->tokens, on);
}

int accounts_start(struct accounts *a, void (*ready)(void *arg), void *arg)
{
    a->ready = ready;
    a->ready_arg = arg;
    return tokens_start(a->tokens, on_tokens_loaded, a);
}

const char *accounts_user_scopes(struct accounts *a, const char *user_id)
{
    return tokens_user_scopes(a->tokens, user_id);
}

/* ---- sessions ---- */

int acc_session_key(const char *session_id, unsigned char key[STORE_SESSION_KEY_LEN])
{
    size_t n = session_id ? strlen(session_id) : 0;
    if (n != ACCOUNTS_COOKIE_LEN - 1)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789abcdef", session_id[i]))
            return -1;
    SHA256((const unsigned char *)session_id, n, key);
    return 0;
}

struct session_job {
    struct accounts *a;
    accounts_user_fn cb;
    void *arg;
    int status;
};

static void on_session(void *arg, int status, const struct store_user *u)
{
    struct session_job *j = arg;
    struct accounts *a = j->a;
    if (status == 0 && u && map_get(&a->ended, u->id)) {
        status = 1; /* the grant ended; the store is still deleting this session */
        u = NULL;
    }
    j->cb(j->arg, status, u);
    free(j);
    acc_returned(a);
}

int accounts_session_user(struct accounts *a, const char *session_id, accounts_user_fn cb,
                          void *arg)
{
    if (!cb || a->freeing)
        return -1;
    unsigned char key[STORE_SESSION_KEY_LEN];
    struct session_job *j = calloc(1, sizeof *j);
    if (!j)
        return -1;
    j->a = a;
    j->cb = cb;
    j->arg = arg;
    if (acc_session_key(session_id, key) < 0) {
        /* unknown by construction: answered through the store anyway (uniform, later) with
         * a key no session has */
        memset(key, 0, sizeof key);
    }
    if (store_session_get(a->store, key, on_session, j) < 0) {
        free(j);
        return -1;
    }
    acc_started(a);
    return 0;
}

int acc_new_session(char id[ACCOUNTS_COOKIE_LEN], unsigned char key[STORE_SESSION_KEY_LEN])
{
    if (rand_hex(id, 32) < 0)
        return -1;
    SHA256((const unsigned char *)id, ACCOUNTS_COOKIE_LEN - 1, key);
    return 0;
}

/* ---- logout and account deletion ---- */

struct logout_job {
    struct accounts *a;
    unsigned char key[STORE_SESSION_KEY_LEN];
    store_done_fn cb;
    void *arg;
};

static void on_logout_deleted(void *arg, int status)
{
    struct logout_job *j = arg;
    struct accounts *a = j->a;
    j->cb(j->arg, status < 0 ? status : 0);
    free(j);
    acc_returned(a);
}

static void on_logout_user(void *arg, int status, const struct store_user *u)
{
    struct logout_job *j = arg;
    struct accounts *a = j->a;
    if (acc_returned(a)) {
        free(j);
        return;
    }
    if (status == 0 && u) {
        log_info("auth.logout", "user_id=%s", u->id);
        tokens_end_grant(a->tokens, u->id, "logout", 1); /* every session of the user goes too */
    }
    if (store_session_delete(a->store, j->key, on_logout_deleted, j) == 0) {
        acc_started(a);
        return;
    }
    j->cb(j->arg, -1);
    free(j);
}

int accounts_logout(struct accounts *a, const char *session_id, store_done_fn cb, void *arg)
{
    if (!cb || a->freeing)
        return -1;
    struct logout_job *j = calloc(1, sizeof *j);
    if (!j)
        return -1;
    j->a = a;
    j->cb = cb;
    j->arg = arg;
    if (acc_session_key(session_id, j->key) < 0)
        memset(j->key, 0, sizeof j->key); /* no session: nothing to end, answered all the same */
    if (store_session_get(a->store, j->key, on_logout_user, j) < 0) {
        free(j);
        return -1;
    }
    acc_started(a);
    return 0;
}

struct delete_job {
    struct accounts *a;
    store_done_fn cb;
    void *arg;
};

static void on_user_deleted(void *arg, int status)
{
    struct delete_job *j = arg;
    struct accounts *a = j->a;
    j->cb(j->arg, status);
    free(j);
    acc_returned(a);
}

int accounts_delete_user(struct accounts *a, const struct store_user *u, store_done_fn cb,
                         void *arg)
{
    if (!cb || !u || a->freeing)
        return -1;
    struct delete_job *j = calloc(1, sizeof *j);
    if (!j)
        return -1;
    j->a = a;
    j->cb = cb;
    j->arg = arg;
    if (store_user_delete(a->store, u->id, on_user_deleted, j) < 0) {
        free(j);
        return -1;
    }
    acc_started(a);
    log_info("auth.account_deleted", "user_id=%s", u->id);
    if (u->has_favorite && a->hooks.on_favorite_changed)
        a->hooks.on_favorite_changed(a->hooks.arg, u->id, u->favorite.id, NULL, NULL);
    tokens_end_grant(a->tokens, u->id, "account_deleted", 1);
    return 0;
}

/* ---- new and free ---- */

int accounts_new(uv_loop_t *loop, struct store *st, struct twitch *tw, struct tokenbox *box,
                 const struct accounts_options *o, const struct accounts_hooks *hooks,
                 struct accounts **out, struct err *err)
{
    *out = NULL;
    if (!o || !o->public_url || !o->auth_url || !o->client_id || !tw || !box || !st)
        return err_set(err, "accounts: missing options");
    struct accounts *a = calloc(1, sizeof *a);
    if (!a)
        return err_set(err, "out of memory");
    a->loop = loop;
    a->store = st;
    a->tw = tw;
    snprintf(a->public_url, sizeof a->public_url, "%s", o->public_url);
    snprintf(a->auth_url, sizeof a->auth_url, "%s", o->auth_url);
    snprintf(a->client_id, sizeof a->client_id, "%s", o->client_id);
    a->opts = *o;
    a->opts.public_url = a->public_url;
    a->opts.auth_url = a->auth_url;
    a->opts.client_id = a->client_id;
    if (a->opts.session_ttl_s <= 0)
        a->opts.session_ttl_s = DEFAULT_SESSION_TTL_S;
    if (hooks)
        a->hooks = *hooks;
    map_init(&a->pending);
    map_init(&a->ended);
    struct tokens_options to = {
        .client_id = a->client_id,
        .validate_interval_ms = o->validate_interval_ms,
        .refresh_margin_s = o->refresh_margin_s,
        .shared_store = o->shared_store,
    };
    struct tokens_hooks th = {on_grant_ended, grant_ending, on_upkeep, a};
    if (tokens_new(loop, st, tw, box, &to, &th, &a->tokens, err) < 0) {
        map_release(&a->pending);
        map_release(&a->ended);
        free(a);
        return -1;
    }
    *out = a;
    return 0;
}

void accounts_free(struct accounts *a)
{
    if (!a || a->freeing)
        return;
    a->freeing = 1;
    tokens_free(a->tokens); /* owed token callbacks run now, with an error */
    a->tokens = NULL;
    a->inflight++; /* destroy once nothing is left, perhaps at once */
    acc_returned(a);
}
