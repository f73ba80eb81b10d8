/* accounts.c: tokens in memory, their refresh and validation; sessions; the start-up load.
 * The login flow is in accounts_login.c, favorites and follows in accounts_me.c.
 *
 * Lifetime: every store or Twitch call made here counts in a->inflight; its callback first
 * calls returned(a), which frees the struct once accounts_free has run and nothing is left.
 * Token callbacks owed to others are never called inside the call that asked (a one-shot
 * timer delivers them), and at free they are all called with an error. */
#include "auth/accounts_int.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/rand.h"

#define DEFAULT_VALIDATE_MS INT64_C(3600000)
#define DEFAULT_SESSION_TTL_S ACCOUNTS_SESSION_TTL_S
#define DEFAULT_REFRESH_MARGIN_S 300

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

static void on_handle_closed(uv_handle_t *h)
{
    struct accounts *a = h->data;
    a->handles_open--;
    destroy(a);
}

static void destroy(struct accounts *a)
{
    if (!a->freeing || a->inflight || a->handles_open)
        return;
    map_release(&a->tokens);
    const char *k;
    void *v;
    for (size_t i = 0; map_next(&a->pending, &i, &k, &v);)
        free(v);
    map_release(&a->pending);
    map_release(&a->ended);
    free(a);
}

/* ---- deferred callbacks ---- */

struct deferred {
    struct deferred *next;
    twitch_access_fn cb;
    void *arg;
    char *token; /* owned, wiped */
    char *error; /* owned */
};

static void run_deferred(struct accounts *a)
{
    while (a->deferred) {
        struct deferred *d = a->deferred;
        a->deferred = d->next;
        if (!a->deferred)
            a->deferred_tail = &a->deferred;
        d->cb(d->arg, d->token, d->token ? NULL : (d->error ? d->error : "no token"));
        tokenbox_wipe_free(d->token);
        free(d->error);
        free(d);
    }
}

static void on_defer_timer(uv_timer_t *h)
{
    run_deferred(h->data);
}

/* Calls cb(arg, token or NULL, error) on a later loop turn (token copied). */
static void defer(struct accounts *a, twitch_access_fn cb, void *arg, const char *token,
                  const char *error)
{
    struct deferred *d = calloc(1, sizeof *d);
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
    *a->deferred_tail = d;
    a->deferred_tail = &d->next;
    if (!a->freeing)
        uv_timer_start(&a->defer_timer, on_defer_timer, 0, 0);
}

/* ---- tokens in memory ---- */

static void flush_waiters(struct accounts *a, struct utok *t, const char *error)
{
    struct waiter *w = t->waiters;
    t->waiters = NULL;
    while (w) {
        struct waiter *next = w->next;
        defer(a, w->cb, w->arg, error ? NULL : t->access, error);
        free(w);
        w = next;
    }
}

static void utok_free(struct utok *t)
{
    tokenbox_wipe_free(t->access);
    tokenbox_wipe_free(t->refresh);
    free(t);
}

static void on_store_done(void *arg, int status)
{
    struct accounts *a = arg;
    if (status < 0)
        log_error("auth.store_failed", "%s", "what=account_write");
    acc_returned(a);
}

/* Seals and stores t (fire and forget: the memory copy is what SEV uses meanwhile). */
static void utok_persist(struct accounts *a, struct utok *t)
{
    struct buf plain;
    buf_init(&plain, 16384);
    struct store_token st = {0};
    snprintf(st.owner, sizeof st.owner, "%s", t->user_id);
    snprintf(st.scopes, sizeof st.scopes, "%s", t->scopes);
    st.expires_at_us = t->expires_at_us;
    if (buf_printf(&plain, "%s\n%s", t->access, t->refresh ? t->refresh : "") == 0 &&
        tokenbox_seal(a->box, t->user_id, plain.data, plain.len, &st.sealed, &st.sealed_len) ==
            0) {
        if (store_token_put(a->store, &st, on_store_done, a) == 0)
            acc_started(a);
        else
            log_error("auth.store_failed", "what=token user_id=%s", t->user_id);
    } else {
        log_error("auth.seal_failed", "user_id=%s", t->user_id);
    }
    free(st.sealed);
    if (plain.data)
        OPENSSL_cleanse(plain.data, plain.len);
    buf_release(&plain);
}

