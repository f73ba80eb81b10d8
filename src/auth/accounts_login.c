/* accounts_login.c: the authorization-code flow (see accounts.h for the picture).
 *
 * finish: state checked (cookie hash, constant time; pending, single use) → code exchanged →
 * token validated (whose, which scopes, our client id) → tokens kept (memory + sealed) →
 * profile (Get Users with the new token) → user stored → old session deleted → new session
 * stored → hooks.on_user_authorized → cb(OK, session id). */
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/accounts_int.h"
#include "base/clock.h"
#include "base/defer.h"
#include "base/log.h"
#include "base/rand.h"

static void hex_sha256(const char *s, char out[65])
{
    unsigned char d[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)s, strlen(s), d);
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void pending_purge(struct accounts *a)
{
    int64_t now = clock_mono_us();
    const char *k;
    void *v;
    char *expired[64];
    size_t n = 0;
    for (size_t i = 0; n < 64 && map_next(&a->pending, &i, &k, &v);)
        if (((struct pending_login *)v)->expires_us < now)
            expired[n++] = strdup(k);
    for (size_t i = 0; i < n; i++) {
        if (expired[i])
            free(map_remove(&a->pending, expired[i]));
        free(expired[i]);
    }
}

/* The set is full of unfinished logins (a flood: nobody starts 10000 logins in 10 minutes):
 * the oldest gives way, so the set stays bounded and new logins keep working. */
static void pending_evict_oldest(struct accounts *a)
{
    const char *k, *oldest = NULL;
    void *v;
    int64_t min = INT64_MAX;
    for (size_t i = 0; map_next(&a->pending, &i, &k, &v);) {
        if (((struct pending_login *)v)->expires_us < min) {
            min = ((struct pending_login *)v)->expires_us;
            oldest = k;
        }
    }
    if (!oldest)
        return;
    char key[65];
    snprintf(key, sizeof key, "%s", oldest); /* map_remove frees the map's copy */
    free(map_remove(&a->pending, key));
    int64_t now = clock_mono_us();
    if (now - a->flood_logged_us > INT64_C(60000000)) {
        a->flood_logged_us = now;
        log_warn("auth.login_flood", "pending=%zu action=evict_oldest", a->pending.count);
    }
}

int accounts_login_begin(struct accounts *a, int broadcaster, struct accounts_login *out)
{
    memset(out, 0, sizeof *out);
    if (a->freeing)
        return -1;
    if (a->pending.count >= LOGIN_PENDING_MAX / 2)
        pending_purge(a);
    while (a->pending.count >= LOGIN_PENDING_MAX)
        pending_evict_oldest(a);
    char state[65];
    if (rand_hex(out->state_cookie, 32) < 0)
        return -1;
    hex_sha256(out->state_cookie, state);
    struct pending_login *p = calloc(1, sizeof *p);
    if (!p)
        return -1;
    p->expires_us = clock_mono_us() + LOGIN_STATE_TTL_US;
    p->broadcaster = broadcaster;
    if (map_put(&a->pending, state, p) < 0) {
        free(p);
        return -1;
    }
    struct buf b;
    buf_init(&b, 4096);
    char redirect[300];
    snprintf(redirect, sizeof redirect, "%s/auth/callback", a->public_url);
    const char *scopes = broadcaster ? SCOPES_VIEWER " " SCOPES_BROADCASTER : SCOPES_VIEWER;
    int bad = buf_printf(&b, "%s/authorize?response_type=code&client_id=", a->auth_url) |
              buf_urlencode(&b, a->client_id) | buf_puts(&b, "&redirect_uri=") |
              buf_urlencode(&b, redirect) | buf_puts(&b, "&scope=") | buf_urlencode(&b, scopes) |
              buf_puts(&b, "&state=") | buf_puts(&b, state);
    if (bad || !(out->location = buf_detach(&b, NULL))) {
        buf_release(&b);
        free(map_remove(&a->pending, state));
        return -1;
    }
    return 0;
}

/* ---- finish ---- */

struct login_job {
    struct accounts *a;
    accounts_login_fn cb;
    void *arg;
    int outcome;
    char old_session[ACCOUNTS_COOKIE_LEN];
    char user_id[32];
    char login[32];
    char session[ACCOUNTS_COOKIE_LEN];
    unsigned char key[STORE_SESSION_KEY_LEN];
    struct store_user user;
};

static void job_end(struct login_job *j, int outcome)
{
    struct accounts *a = j->a;
    if (outcome != ACCOUNTS_LOGIN_OK)
        log_info("auth.login_failed", "outcome=%d user_id=%s", outcome,
                 j->user_id[0] ? j->user_id : "-");
    j->cb(j->arg, outcome, outcome == ACCOUNTS_LOGIN_OK ? j->session : NULL);
    OPENSSL_cleanse(j->session, sizeof j->session);
    free(j);
    (void)a;
}

