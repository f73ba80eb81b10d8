/* tokens.c: user tokens in memory, their refresh and validation, the start-up load and the
 * adoption of tokens stored by other nodes; the token provider the twitch client calls; the
 * module's lifetime. The app token is in tokens_app.c.
 *
 * Lifetime (tokens_life.c): every store or Twitch call made here counts in tk->inflight; its
 * callback first calls tk_returned(tk), which frees the struct once tokens_free has run and
 * nothing is left.
 * Token callbacks owed to others are never called inside the call that asked (a one-shot
 * timer delivers them), and at free they are all called with an error. */
#include "auth/tokens_int.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/log.h"

#define DEFAULT_VALIDATE_MS INT64_C(3600000)
#define DEFAULT_REFRESH_MARGIN_S 300

static void on_revoked(void *arg, const struct twitch_result *r)
{
    struct tokens *tk = arg;
    if (!twitch_ok(r) && r->error != TWITCH_ECANCELED)
        log_warn("auth.revoke_failed", "status=%d err=\"%s\"", r->status, r->message);
    tk_returned(tk);
}

/* Revokes an access token at Twitch in the background (the string is copied at once). */
void tk_revoke(struct tokens *tk, const char *token)
{
    if (token && *token && twitch_oauth_revoke(tk->tw, token, on_revoked, tk) == 0)
        tk_started(tk);
}

/* ---- deferred callbacks ---- */

/* ---- tokens in memory ---- */