/* Installs (or replaces) a user's tokens; copies the strings. NULL when out of memory. */
struct utok *acc_token_set(struct accounts *a, const char *user_id, const char *access,
                           const char *refresh, int64_t expires_in_s, const char *scopes,
                           int persist)
{
    struct utok *t = map_get(&a->tokens, user_id);
    if (!t) {
        t = calloc(1, sizeof *t);
        if (!t || map_put(&a->tokens, user_id, t) < 0) {
            free(t);
            return NULL;
        }
        snprintf(t->user_id, sizeof t->user_id, "%s", user_id);
    }
    char *acc = strdup(access), *ref = strdup(refresh ? refresh : "");
    if (!acc || !ref) {
        tokenbox_wipe_free(acc);
        tokenbox_wipe_free(ref);
        return NULL;
    }
    tokenbox_wipe_free(t->access);
    tokenbox_wipe_free(t->refresh);
    t->access = acc;
    t->refresh = ref;
    t->expires_at_us = expires_in_s > 0 ? clock_wall_us() + expires_in_s * 1000000 : 0;
    t->lifetime_s = expires_in_s > 0 ? expires_in_s : 0;
    t->gen++;
    if (scopes)
        snprintf(t->scopes, sizeof t->scopes, "%s", scopes);
    t->rejected = 0;
    if (persist)
        utok_persist(a, t);
    return t;
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

/* The grant is over (dead refresh token, revoked, logged out, deleted): forget the tokens,
 * end every session of the user, tell the hooks. */
void acc_user_gone(struct accounts *a, const char *user_id, const char *reason)
{
    char id[32];
    snprintf(id, sizeof id, "%s", user_id); /* user_id may point into the utok */
    struct utok *t = map_remove(&a->tokens, id);
    if (t) {
        flush_waiters(a, t, "the user's Twitch authorization has ended");
        if (t->busy) /* a refresh or validation holds it: it frees t when it returns */
            t->gone = 1;
        else
            utok_free(t);
    }
    log_info("auth.grant_ended", "user_id=%s reason=%s", id, reason);
    if (store_token_delete(a->store, id, on_store_done, a) == 0)
        acc_started(a);
    end_sessions(a, id);
    if (a->hooks.on_user_tokens_gone)
        a->hooks.on_user_tokens_gone(a->hooks.arg, id);
}

static int token_fresh(const struct accounts *a, const struct utok *t)
{
    if (t->rejected || !t->access || !*t->access)
        return 0;
    if (!t->expires_at_us)
        return 1;
    /* refresh ahead of expiry, but a token that lives less than the margin is used for a
     * quarter of its life rather than refreshed at every use */
    int64_t margin_us = a->opts.refresh_margin_s * 1000000;
    if (t->lifetime_s > 0 && t->lifetime_s * 250000 < margin_us)
        margin_us = t->lifetime_s * 250000;
    return t->expires_at_us - clock_wall_us() > margin_us;
}

/* ---- refresh ---- */

struct refresh_job {
    struct accounts *a;
    struct utok *t;
    unsigned gen; /* t->gen when the refresh began */
};

static void utok_refresh(struct accounts *a, struct utok *t);

/* 1 if t was dropped meanwhile (then freed here). */
static int utok_released(struct utok *t)
{
    t->busy--;
    if (t->gone && !t->busy) {
        utok_free(t);
        return 1;
    }
    return t->gone;
}

static void on_refreshed(void *arg, const struct twitch_result *r, const struct twitch_token *tok)
{
    struct refresh_job *j = arg;
    struct accounts *a = j->a;
    struct utok *t = j->t;
    unsigned gen = j->gen;
    free(j);
    t->refreshing = 0;
    int dropped = utok_released(t);
    if (acc_returned(a) || dropped)
        return;
    if (gen != t->gen) {
        /* the tokens were replaced meanwhile (a new login): this answer is about the old
         * grant; the waiters get the new token */
        if (token_fresh(a, t))
            flush_waiters(a, t, NULL);
        else if (t->waiters)
            utok_refresh(a, t);
        return;
    }
    if (tok) {
        acc_token_set(a, t->user_id, tok->access_token,
                      tok->refresh_token[0] ? tok->refresh_token : t->refresh, tok->expires_in_s,
                      tok->scopes[0] ? tok->scopes : NULL, 1);
        log_info("auth.token_refreshed", "user_id=%s expires_in_s=%lld", t->user_id,
                 (long long)tok->expires_in_s);
        flush_waiters(a, t, NULL);
        return;
    }
    if (r->error == TWITCH_OK && r->status >= 400 && r->status < 500) {
        /* "Invalid refresh token": the grant is dead (twitch-platform.md 1.5) */
        acc_user_gone(a, t->user_id, "refresh_refused");
        return;
    }
    log_warn("auth.refresh_failed", "user_id=%s status=%d err=\"%s\"", t->user_id, r->status,
             r->message);
    flush_waiters(a, t, "Twitch did not answer the token refresh");
}

static void utok_refresh(struct accounts *a, struct utok *t)
{
    if (t->refreshing)
        return;
    struct refresh_job *j = calloc(1, sizeof *j);
    if (j && t->refresh && *t->refresh) {
        j->a = a;
        j->t = t;
        j->gen = t->gen;
        if (twitch_oauth_refresh(a->tw, t->refresh, on_refreshed, j) == 0) {
            t->refreshing = 1;
            t->busy++;
            acc_started(a);
            return;
        }
    }
    free(j);
    if (!t->refresh || !*t->refresh)
        acc_user_gone(a, t->user_id, "no_refresh_token");
    else
        flush_waiters(a, t, "cannot refresh the token");
}

/* ---- the token provider ---- */

struct token_lookup {
    struct accounts *a;
    char user_id[32];
    twitch_access_fn cb;
    void *arg;
};

static void user_token_now(struct accounts *a, const char *user_id, twitch_access_fn cb,
                           void *arg);

static void on_token_looked_up(void *arg, int live)
{
    struct token_lookup *l = arg;
    struct accounts *a = l->a;
    if (!live) /* accounts is gone: answer as its other pending token requests were */
        l->cb(l->arg, NULL, "SEV is stopping");
    else if (map_get(&a->tokens, l->user_id))
        user_token_now(a, l->user_id, l->cb, l->arg);
    else
        defer(a, l->cb, l->arg, NULL, "SEV holds no Twitch token for that user");
    free(l);
}

static void user_token_now(struct accounts *a, const char *user_id, twitch_access_fn cb,
                           void *arg)
{
    struct utok *t = map_get(&a->tokens, user_id);
    if (!t && a->opts.shared_store && !map_get(&a->ended, user_id)) {
        /* the user may have logged in on another node: read the stored tokens once */
        struct token_lookup *l = calloc(1, sizeof *l);
        if (l) {
            *l = (struct token_lookup){.a = a, .cb = cb, .arg = arg};
            snprintf(l->user_id, sizeof l->user_id, "%s", user_id);
            if (accounts_adopt_new_tokens(a, on_token_looked_up, l) == 0)
                return;
            free(l);
        }
    }
    if (!t) {
        defer(a, cb, arg, NULL, "SEV holds no Twitch token for that user");
        return;
    }
    if (token_fresh(a, t) && !t->refreshing) {
        defer(a, cb, arg, t->access, NULL);
        return;
    }
    struct waiter *w = calloc(1, sizeof *w);
    if (!w) {
        defer(a, cb, arg, NULL, "out of memory");
        return;
    }
    w->cb = cb;
    w->arg = arg;
    w->next = t->waiters;
    t->waiters = w;
    utok_refresh(a, t);
}

int accounts_user_token(struct accounts *a, const char *user_id, twitch_access_fn cb, void *arg)
{
    if (!cb || !user_id || !*user_id || strlen(user_id) >= 32 || a->freeing)
        return -1;
    if (!a->loaded) {
        struct early *e = calloc(1, sizeof *e);
        if (!e)
            return -1;
        snprintf(e->user_id, sizeof e->user_id, "%s", user_id);
        e->cb = cb;
        e->arg = arg;
        e->next = a->early;
        a->early = e;
        return 0;
    }
    user_token_now(a, user_id, cb, arg);
    return 0;
}

void accounts_token_rejected(struct accounts *a, const char *user_id, const char *token)
{
    struct utok *t = user_id ? map_get(&a->tokens, user_id) : NULL;
    if (t && token && t->access && strcmp(t->access, token) == 0)
        t->rejected = 1;
}

const char *accounts_user_scopes(struct accounts *a, const char *user_id)
{
    struct utok *t = user_id ? map_get(&a->tokens, user_id) : NULL;
    return t ? t->scopes : NULL;
}

static int provider_get(void *ctx, const char *user_id, twitch_access_fn cb, void *arg)
{
    return accounts_user_token(ctx, user_id, cb, arg);
}

static void provider_rejected(void *ctx, const char *user_id, const char *token)
{
    accounts_token_rejected(ctx, user_id, token);
}

/* ---- validation (start-up and every interval) ---- */

struct validate_job {
    struct accounts *a;
    struct utok *t;
    unsigned gen; /* t->gen when the validation began */
};

static void on_validated(void *arg, const struct twitch_result *r,
                         const struct twitch_validation *v)
{
    struct validate_job *j = arg;
    struct accounts *a = j->a;
    struct utok *t = j->t;
    unsigned gen = j->gen;
    free(j);
    t->validating = 0;
    int dropped = utok_released(t);
    if (acc_returned(a) || dropped || gen != t->gen) /* replaced meanwhile: not about them */
        return;
    if (v) {
        if (v->expires_in_s > 0)
            t->expires_at_us = clock_wall_us() + v->expires_in_s * 1000000;
        if (strcmp(v->user_id, t->user_id) != 0 || strcmp(v->client_id, a->opts.client_id) != 0)
            acc_user_gone(a, t->user_id, "token_of_someone_else");
        return;
    }
    if (r->error == TWITCH_OK && r->status == 401) {
        /* Invalid: plain expiry is cured by a refresh; a revoked grant fails it, and the
         * refresh's failure ends the sessions (Twitch's rule for failed validations). */
        log_info("auth.token_invalid", "user_id=%s action=refresh", t->user_id);
        t->rejected = 1;
        utok_refresh(a, t);
        return;
    }
    log_warn("auth.validate_failed", "user_id=%s status=%d err=\"%s\"", t->user_id, r->status,
             r->message);
}

static void utok_validate(struct accounts *a, struct utok *t)
{
    if (t->validating || t->refreshing || !t->access)
        return;
    struct validate_job *j = calloc(1, sizeof *j);
    if (!j)
        return;
    j->a = a;
    j->t = t;
    j->gen = t->gen;
    if (twitch_oauth_validate(a->tw, t->access, on_validated, j) < 0) {
        free(j);
        return;
    }
    t->validating = 1;
    t->busy++;
    acc_started(a);
}

static void validate_all(struct accounts *a)
{
    const char *k;
    void *v;
    for (size_t i = 0; map_next(&a->tokens, &i, &k, &v);)
        utok_validate(a, v); /* no map change inside: callbacks come later */
    if (store_sessions_delete(a->store, NULL, on_store_done, a) == 0) /* expired sessions */
        acc_started(a);
}

static void on_validate_timer(uv_timer_t *h)
{
    struct accounts *a = h->data;
    log_debug("auth.validate_all", "tokens=%zu", a->tokens.count);
    validate_all(a);
}

/* ---- the app token ---- */

void accounts_app_token_changed(struct accounts *a, const char *token, int64_t expires_at_us)
{
    if (!a || a->freeing)
        return;
    if (!token) {
        if (store_token_delete(a->store, "app", on_store_done, a) == 0)
            acc_started(a);
        return;
    }
    struct store_token st = {0};
    snprintf(st.owner, sizeof st.owner, "app");
    st.expires_at_us = expires_at_us;
    if (tokenbox_seal(a->box, "app", token, strlen(token), &st.sealed, &st.sealed_len) == 0 &&
        store_token_put(a->store, &st, on_store_done, a) == 0)
        acc_started(a);
    free(st.sealed);
}

/* ---- start-up ---- */

static void flush_early(struct accounts *a, const char *error)
{
    struct early *e = a->early;
    a->early = NULL;
    while (e) {
        struct early *next = e->next;
        if (error)
            defer(a, e->cb, e->arg, NULL, error);
        else
            user_token_now(a, e->user_id, e->cb, e->arg);
        free(e);
        e = next;
    }
}

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
    log_info("auth.started", "users_with_tokens=%zu favorites=%zu", a->tokens.count,
             l ? l->count : 0);
    store_favorite_list_free(l);
    if (a->ready)
        a->ready(a->ready_arg);
}

