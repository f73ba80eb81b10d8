/* app_eventsub: wires the EventSub subscription manager to the rest of the app — settings that
 * survive restarts (clean-stop time, which secret made the webhook subscriptions), the webhook
 * receiver's hooks, the Twitch client and the accounts' favorites. */
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "app_int.h"
#include "base/clock.h"
#include "auth/accounts.h"
#include "base/log.h"
#include "base/map.h"
#include "cluster/leader.h"
#include "eventsub/manager.h"
#include "store/store.h"

#define SETTING_STOPPED_AT "eventsub_stopped_at"
#define SETTING_SECRET_HASH "eventsub_webhook_secret_sha256"
#define SETTING_CONDUIT_ID "eventsub_conduit_id"

/* Conduit mode: the conduit was made; the next run looks for it. One small settings write per
 * conduit made (once per deployment unless Twitch deleted it). */
static void remember_conduit(void *arg, const char *conduit_id)
{
    struct app *app = arg;
    struct err err = {{0}};
    if (app->store && store_setting_set(app->store, SETTING_CONDUIT_ID, conduit_id, &err) < 0)
        log_warn("eventsub.conduit_not_remembered", "error=\"%s\"", err.msg);
}

static void secret_hash(const char *secret, char out[65])
{
    unsigned char d[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)secret, strlen(secret), d);
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* Did the webhook subscriptions of the last run use another secret? Records the current one.
 * (Start-up only: the settings API is synchronous.) */
static int secret_changed(struct app *app)
{
    char now[65];
    secret_hash(app->eventsub_secret, now);
    char *was = NULL;
    int found = store_setting_get(app->store, SETTING_SECRET_HASH, &was, NULL);
    int changed = found == 0 && was && strcmp(was, now) != 0;
    free(was);
    if (found != 0 || changed)
        store_setting_set(app->store, SETTING_SECRET_HASH, now, NULL);
    return changed;
}

/* When the previous run stopped cleanly (0 if it did not, or never ran); clears the mark so a
 * crash after this start is not mistaken for a clean stop. */
static int64_t take_stopped_at(struct app *app)
{
    char *v = NULL;
    int64_t at = 0;
    if (store_setting_get(app->store, SETTING_STOPPED_AT, &v, NULL) == 0 && v && v[0])
        at = strtoll(v, NULL, 10);
    free(v);
    if (at)
        store_setting_set(app->store, SETTING_STOPPED_AT, "", NULL);
    return at;
}

void app_eventsub_on_verified(void *arg, const char *subscription_id, const char *type)
{
    struct app *app = arg;
    (void)type;
    if (app->esm)
        esm_on_verified(app->esm, subscription_id);
}

void app_eventsub_on_revocation(void *arg, const char *subscription_id, const char *type,
                                const char *reason)
{
    struct app *app = arg;
    if (app->esm)
        esm_on_revocation(app->esm, subscription_id, type, reason);
}

static int manager_new(struct app *app, const struct esm_twitch_ops *ops, int secret_changed,
                       int64_t stopped_at_us, struct err *err)
{
    char callback[300];
    snprintf(callback, sizeof callback, "%s/eventsub/webhook", app->cfg.public_url);
    char *conduit = NULL;
    if (app->cfg.transport == TRANSPORT_CONDUIT && app->store)
        store_setting_get(app->store, SETTING_CONDUIT_ID, &conduit, NULL);
    struct esm_options o = {
        .transport = app->cfg.transport == TRANSPORT_WEBHOOK   ? ESM_WEBHOOK
                     : app->cfg.transport == TRANSPORT_CONDUIT ? ESM_CONDUIT
                                                               : ESM_WEBSOCKET,
        .ws_url = app->cfg.eventsub_ws_url,
        .callback_url = callback,
        .webhook_secret = app->eventsub_secret,
        .secret_changed = secret_changed,
        .stopped_at_us = stopped_at_us,
        .conduit_id = conduit,
        .conduit_made = remember_conduit,
        .conduit_arg = app,
    };
    int rc = esm_new(app->loop, &o, ops, app->ingest, &app->esm, err);
    free(conduit);
    if (rc < 0)
        return -1;
    log_info("eventsub.manager_started", "transport=%s callback=%s",
             o.transport == ESM_WEBHOOK   ? "webhook"
             : o.transport == ESM_CONDUIT ? "conduit"
                                          : "websocket",
             callback);
    return 0;
}