static void on_session_stored(void *arg, int status)
{
    struct login_job *j = arg;
    struct accounts *a = j->a;
    if (acc_returned(a)) {
        free(j);
        return;
    }
    if (status < 0) {
        job_end(j, ACCOUNTS_LOGIN_FAILED);
        return;
    }
    log_info("auth.login", "user_id=%s login=%s", j->user_id, j->login);
    if (a->hooks.on_user_authorized)
        a->hooks.on_user_authorized(a->hooks.arg, j->user_id);
    job_end(j, ACCOUNTS_LOGIN_OK);
}

static void on_old_session_gone(void *arg, int status)
{
    struct accounts *a = arg;
    acc_returned(a);
}

static void on_user_stored(void *arg, int status)
{
    struct login_job *j = arg;
    struct accounts *a = j->a;
    if (acc_returned(a)) {
        free(j);
        return;
    }
    if (status < 0) {
        job_end(j, ACCOUNTS_LOGIN_FAILED);
        return;
    }
    unsigned char old[STORE_SESSION_KEY_LEN];
    if (j->old_session[0] && acc_session_key(j->old_session, old) == 0 &&
        store_session_delete(a->store, old, on_old_session_gone, a) == 0)
        acc_started(a); /* rotation: the browser's previous session ends */
    if (acc_new_session(j->session, j->key) < 0 ||
        store_session_put(a->store, j->key, j->user_id,
                          clock_wall_us() + a->opts.session_ttl_s * 1000000, on_session_stored,
                          j) < 0) {
        job_end(j, ACCOUNTS_LOGIN_FAILED);
        return;
    }
    acc_started(a);
}

static void on_profile(void *arg, const struct twitch_result *r, const struct twitch_user *u,
                       size_t n)
{
    struct login_job *j = arg;
    struct accounts *a = j->a;
    if (acc_returned(a)) {
        free(j);
        return;
    }
    struct store_user *su = &j->user;
    snprintf(su->id, sizeof su->id, "%s", j->user_id);
    snprintf(su->login, sizeof su->login, "%s", j->login);
    if (n >= 1 && strcmp(u[0].id, j->user_id) == 0) {
        snprintf(su->login, sizeof su->login, "%s", u[0].login);
        snprintf(su->display_name, sizeof su->display_name, "%s", u[0].display_name);
        snprintf(su->profile_image_url, sizeof su->profile_image_url, "%s",
                 u[0].profile_image_url);
    } else {
        /* no profile: the login from /validate will do until the next login */
        log_warn("auth.profile_failed", "user_id=%s status=%d err=\"%s\"", j->user_id,
                 r->status, r->message);
    }
    if (store_user_put(a->store, su, on_user_stored, j) < 0) {
        job_end(j, ACCOUNTS_LOGIN_FAILED);
        return;
    }
    acc_started(a);
}

static int outcome_of(const struct twitch_result *r)
{
    if (r->error == TWITCH_ENET || r->error == TWITCH_ETIMEOUT)
        return ACCOUNTS_LOGIN_UNAVAILABLE;
    if (r->error == TWITCH_OK && r->status >= 500)
        return ACCOUNTS_LOGIN_UNAVAILABLE;
    return ACCOUNTS_LOGIN_FAILED;
}

struct login_token_job {
    struct login_job *j;
    char *access;  /* owned, wiped */
    char *refresh; /* owned, wiped */
    int64_t expires_in_s;
};

static void token_job_free(struct login_token_job *tj)
{
    tokenbox_wipe_free(tj->access);
    tokenbox_wipe_free(tj->refresh);
    free(tj);
}

static void on_validated(void *arg, const struct twitch_result *r,
                         const struct twitch_validation *v)
{
    struct login_token_job *tj = arg;
    struct login_job *j = tj->j;
    struct accounts *a = j->a;
    if (acc_returned(a)) {
        token_job_free(tj);
        free(j);
        return;
    }
    if (!v || !v->user_id[0] || strcmp(v->client_id, a->client_id) != 0 ||
        strlen(v->user_id) >= sizeof j->user_id) {
        log_warn("auth.validate_failed", "at=login status=%d err=\"%s\"", r->status, r->message);
        token_job_free(tj);
        job_end(j, v ? ACCOUNTS_LOGIN_FAILED : outcome_of(r));
        return;
    }
    snprintf(j->user_id, sizeof j->user_id, "%s", v->user_id);
    snprintf(j->login, sizeof j->login, "%s", v->login);
    /* kept and stored; a different token the user had (another browser) is revoked */
    int rc = tokens_set_user(a->tokens, j->user_id, tj->access, tj->refresh,
                             v->expires_in_s > 0 ? v->expires_in_s : tj->expires_in_s, v->scopes);
    token_job_free(tj);
    if (rc < 0) {
        job_end(j, ACCOUNTS_LOGIN_FAILED);
        return;
    }
    if (twitch_get_users(a->tw, j->user_id, NULL, 0, NULL, 0, on_profile, j) < 0) {
        job_end(j, ACCOUNTS_LOGIN_FAILED);
        return;
    }
    acc_started(a);
}