static void flush_waiters(struct tokens *tk, struct utok *t, const char *error)
{
    struct tk_waiter *w = t->waiters;
    t->waiters = NULL;
    while (w) {
        struct tk_waiter *next = w->next;
        tk_defer_answer(tk, w->cb, w->arg, error ? NULL : t->access, error);
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

/* Seals and stores t (fire and forget: the memory copy is what SEV uses meanwhile). */
static void utok_persist(struct tokens *tk, struct utok *t)
{
    struct buf plain;
    buf_init(&plain, 16384);
    struct store_token st = {0};
    snprintf(st.owner, sizeof st.owner, "%s", t->user_id);
    snprintf(st.scopes, sizeof st.scopes, "%s", t->scopes);
    st.expires_at_us = t->expires_at_us;
    if (buf_printf(&plain, "%s\n%s", t->access, t->refresh ? t->refresh : "") == 0 &&
        tokenbox_seal(tk->box, t->user_id, plain.data, plain.len, &st.sealed, &st.sealed_len) ==
            0) {
        if (store_token_put(tk->store, &st, tk_on_store_done, tk) == 0)
            tk_started(tk);
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
static struct utok *utok_set(struct tokens *tk, const char *user_id, const char *access,
                             const char *refresh, int64_t expires_in_s, const char *scopes,
                             int persist)
{
    struct utok *t = map_get(&tk->users, user_id);
    if (!t) {
        t = calloc(1, sizeof *t);
        if (!t || map_put(&tk->users, user_id, t) < 0) {
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
        utok_persist(tk, t);
    return t;
}

/* The grant is over: forget the tokens (waiters get an error), delete the stored ones, tell
 * accounts (which ends the user's sessions). */
static void grant_end(struct tokens *tk, const char *user_id, const char *reason)
{
    char id[32];
    snprintf(id, sizeof id, "%s", user_id); /* user_id may point into the utok */
    struct utok *t = map_remove(&tk->users, id);
    if (t) {
        flush_waiters(tk, t, "the user's Twitch authorization has ended");
        if (t->busy) /* a refresh or validation holds it: it frees t when it returns */
            t->gone = 1;
        else
            utok_free(t);
    }
    log_info("auth.grant_ended", "user_id=%s reason=%s", id, reason);
    if (store_token_delete(tk->store, id, tk_on_store_done, tk) == 0)
        tk_started(tk);
    if (tk->hooks.on_grant_ended)
        tk->hooks.on_grant_ended(tk->hooks.arg, id, reason);
}

void tokens_end_grant(struct tokens *tk, const char *user_id, const char *reason, int revoke)
{
    struct utok *t = map_get(&tk->users, user_id);
    if (t && revoke)
        tk_revoke(tk, t->access);
    grant_end(tk, user_id, reason);
}

static int grant_ending(const struct tokens *tk, const char *user_id)
{
    return tk->hooks.grant_ending && tk->hooks.grant_ending(tk->hooks.arg, user_id);
}

static int token_fresh(const struct tokens *tk, const struct utok *t)
{
    if (t->rejected || !t->access || !*t->access)
        return 0;
    if (!t->expires_at_us)
        return 1;
    /* refresh ahead of expiry, but a token that lives less than the margin is used for a
     * quarter of its life rather than refreshed at every use */
    int64_t margin_us = tk->opts.refresh_margin_s * 1000000;
    if (t->lifetime_s > 0 && t->lifetime_s * 250000 < margin_us)
        margin_us = t->lifetime_s * 250000;
    return t->expires_at_us - clock_wall_us() > margin_us;
}

/* ---- refresh ---- */

struct refresh_job {
    struct tokens *tk;
    struct utok *t;
    unsigned gen; /* t->gen when the refresh began */
};

static void utok_refresh(struct tokens *tk, struct utok *t);

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
    struct tokens *tk = j->tk;
    struct utok *t = j->t;
    unsigned gen = j->gen;
    free(j);
    t->refreshing = 0;
    int dropped = utok_released(t);
    if (tk_returned(tk) || dropped)
        return;
    if (gen != t->gen) {
        /* the tokens were replaced meanwhile (a new login): this answer is about the old
         * grant; the waiters get the new token */
        if (token_fresh(tk, t))
            flush_waiters(tk, t, NULL);
        else if (t->waiters)
            utok_refresh(tk, t);
        return;
    }
    if (tok) {
        utok_set(tk, t->user_id, tok->access_token,
                 tok->refresh_token[0] ? tok->refresh_token : t->refresh, tok->expires_in_s,
                 tok->scopes[0] ? tok->scopes : NULL, 1);
        log_info("auth.token_refreshed", "user_id=%s expires_in_s=%lld", t->user_id,
                 (long long)tok->expires_in_s);
        flush_waiters(tk, t, NULL);
        return;
    }
    if (r->error == TWITCH_OK && r->status >= 400 && r->status < 500) {
        /* "Invalid refresh token": the grant is dead (twitch-platform.md 1.5) */
        grant_end(tk, t->user_id, "refresh_refused");
        return;
    }
    log_warn("auth.refresh_failed", "user_id=%s status=%d err=\"%s\"", t->user_id, r->status,
             r->message);
    flush_waiters(tk, t, "Twitch did not answer the token refresh");
}

static void utok_refresh(struct tokens *tk, struct utok *t)
{
    if (t->refreshing)
        return;
    struct refresh_job *j = calloc(1, sizeof *j);
    if (j && t->refresh && *t->refresh) {
        j->tk = tk;
        j->t = t;
        j->gen = t->gen;
        if (twitch_oauth_refresh(tk->tw, t->refresh, on_refreshed, j) == 0) {
            t->refreshing = 1;
            t->busy++;
            tk_started(tk);
            return;
        }
    }
    free(j);
    if (!t->refresh || !*t->refresh)
        grant_end(tk, t->user_id, "no_refresh_token");
    else
        flush_waiters(tk, t, "cannot refresh the token");
}

/* ---- the token provider ---- */

struct token_lookup {
    struct tokens *tk;
    char user_id[32];
    twitch_access_fn cb;
    void *arg;
};

static void user_token_now(struct tokens *tk, const char *user_id, twitch_access_fn cb, void *arg);

static void on_token_looked_up(void *arg, int live)
{
    struct token_lookup *l = arg;
    struct tokens *tk = l->tk;
    if (!live) /* tokens is gone: answer as its other pending token requests were */
        l->cb(l->arg, NULL, "SEV is stopping");
    else if (map_get(&tk->users, l->user_id))
        user_token_now(tk, l->user_id, l->cb, l->arg);
    else
        tk_defer_answer(tk, l->cb, l->arg, NULL, "SEV holds no Twitch token for that user");
    free(l);
}

static void user_token_now(struct tokens *tk, const char *user_id, twitch_access_fn cb, void *arg)
{
    struct utok *t = map_get(&tk->users, user_id);
    if (!t && tk->opts.shared_store && !grant_ending(tk, user_id)) {
        /* the user may have logged in on another node: read the stored tokens once */
        struct token_lookup *l = calloc(1, sizeof *l);
        if (l) {
            *l = (struct token_lookup){.tk = tk, .cb = cb, .arg = arg};
            snprintf(l->user_id, sizeof l->user_id, "%s", user_id);
            if (tokens_adopt_new(tk, on_token_looked_up, l) == 0)
                return;
            free(l);
        }
    }
    if (!t) {
        tk_defer_answer(tk, cb, arg, NULL, "SEV holds no Twitch token for that user");
        return;
    }
    if (token_fresh(tk, t) && !t->refreshing) {
        tk_defer_answer(tk, cb, arg, t->access, NULL);
        return;
    }
    struct tk_waiter *w = calloc(1, sizeof *w);
    if (!w) {
        tk_defer_answer(tk, cb, arg, NULL, "out of memory");
        return;
    }
    w->cb = cb;
    w->arg = arg;
    w->next = t->waiters;
    t->waiters = w;
    utok_refresh(tk, t);
}

int tokens_user(struct tokens *tk, const char *user_id, twitch_access_fn cb, void *arg)
{
    if (!cb || !user_id || !*user_id || strlen(user_id) >= 32 || tk->freeing)
        return -1;
    if (!tk->loaded) {
        struct tk_early *e = calloc(1, sizeof *e);
        if (!e)
            return -1;
        snprintf(e->user_id, sizeof e->user_id, "%s", user_id);
        e->cb = cb;
        e->arg = arg;
        e->next = tk->early;
        tk->early = e;
        return 0;
    }
    user_token_now(tk, user_id, cb, arg);
    return 0;
}

void tokens_rejected(struct tokens *tk, const char *user_id, const char *token)
{
    if (!user_id) {
        tk_app_rejected(tk, token);
        return;
    }
    struct utok *t = user_id ? map_get(&tk->users, user_id) : NULL;
    if (t && token && t->access && strcmp(t->access, token) == 0)
        t->rejected = 1;
}

const char *tokens_user_scopes(const struct tokens *tk, const char *user_id)
{
    struct utok *t = user_id ? map_get(&tk->users, user_id) : NULL;
    return t ? t->scopes : NULL;
}

size_t tokens_user_count(const struct tokens *tk)
{
    return tk->users.count;
}

int tokens_has_user(const struct tokens *tk, const char *user_id)
{
    return user_id && map_get(&tk->users, user_id) != NULL;
}

int tokens_set_user(struct tokens *tk, const char *user_id, const char *access, const char *refresh,
                    int64_t expires_in_s, const char *scopes)
{
    if (tk->freeing || !user_id || !*user_id || strlen(user_id) >= 32 || !access)
        return -1;
    /* the user logged in again (another browser): SEV keeps one token per user, so the one
     * it replaces is revoked rather than left valid at Twitch and forgotten here */
    struct utok *old = map_get(&tk->users, user_id);
    if (old && old->access && strcmp(old->access, access) != 0)
        tk_revoke(tk, old->access);
    return utok_set(tk, user_id, access, refresh, expires_in_s, scopes, 1) ? 0 : -1;
}

/* The twitch client's token provider: as_user NULL is the app token. */
static int provider_get(void *ctx, const char *as_user, twitch_access_fn cb, void *arg)
{
    return as_user ? tokens_user(ctx, as_user, cb, arg) : tokens_app(ctx, cb, arg);
}

static void provider_rejected(void *ctx, const char *as_user, const char *token)
{
    tokens_rejected(ctx, as_user, token);
}

/* ---- validation (start-up and every interval) ---- */

struct validate_job {
    struct tokens *tk;
    struct utok *t;
    unsigned gen; /* t->gen when the validation began */
};

static void on_validated(void *arg, const struct twitch_result *r,
                         const struct twitch_validation *v)
{
    struct validate_job *j = arg;
    struct tokens *tk = j->tk;
    struct utok *t = j->t;
    unsigned gen = j->gen;
    free(j);
    t->validating = 0;
    int dropped = utok_released(t);
    if (tk_returned(tk) || dropped || gen != t->gen) /* replaced meanwhile: not about them */
        return;
    if (v) {
        if (v->expires_in_s > 0)
            t->expires_at_us = clock_wall_us() + v->expires_in_s * 1000000;
        if (strcmp(v->user_id, t->user_id) != 0 || strcmp(v->client_id, tk->opts.client_id) != 0)
            grant_end(tk, t->user_id, "token_of_someone_else");
        return;
    }
    if (r->error == TWITCH_OK && r->status == 401) {
        /* Invalid: plain expiry is cured by a refresh; a revoked grant fails it, and the
         * refresh's failure ends the sessions (Twitch's rule for failed validations). */
        log_info("auth.token_invalid", "user_id=%s action=refresh", t->user_id);
        t->rejected = 1;
        utok_refresh(tk, t);
        return;
    }
    log_warn("auth.validate_failed", "user_id=%s status=%d err=\"%s\"", t->user_id, r->status,
             r->message);
}

static void utok_validate(struct tokens *tk, struct utok *t)
{
    if (t->validating || t->refreshing || !t->access)
        return;
    struct validate_job *j = calloc(1, sizeof *j);
    if (!j)
        return;
    j->tk = tk;
    j->t = t;
    j->gen = t->gen;
    if (twitch_oauth_validate(tk->tw, t->access, on_validated, j) < 0) {
        free(j);
        return;
    }
    t->validating = 1;
    t->busy++;
    tk_started(tk);
}

static void validate_all(struct tokens *tk)
{
    const char *k;
    void *v;
    for (size_t i = 0; map_next(&tk->users, &i, &k, &v);)
        utok_validate(tk, v); /* no map change inside: callbacks come later */
    if (tk->hooks.on_upkeep)
        tk->hooks.on_upkeep(tk->hooks.arg);
}

static void on_validate_timer(uv_timer_t *h)
{
    struct tokens *tk = h->data;
    log_debug("auth.validate_all", "tokens=%zu", tk->users.count);
    validate_all(tk);
}

/* ---- start-up ---- */

static void flush_early(struct tokens *tk, const char *error)
{
    struct tk_early *e = tk->early;
    tk->early = NULL;
    while (e) {
        struct tk_early *next = e->next;
        if (error)
            tk_defer_answer(tk, e->cb, e->arg, NULL, error);
        else
            user_token_now(tk, e->user_id, e->cb, e->arg);
        free(e);
        e = next;
    }
}

/* Splits "access\nrefresh". */
static int load_one(struct tokens *tk, const struct store_token *st)
{
    char *plain = NULL;
    if (tokenbox_open(tk->box, st->owner, st->sealed, st->sealed_len, &plain, NULL) < 0)
        return -1;
    if (strcmp(st->owner, "app") == 0) {
        tk_app_seed(tk, plain, st->expires_at_us);
        tokenbox_wipe_free(plain);
        return 0;
    }
    char *nl = strchr(plain, '\n');
    int rc = -1;
    if (nl) {
        *nl = 0;
        int64_t left = st->expires_at_us ? (st->expires_at_us - clock_wall_us()) / 1000000 : 0;
        struct utok *t = utok_set(tk, st->owner, plain, nl + 1, left > 0 ? left : 0, st->scopes, 0);
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
    struct tokens *tk = arg;
    if (tk_returned(tk)) {
        store_token_list_free(l);
        return;
    }
    if (status < 0)
        log_error("auth.start_failed", "%s", "what=tokens");
    for (size_t i = 0; l && i < l->count; i++) {
        if (load_one(tk, &l->items[i]) == 0)
            continue;
        /* sealed with another key (SEV_KEY_FILE changed) or damaged: that grant is lost */
        log_warn("auth.token_unreadable", "owner=%s action=%s", l->items[i].owner,
                 strcmp(l->items[i].owner, "app") == 0 ? "renew" : "log_out");
        if (strcmp(l->items[i].owner, "app") == 0) {
            if (store_token_delete(tk->store, "app", tk_on_store_done, tk) == 0)
                tk_started(tk);
        } else {
            grant_end(tk, l->items[i].owner, "token_unreadable");
        }
    }
    store_token_list_free(l);
    tk->loaded = 1;
    flush_early(tk, NULL);
    validate_all(tk); /* Twitch's rule: validate at start-up */
    if (tk->loaded_cb)
        tk->loaded_cb(tk->loaded_arg);
}

struct adopt_call {
    struct tokens *tk;
    void (*done)(void *arg, int live);
    void *arg;
};

static void on_new_tokens(void *arg, int status, struct store_token_list *l)
{
    struct adopt_call c = *(struct adopt_call *)arg;
    struct tokens *tk = c.tk;
    free(arg);
    if (tk_returned(tk)) {
        store_token_list_free(l);
        if (c.done)
            c.done(c.arg, 0);
        return;
    }
    size_t adopted = 0;
    for (size_t i = 0; status == 0 && l && i < l->count; i++) {
        const char *owner = l->items[i].owner;
        if (strcmp(owner, "app") == 0 || map_get(&tk->users, owner) || grant_ending(tk, owner))
            continue;
        if (load_one(tk, &l->items[i]) == 0)
            adopted++;
    }
    if (adopted)
        log_info("auth.tokens_adopted", "users=%zu", adopted);
    store_token_list_free(l);
    if (c.done)
        c.done(c.arg, 1);
}

int tokens_adopt_new(struct tokens *tk, void (*done)(void *arg, int live), void *arg)
{
    if (!tk->loaded || tk->freeing)
        return -1;
    struct adopt_call *c = malloc(sizeof *c);
    if (!c)
        return -1;
    *c = (struct adopt_call){tk, done, arg};
    if (store_tokens_all(tk->store, on_new_tokens, c) < 0) {
        free(c);
        return -1;
    }
    tk_started(tk);
    return 0;
}

void tokens_set_upkeep(struct tokens *tk, int on)
{
    if (!tk || tk->freeing)
        return;
    if (!on)
        uv_timer_stop(&tk->validate_timer);
    else if (!uv_is_active((uv_handle_t *)&tk->validate_timer))
        uv_timer_start(&tk->validate_timer, on_validate_timer,
                       (uint64_t)tk->opts.validate_interval_ms,
                       (uint64_t)tk->opts.validate_interval_ms);
}

int tokens_start(struct tokens *tk, void (*loaded)(void *arg), void *arg)
{
    if (tk->freeing)
        return -1;
    tk->loaded_cb = loaded;
    tk->loaded_arg = arg;
    if (store_tokens_all(tk->store, on_tokens, tk) < 0)
        return -1;
    tk_started(tk);
    uv_timer_start(&tk->validate_timer, on_validate_timer, (uint64_t)tk->opts.validate_interval_ms,
                   (uint64_t)tk->opts.validate_interval_ms);
    return 0;
}

/* ---- new and free ---- */

int tokens_new(uv_loop_t *loop, struct store *st, struct twitch *tw, struct tokenbox *box,
               const struct tokens_options *o, const struct tokens_hooks *hooks,
               struct tokens **out, struct err *err)
{
    *out = NULL;
    if (!o || !o->client_id || !tw || !box || !st)
        return err_set(err, "tokens: missing options");
    struct tokens *tk = calloc(1, sizeof *tk);
    if (!tk)
        return err_set(err, "out of memory");
    tk->loop = loop;
    tk->store = st;
    tk->tw = tw;
    tk->box = box;
    snprintf(tk->client_id, sizeof tk->client_id, "%s", o->client_id);
    tk->opts = *o;
    tk->opts.client_id = tk->client_id;
    if (tk->opts.validate_interval_ms <= 0)
        tk->opts.validate_interval_ms = DEFAULT_VALIDATE_MS;
    if (tk->opts.refresh_margin_s <= 0)
        tk->opts.refresh_margin_s = DEFAULT_REFRESH_MARGIN_S;
    if (hooks)
        tk->hooks = *hooks;
    map_init(&tk->users);
    tk->deferred_tail = &tk->deferred;
    defer_init(&tk->defer, loop, tk_run_deferred, tk);
    uv_timer_init(loop, &tk->validate_timer);
    tk->validate_timer.data = tk;
    uv_unref((uv_handle_t *)&tk->validate_timer);
    tk->handles_open = 2;
    tk_app_init(tk);
    struct twitch_token_provider p = {provider_get, provider_rejected, tk};
    twitch_set_token_provider(tw, &p);
    *out = tk;
    return 0;
}

void tokens_free(struct tokens *tk)
{
    if (!tk || tk->freeing)
        return;
    tk->freeing = 1;
    twitch_set_token_provider(tk->tw, NULL);
    flush_early(tk, "shutting down");
    const char *k;
    void *v;
    for (size_t i = 0; map_next(&tk->users, &i, &k, &v);) {
        struct utok *t = v;
        flush_waiters(tk, t, "shutting down");
        if (t->busy)
            t->gone = 1; /* its refresh/validation frees it when it returns */
        else
            utok_free(t);
    }
    tk_app_release(tk);
    tk_run_deferred(tk); /* every owed callback, now, with its token or error */
    defer_release(&tk->defer, tk_on_handle_closed);
    uv_close((uv_handle_t *)&tk->validate_timer, tk_on_handle_closed);
}