/* ---- several nodes: the leader's manager and its view of every node's favorites ----
 *
 * Favorites and logins happen on any node; the leader's manager must know them all. The
 * leader keeps the favorites it has given its manager (user → streamer) and, every
 * APP_FAVORITES_SYNC_MS, reads them all from the store (and the tokens of users who logged in
 * elsewhere) and applies the difference. */

struct fav {
    char id[32];
    char login[32];
};

struct esm_sync {
    struct app *app;
    uv_timer_t timer;
    struct map favs; /* user id → struct fav (owned) */
    int started;     /* the manager has had its first favorites and esm_start */
    int reading;     /* a favorites read is in flight */
};

struct favorites_read {
    struct app *app;
    unsigned generation;
};

static void favs_clear(struct esm_sync *s)
{
    const char *k;
    void *v;
    for (size_t i = 0; map_next(&s->favs, &i, &k, &v);)
        free(v);
    map_release(&s->favs);
    map_init(&s->favs);
    s->started = 0;
}

static void fav_apply(struct app *app, const char *user_id, const char *new_id,
                      const char *new_login)
{
    struct esm_sync *s = app->esm_sync;
    struct fav *old = map_get(&s->favs, user_id);
    if ((!old && !new_id) || (old && new_id && strcmp(old->id, new_id) == 0))
        return;
    struct fav *nf = NULL;
    if (new_id) {
        nf = calloc(1, sizeof *nf);
        if (!nf || map_put(&s->favs, user_id, nf) < 0) {
            free(nf);
            return; /* out of memory: the next sync tries again */
        }
        snprintf(nf->id, sizeof nf->id, "%s", new_id);
        snprintf(nf->login, sizeof nf->login, "%s", new_login ? new_login : "");
    } else {
        map_remove(&s->favs, user_id);
    }
    esm_favorite_changed(app->esm, user_id, old ? old->id : NULL, new_id, nf ? nf->login : NULL);
    free(old);
}

void app_eventsub_favorite(struct app *app, const char *user_id, const char *new_streamer_id,
                           const char *new_login)
{
    if (app->esm && app->esm_sync && app->esm_sync->started)
        fav_apply(app, user_id, new_streamer_id, new_login);
}

static void manager_drop(struct app *app)
{
    esm_free(app->esm);
    app->esm = NULL;
    app->esm_generation++;
    if (app->esm_sync)
        favs_clear(app->esm_sync);
}

static void on_favorites(void *arg, int status, struct store_favorite_list *list)
{
    struct favorites_read *r = arg;
    struct app *app = r->app;
    int current =
        r->generation == app->esm_generation && app->esm && app->esm_sync && !app->stopping;
    free(r);
    if (!current) { /* leadership went (or came back) meanwhile */
        store_favorite_list_free(list);
        return;
    }
    struct esm_sync *s = app->esm_sync;
    s->reading = 0;
    if (status != 0) {
        store_favorite_list_free(list);
        if (!s->started) {
            log_error("cluster.favorites_unread", "status=%d action=retry", status);
            manager_drop(app); /* a manager without favorites would delete what others want */
            app_eventsub_lead(app, leader_is(app->leader));
        }
        return;
    }
    /* users whose favorite is gone: collect first, the map cannot change while iterated */
    size_t ngone = 0;
    char(*gone)[32] = calloc(s->favs.count + 1, sizeof *gone);
    const char *k;
    void *v;
    for (size_t i = 0; gone && map_next(&s->favs, &i, &k, &v);) {
        int found = 0;
        for (size_t j = 0; j < list->count && !found; j++)
            found = strcmp(list->items[j].user_id, k) == 0;
        if (!found)
            snprintf(gone[ngone++], 32, "%s", k);
    }
    for (size_t i = 0; i < ngone; i++)
        fav_apply(app, gone[i], NULL, NULL);
    free(gone);
    for (size_t i = 0; i < list->count; i++)
        fav_apply(app, list->items[i].user_id, list->items[i].streamer.id,
                  list->items[i].streamer.login);
    if (!s->started) {
        s->started = 1;
        log_info("cluster.manager_started", "favorites=%zu", list->count);
        esm_start(app->esm); /* adopts what the previous leader subscribed */
    }
    store_favorite_list_free(list);
}