static void on_code(void *arg, const struct twitch_result *r, const struct twitch_token *tok)
{
    struct login_job *j = arg;
    struct accounts *a = j->a;
    if (acc_returned(a)) {
        free(j);
        return;
    }
    if (!tok) {
        log_warn("auth.code_refused", "status=%d err=\"%s\"", r->status, r->message);
        /* 400: a bad, used or expired code — the request was bad, as a bad state is */
        job_end(j, r->error == TWITCH_OK && r->status >= 400 && r->status < 500
                       ? ACCOUNTS_LOGIN_BAD_REQUEST
                       : outcome_of(r));
        return;
    }
    struct login_token_job *tj = calloc(1, sizeof *tj);
    if (tj) {
        tj->j = j;
        tj->access = strdup(tok->access_token);
        tj->refresh = strdup(tok->refresh_token);
        tj->expires_in_s = tok->expires_in_s;
    }
    if (!tj || !tj->access || !tj->refresh ||
        twitch_oauth_validate(a->tw, tok->access_token, on_validated, tj) < 0) {
        if (tj)
            token_job_free(tj);
        job_end(j, ACCOUNTS_LOGIN_FAILED);
        return;
    }
    acc_started(a);
}

static void on_end_turn(void *arg)
{
    struct login_job *j = arg;
    struct accounts *a = j->a;
    int outcome = j->outcome;
    if (acc_returned(a)) {
        free(j);
        return;
    }
    job_end(j, outcome);
}

/* Answers an outcome decided without any call, on a later turn. 0, or -1 when out of memory
 * (j is freed then: the caller answers at once). */
static int end_later(struct login_job *j, int outcome)
{
    j->outcome = outcome;
    if (defer_call(j->a->loop, on_end_turn, j) < 0) {
        free(j);
        return -1;
    }
    acc_started(j->a);
    return 0;
}

/* Checks the state against its cookie and takes it out of the pending set. 0 if good. */
static int take_state(struct accounts *a, const char *state, const char *cookie, int *broadcaster)
{
    if (!state || !cookie || strlen(state) != 64 || strlen(cookie) != 64)
        return -1;
    char want[65];
    hex_sha256(cookie, want);
    if (CRYPTO_memcmp(want, state, 64) != 0)
        return -1;
    struct pending_login *p = map_remove(&a->pending, want);
    if (!p)
        return -1; /* never issued, already used, or forgotten */
    int ok = p->expires_us >= clock_mono_us();
    *broadcaster = p->broadcaster;
    free(p);
    return ok ? 0 : -1;
}

int accounts_login_finish(struct accounts *a, const char *state, const char *state_cookie,
                          const char *code, const char *error, const char *old_session,
                          accounts_login_fn cb, void *arg)
{
    if (!cb || a->freeing)
        return -1;
    struct login_job *j = calloc(1, sizeof *j);
    if (!j)
        return -1;
    j->a = a;
    j->cb = cb;
    j->arg = arg;
    if (old_session && strlen(old_session) < sizeof j->old_session)
        snprintf(j->old_session, sizeof j->old_session, "%s", old_session);
    int broadcaster = 0;
    if (take_state(a, state, state_cookie, &broadcaster) < 0)
        return end_later(j, ACCOUNTS_LOGIN_BAD_REQUEST);
    log_debug("auth.callback", "broadcaster=%d", broadcaster);
    if (error && *error)
        return end_later(j, strcmp(error, "access_denied") == 0 ? ACCOUNTS_LOGIN_DENIED
                                                                : ACCOUNTS_LOGIN_FAILED);
    if (!code || !*code || strlen(code) > 512)
        return end_later(j, ACCOUNTS_LOGIN_BAD_REQUEST);
    char redirect[300];
    snprintf(redirect, sizeof redirect, "%s/auth/callback", a->public_url);
    if (twitch_oauth_code(a->tw, code, redirect, on_code, j) < 0)
        return end_later(j, ACCOUNTS_LOGIN_FAILED);
    acc_started(a);
    return 0;
}