/* Splits "access\nrefresh". */
static int load_one(struct accounts *a, const struct store_token *st)
{
    char *plain = NULL;
    if (tokenbox_open(a->box, st->owner, st->sealed, st->sealed_len, &plain, NULL) < 0)
        return -1;
    if (strcmp(st->owner, "app") == 0) {
        twitch_app_token_seed(a->tw, plain, st->expires_at_us);
        tokenbox_wipe_free(plain);
        return 0;
    }
    char *nl = strchr(plain, '\n');
    int rc = -1;
    if (nl) {
        *nl = 0;
        int64_t left = st->expires_at_us ? (st->expires_at_us - clock_wall_us()) / 1000000 : 0;
        struct utok *t =
            acc_token_set(a, st->owner, plain, nl + 1, left > 0 ? left : 0, st->scopes, 0);
        if (t) {
            t->expires_at_us = st->expires_at_us;
            t->lifetime_s = 0; /* unknown: what is left is not what it was given */
            rc = 0;
        }
        *nl = '\n';
    }
    tokenbox_wipe_free(plain);
    return rc;
}

static void on_tokens(void *arg, int status, struct store_token_list *l)
{
    struct accounts *a = arg;
    if (acc_returned(a)) {
        store_token_list_free(l);
        return;
    }
    if (status < 0)
        log_error("auth.start_failed", "%s", "what=tokens");
    for (size_t i = 0; l && i < l->count; i++) {
        if (load_one(a, &l->items[i]) == 0)
            continue;
        /* sealed with another key (SEV_KEY_FILE changed) or damaged: that grant is lost */
        log_warn("auth.token_unreadable", "owner=%s action=%s", l->items[i].owner,
                 strcmp(l->items[i].owner, "app") == 0 ? "renew" : "log_out");
        if (strcmp(l->items[i].owner, "app") == 0) {
            if (store_token_delete(a->store, "app", on_store_done, a) == 0)
                acc_started(a);
        } else {
            acc_user_gone(a, l->items[i].owner, "token_unreadable");
        }
    }
    store_token_list_free(l);
    a->loaded = 1;
    flush_early(a, NULL);
    validate_all(a); /* Twitch's rule: validate at start-up */
    if (store_favorites_all(a->store, on_favorites, a) == 0) {
        acc_started(a);
    } else if (a->ready) {
        log_error("auth.start_failed", "%s", "what=favorites");
        a->ready(a->ready_arg);
    }
}

