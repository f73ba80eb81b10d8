/* tokens_app.c: the app access token (client credentials). One cached token; requests for it
 * queue while one fetch runs; it is fetched again when near expiry, after a 401, or when the
 * validation (at start-up for a stored one, then every interval, on every node) refuses it.
 * Every change is sealed into the store (owner "app") so it survives restarts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/tokens_int.h"
#include "base/clock.h"
#include "base/log.h"

static void app_fetch(struct tokens *tk);

/* Serves every waiter now (the callers are the queued turn or Twitch callbacks: never inside the
 * call that queued them). */
static void app_flush(struct tokens *tk, const char *error)
{
    struct app_tok *a = &tk->app;
    struct tk_waiter *w = a->waiters;
    a->waiters = NULL;
    a->waiters_tail = &a->waiters;
    while (w) {
        struct tk_waiter *next = w->next;
        w->cb(w->arg, error ? NULL : a->token, error ? error : NULL);
        free(w);
        w = next;
    }
}

static int app_fresh(const struct app_tok *a)
{
    if (!a->token)
        return 0;
    int64_t left = a->expires_at_us - clock_wall_us();
    int64_t margin = a->lifetime_us / 10;
    if (margin > INT64_C(3600000000) || margin <= 0)
        margin = INT64_C(3600000000);
    if (a->expires_at_us == 0) /* unknown: trust it until a 401 */
        return 1;
    return left > margin;
}

/* The turn tokens_app queued: serves the waiters, or fetches a token for them. */
static void app_turn(struct tokens *tk)
{
    tk->app.turn_queued = 0;
    if (tk->freeing)
        return; /* tk_app_release has answered the waiters */
    if (app_fresh(&tk->app))
        app_flush(tk, NULL);
    else if (!tk->app.fetching)
        app_fetch(tk);
}

/* Seals and stores the app token, or deletes the stored one (fire and forget). */
static void app_persist(struct tokens *tk)
{
    struct app_tok *a = &tk->app;
    if (!a->token) {
        if (store_token_delete(tk->store, "app", tk_on_store_done, tk) == 0)
            tk_started(tk);
        return;
    }
    struct store_token st = {0};
    snprintf(st.owner, sizeof st.owner, "app");
    st.expires_at_us = a->expires_at_us;
    if (tokenbox_seal(tk->box, "app", a->token, strlen(a->token), &st.sealed, &st.sealed_len) ==
            0 &&
        store_token_put(tk->store, &st, tk_on_store_done, tk) == 0)
        tk_started(tk);
    free(st.sealed);
}

static void app_set(struct tokens *tk, const char *token, int64_t expires_at_us, int persist)
{
    struct app_tok *a = &tk->app;
    tokenbox_wipe_free(a->token);
    a->token = token ? strdup(token) : NULL;
    a->expires_at_us = token ? expires_at_us : 0;
    a->lifetime_us = token && expires_at_us ? expires_at_us - clock_wall_us() : 0;
    if (persist)
        app_persist(tk);
}

static void on_app_token(void *arg, const struct twitch_result *r, const struct twitch_token *tok)
{
    struct tokens *tk = arg;
    if (tk_returned(tk))
        return;
    tk->app.fetching = 0;
    if (!tok) {
        log_warn("twitch.app_token_failed", "status=%d err=\"%s\"", r->status, r->message);
        app_flush(tk, "Twitch refused the app credentials or did not answer");
        return;
    }
    int64_t exp = tok->expires_in_s > 0 ? clock_wall_us() + tok->expires_in_s * 1000000 : 0;
    app_set(tk, tok->access_token, exp, 1);
    log_info("twitch.app_token", "expires_in_s=%lld", (long long)tok->expires_in_s);
    app_flush(tk, tk->app.token ? NULL : "out of memory");
}

static void app_fetch(struct tokens *tk)
{
    if (twitch_oauth_client_credentials(tk->tw, on_app_token, tk) == 0) {
        tk->app.fetching = 1;
        tk_started(tk);
    } else {
        app_flush(tk, "cannot ask Twitch for an app token");
    }
}

int tokens_app(struct tokens *tk, twitch_access_fn cb, void *arg)
{
    if (tk->freeing || !cb)
        return -1;
    struct tk_waiter *w = calloc(1, sizeof *w);
    if (!w)
        return -1;
    if (!tk->app.fetching && !tk->app.turn_queued) {
        if (tk_defer_turn(tk, app_turn) < 0) {
            free(w);
            return -1;
        }
        tk->app.turn_queued = 1;
    }
    w->cb = cb;
    w->arg = arg;
    *tk->app.waiters_tail = w;
    tk->app.waiters_tail = &w->next;
    return 0;
}

void tk_app_rejected(struct tokens *tk, const char *token)
{
    if (tk->app.token && token && strcmp(tk->app.token, token) == 0) {
        log_warn("twitch.app_token_rejected", "%s", "action=renew");
        app_set(tk, NULL, 0, 1);
    }
}

static void on_app_validated(void *arg, const struct twitch_result *r,
                             const struct twitch_validation *v)
{
    struct tokens *tk = arg;
    if (tk_returned(tk))
        return;
    tk->app.validating = 0;
    if (v) {
        log_debug("twitch.app_token_valid", "expires_in_s=%lld", (long long)v->expires_in_s);
        return;
    }
    if (r->status == 401) {
        log_warn("twitch.app_token_invalid", "%s", "action=renew");
        app_set(tk, NULL, 0, 1);
    } else {
        log_warn("twitch.validate_failed", "token=app status=%d err=\"%s\"", r->status, r->message);
    }
}

static void app_validate(struct tokens *tk)
{
    if (!tk->app.token || tk->app.validating || tk->freeing)
        return;
    if (twitch_oauth_validate(tk->tw, tk->app.token, on_app_validated, tk) == 0) {
        tk->app.validating = 1;
        tk_started(tk);
    }
}

static void on_validate_timer(uv_timer_t *h)
{
    app_validate(h->data);
}

void tk_app_seed(struct tokens *tk, const char *token, int64_t expires_at_us)
{
    if (!token || !*token || tk->freeing)
        return;
    app_set(tk, token, expires_at_us, 0);
    app_validate(tk); /* Twitch's rule: validate at start-up */
}

void tk_app_init(struct tokens *tk)
{
    struct app_tok *a = &tk->app;
    a->waiters_tail = &a->waiters;
    uv_timer_init(tk->loop, &a->validate_timer);
    a->validate_timer.data = tk;
    tk->handles_open++;
    uv_timer_start(&a->validate_timer, on_validate_timer, (uint64_t)tk->opts.validate_interval_ms,
                   (uint64_t)tk->opts.validate_interval_ms);
    uv_unref((uv_handle_t *)&a->validate_timer); /* the hourly check never keeps the loop up */
}

void tk_app_release(struct tokens *tk)
{
    app_flush(tk, "shutting down");
    tokenbox_wipe_free(tk->app.token);
    tk->app.token = NULL;
    uv_close((uv_handle_t *)&tk->app.validate_timer, tk_on_handle_closed);
}
