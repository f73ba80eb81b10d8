/* app_accounts: wires the Twitch client, the token key and the accounts module, and adapts
 * them to the EventSub subscription manager (esm_twitch_ops, the accounts hooks).
 *
 *   start:  tokenbox (SEV_KEY_FILE) → twitch client → accounts → [app builds esm with
 *           app_twitch_ops] → app_accounts_load: stored tokens and favorites → esm_start
 *   stop:   esm_free (by app_eventsub_stop) → accounts_free → twitch_free (pending calls are
 *           cancelled: their callbacks run) → the store closes after
 */
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "app_int.h"
#include "auth/accounts.h"
#include "auth/tokenbox.h"
#include "base/defer.h"
#include "base/log.h"
#include "cluster/leader.h"
#include "twitch/twitch.h"

/* ---- the manager's view of Twitch ---- */

struct helix_call {
    esm_helix_cb cb;
    void *arg;
};

static void on_helix(void *arg, const struct twitch_result *r)
{
    struct helix_call *c = arg;
    int status = r->error == TWITCH_OK ? r->status : -1;
    c->cb(c->arg, status, r->body, r->error == TWITCH_OK ? NULL : r->message);
    free(c);
}

static int ops_helix(void *ctx, const char *user_id, const char *method, const char *path,
                     json_t *body, esm_helix_cb cb, void *arg)
{
    struct app *app = ctx;
    if (!app->twitch)
        return -1;
    struct helix_call *c = calloc(1, sizeof *c);
    if (!c)
        return -1;
    c->cb = cb;
    c->arg = arg;
    if (twitch_helix(app->twitch, user_id, method, path, body, on_helix, c) < 0) {
        free(c);
        return -1;
    }
    return 0;
}

/* The manager asks for a user's scopes; the answer comes on a later turn (defer_call). */
struct scopes_call {
    struct app *app;
    char user_id[32];
    esm_scopes_cb cb;
    void *arg;
};

static void on_scopes_turn(void *arg)
{
    struct scopes_call *c = arg;
    const char *scopes = c->app->accounts ? accounts_user_scopes(c->app->accounts, c->user_id)
                                          : NULL;
    c->cb(c->arg, c->user_id, scopes);
    free(c);
}

static int ops_user_scopes(void *ctx, const char *user_id, esm_scopes_cb cb, void *arg)
{
    struct app *app = ctx;
    struct scopes_call *c = calloc(1, sizeof *c);
    if (!c || !user_id || strlen(user_id) >= sizeof c->user_id) {
        free(c);
        return -1;
    }
    c->app = app;
    memcpy(c->user_id, user_id, strlen(user_id) + 1);
    c->cb = cb;
    c->arg = arg;
    if (defer_call(app->loop, on_scopes_turn, c) < 0) {
        free(c);
        return -1;
    }
    return 0;
}

/* ---- accounts' hooks → the manager ---- */

static void hook_favorite(void *arg, const char *user_id, const char *old_id, const char *new_id,
                          const char *new_login)
{
    struct app *app = arg;
    if (app->several_nodes)
        app_eventsub_favorite(app, user_id, new_id, new_login);
    else if (app->esm)
        esm_favorite_changed(app->esm, user_id, old_id, new_id, new_login);
}

static void hook_tokens_gone(void *arg, const char *user_id)
{
    struct app *app = arg;
    if (app->esm)
        esm_user_gone(app->esm, user_id);
}

static void hook_authorized(void *arg, const char *user_id)
{
    struct app *app = arg;
    if (app->esm)
        esm_user_authorized(app->esm, user_id);
}

static void on_accounts_ready(void *arg)
{
    struct app *app = arg;
    app->accounts_ready = 1;
    if (app->several_nodes) /* the leader builds and starts the manager */
        app_eventsub_lead(app, leader_is(app->leader));
    else if (app->esm)
        esm_start(app->esm);
}

/* ---- start and stop ---- */

int app_accounts_start(struct app *app, struct esm_twitch_ops *ops, struct err *err)
{
    memset(ops, 0, sizeof *ops);
    if (!app->cfg.client_id[0]) {
        log_info("auth.disabled", "%s", "reason=\"no TWITCH_CLIENT_ID: nobody can log in\"");
        return 0;
    }
    if (!app->tokenbox && tokenbox_new(app->cfg.key_file, &app->tokenbox, err) < 0)
        return -1;
    int64_t validate_ms = (int64_t)(app->cfg.validate_interval_s > 0
                                        ? app->cfg.validate_interval_s
                                        : 3600) *
                          1000;
    struct twitch_options to = {
        .client_id = app->cfg.client_id,
        .client_secret = app->cfg.client_secret,
        .auth_url = app->cfg.auth_url,
        .api_url = app->cfg.api_url,
    };
    if (twitch_new(app->loop, &to, &app->twitch, err) < 0)
        return -1;
    struct accounts_options ao = {
        .public_url = app->cfg.public_url,
        .auth_url = app->cfg.auth_url,
        .client_id = app->cfg.client_id,
        .validate_interval_ms = validate_ms,
        .shared_store = app->several_nodes,
    };
    struct accounts_hooks hooks = {hook_favorite, hook_tokens_gone, hook_authorized, app};
    if (accounts_new(app->loop, app->store, app->twitch, app->tokenbox, &ao, &hooks,
                     &app->accounts, err) < 0)
        return -1;
    ops->helix = ops_helix;
    ops->user_scopes = ops_user_scopes;
    ops->ctx = app;
    return 0;
}

int app_accounts_load(struct app *app, struct err *err)
{
    if (!app->accounts)
        return 0;
    if (accounts_start(app->accounts, on_accounts_ready, app) < 0)
        return err_set(err, "SEV_DATABASE: cannot read the stored accounts");
    return 0;
}

void app_accounts_stop(struct app *app)
{
    accounts_free(app->accounts);
    app->accounts = NULL;
    twitch_free(app->twitch);
    app->twitch = NULL;
}

void app_accounts_release(struct app *app)
{
    /* after the loop: start-up may have failed before the loop ran */
    if (app->accounts || app->twitch)
        app_accounts_stop(app);
    tokenbox_free(app->tokenbox);
    app->tokenbox = NULL;
}