struct adopt_call {
    struct accounts *a;
    void (*done)(void *arg, int live);
    void *arg;
};

static void on_new_tokens(void *arg, int status, struct store_token_list *l)
{
    struct adopt_call c = *(struct adopt_call *)arg;
    struct accounts *a = c.a;
    free(arg);
    if (acc_returned(a)) {
        store_token_list_free(l);
        if (c.done)
            c.done(c.arg, 0);
        return;
    }
    size_t adopted = 0;
    for (size_t i = 0; status == 0 && l && i < l->count; i++) {
        const char *owner = l->items[i].owner;
        if (strcmp(owner, "app") == 0 || map_get(&a->tokens, owner) ||
            map_get(&a->ended, owner))
            continue;
        if (load_one(a, &l->items[i]) == 0)
            adopted++;
    }
    if (adopted)
        log_info("auth.tokens_adopted", "users=%zu", adopted);
    store_token_list_free(l);
    if (c.done)
        c.done(c.arg, 1);
}

int accounts_adopt_new_tokens(struct accounts *a, void (*done)(void *arg, int live), void *arg)
{
    if (!a->loaded || a->freeing)
        return -1;
    struct adopt_call *c = malloc(sizeof *c);
    if (!c)
        return -1;
    *c = (struct adopt_call){a, done, arg};
    if (store_tokens_all(a->store, on_new_tokens, c) < 0) {
        free(c);
        return -1;
    }
    acc_started(a);
    return 0;
}