static void favorites_read(struct app *app)
{
    struct favorites_read *r = malloc(sizeof *r);
    if (!r)
        return;
    r->app = app;
    r->generation = app->esm_generation;
    if (store_favorites_all(app->store, on_favorites, r) < 0) {
        free(r);
        return;
    }
    app->esm_sync->reading = 1;
}

static void on_tokens_adopted(void *arg, int live)
{
    struct favorites_read *r = arg;
    struct app *app = r->app;
    int current =
        live && r->generation == app->esm_generation && app->esm && app->esm_sync && !app->stopping;
    free(r);
    if (current)
        favorites_read(app);
    else if (app->esm_sync)
        app->esm_sync->reading = 0;
}

/* The tokens of users who logged in on other nodes first (the manager asks for them at
 * once), then every favorite. */
static void sync_start(struct app *app)
{
    struct favorites_read *r = malloc(sizeof *r);
    if (!r)
        return;
    r->app = app;
    r->generation = app->esm_generation;
    app->esm_sync->reading = 1;
    if (!app->accounts || accounts_adopt_new_tokens(app->accounts, on_tokens_adopted, r) < 0) {
        free(r);
        app->esm_sync->reading = 0;
        favorites_read(app);
    }
}

static void on_sync_timer(uv_timer_t *t)
{
    struct esm_sync *s = t->data;
    struct app *app = s->app;
    if (!app->esm || !s->started || s->reading || app->stopping)
        return;
    sync_start(app);
}

static void on_sync_closed(uv_handle_t *h)
{
    struct esm_sync *s = h->data;
    favs_clear(s);
    map_release(&s->favs);
    free(s);
}

int app_eventsub_start(struct app *app, const struct esm_twitch_ops *ops, struct err *err)
{
    if (!app->cfg.client_id[0] || !ops)
        return 0; /* no Twitch: capabilities say why */
    int changed = secret_changed(app);
    int64_t stopped_at = take_stopped_at(app);
    if (!app->several_nodes) /* one node: it leads, the manager starts with the accounts */
        return manager_new(app, ops, changed, stopped_at, err);
    /* several nodes: the leader builds it (app_eventsub_lead), perhaps much later */
    app->esm_ops = malloc(sizeof *app->esm_ops);
    if (!app->esm_ops)
        return err_set(err, "out of memory");
    *app->esm_ops = *ops;
    app->esm_sync = calloc(1, sizeof *app->esm_sync);
    if (!app->esm_sync)
        return err_set(err, "out of memory");
    app->esm_sync->app = app;
    map_init(&app->esm_sync->favs);
    uv_timer_init(app->loop, &app->esm_sync->timer);
    app->esm_sync->timer.data = app->esm_sync;
    uv_timer_start(&app->esm_sync->timer, on_sync_timer, APP_FAVORITES_SYNC_MS,
                   APP_FAVORITES_SYNC_MS);
    app->esm_secret_changed = changed;
    app->esm_stopped_at_us = stopped_at;
    return 0;
}

void app_eventsub_lead(struct app *app, int leading)
{
    if (!app->several_nodes || !app->esm_ops || !app->esm_sync || app->stopping)
        return;
    if (!leading) {
        if (app->esm)
            manager_drop(app);
        return;
    }
    if (app->esm || !app->accounts_ready)
        return; /* on_accounts_ready calls again */
    struct err err = {{0}};
    if (manager_new(app, app->esm_ops, app->esm_secret_changed, app->esm_stopped_at_us, &err) < 0) {
        log_error("cluster.manager_failed", "error=\"%s\"", err.msg);
        return;
    }
    app->esm_secret_changed = 0;
    app->esm_stopped_at_us = 0; /* the restart's gap marker is made once */
    sync_start(app);
    if (!app->esm_sync->reading)
        manager_drop(app);
}

void app_eventsub_stop(struct app *app)
{
    free(app->esm_ops);
    app->esm_ops = NULL;
    if (app->esm_sync) {
        app->esm_generation++; /* a favorites read in flight finds nothing to apply to */
        uv_close((uv_handle_t *)&app->esm_sync->timer, on_sync_closed);
        app->esm_sync = NULL;
    }
    if (!app->esm)
        return;
    char now[32];
    snprintf(now, sizeof now, "%lld", (long long)clock_wall_us());
    if (app->store)
        store_setting_set(app->store, SETTING_STOPPED_AT, now, NULL);
    esm_free(app->esm);
    app->esm = NULL;
}