void accounts_set_upkeep(struct accounts *a, int on)
{
    if (!a || a->freeing)
        return;
    if (!on)
        uv_timer_stop(&a->validate_timer);
    else if (!uv_is_active((uv_handle_t *)&a->validate_timer))
        uv_timer_start(&a->validate_timer, on_validate_timer,
                       (uint64_t)a->opts.validate_interval_ms,
                       (uint64_t)a->opts.validate_interval_ms);
}

int accounts_start(struct accounts *a, void (*ready)(void *arg), void *arg)
{
    a->ready = ready;
    a->ready_arg = arg;
    if (store_tokens_all(a->store, on_tokens, a) < 0)
        return -1;
    acc_started(a);
    uv_timer_start(&a->validate_timer, on_validate_timer, (uint64_t)a->opts.validate_interval_ms,
                   (uint64_t)a->opts.validate_interval_ms);
    return 0;
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

static void on_revoked(void *arg, const struct twitch_result *r)
{
    struct accounts *a = arg;
    if (!twitch_ok(r) && r->error != TWITCH_ECANCELED)
        log_warn("auth.revoke_failed", "status=%d err=\"%s\"", r->status, r->message);
    acc_returned(a);
}

void acc_revoke(struct accounts *a, const char *token)
{
    if (token && *token && twitch_oauth_revoke(a->tw, token, on_revoked, a) == 0)
        acc_started(a);
}

/* Revokes the user's access token at Twitch (in the background) and forgets the tokens. */
void acc_revoke_and_forget(struct accounts *a, const char *user_id, const char *reason)
{
    struct utok *t = map_get(&a->tokens, user_id);
    if (t)
        acc_revoke(a, t->access);
    acc_user_gone(a, user_id, reason);
}

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
        acc_revoke_and_forget(a, u->id, "logout"); /* every session of the user goes too */
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
    acc_revoke_and_forget(a, u->id, "account_deleted");
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
    a->box = box;
    snprintf(a->public_url, sizeof a->public_url, "%s", o->public_url);
    snprintf(a->auth_url, sizeof a->auth_url, "%s", o->auth_url);
    snprintf(a->client_id, sizeof a->client_id, "%s", o->client_id);
    a->opts = *o;
    a->opts.public_url = a->public_url;
    a->opts.auth_url = a->auth_url;
    a->opts.client_id = a->client_id;
    if (a->opts.validate_interval_ms <= 0)
        a->opts.validate_interval_ms = DEFAULT_VALIDATE_MS;
    if (a->opts.session_ttl_s <= 0)
        a->opts.session_ttl_s = DEFAULT_SESSION_TTL_S;
    if (a->opts.refresh_margin_s <= 0)
        a->opts.refresh_margin_s = DEFAULT_REFRESH_MARGIN_S;
    if (hooks)
        a->hooks = *hooks;
    map_init(&a->tokens);
    map_init(&a->pending);
    map_init(&a->ended);
    a->deferred_tail = &a->deferred;
    uv_timer_init(loop, &a->defer_timer);
    uv_timer_init(loop, &a->validate_timer);
    a->defer_timer.data = a->validate_timer.data = a;
    uv_unref((uv_handle_t *)&a->validate_timer);
    a->handles_open = 2;
    struct twitch_user_tokens p = {provider_get, provider_rejected, a};
    twitch_set_user_tokens(tw, &p);
    *out = a;
    return 0;
}

void accounts_free(struct accounts *a)
{
    if (!a || a->freeing)
        return;
    a->freeing = 1;
    twitch_set_user_tokens(a->tw, NULL);
    flush_early(a, "shutting down");
    const char *k;
    void *v;
    for (size_t i = 0; map_next(&a->tokens, &i, &k, &v);) {
        struct utok *t = v;
        flush_waiters(a, t, "shutting down");
        if (t->busy)
            t->gone = 1; /* its refresh/validation frees it when it returns */
        else
            utok_free(t);
    }
    run_deferred(a); /* every owed callback, now, with its token or error */
    uv_close((uv_handle_t *)&a->defer_timer, on_handle_closed);
    uv_close((uv_handle_t *)&a->validate_timer, on_handle_closed);
}
