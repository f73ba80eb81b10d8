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
#include "base/log.h"
#include "cluster/leader.h"
#include "eventsub/manager.h"
#include "store/store.h"

#define SETTING_STOPPED_AT "eventsub_stopped_at"
#define SETTING_SECRET_HASH "eventsub_webhook_secret_sha256"

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
    struct esm_options o = {
        .transport = app->cfg.transport == TRANSPORT_WEBHOOK ? ESM_WEBHOOK : ESM_WEBSOCKET,
        .ws_url = app->cfg.eventsub_ws_url,
        .callback_url = callback,
        .webhook_secret = app->eventsub_secret,
        .secret_changed = secret_changed,
        .stopped_at_us = stopped_at_us,
    };
    if (esm_new(app->loop, &o, ops, app->ingest, &app->esm, err) < 0)
        return -1;
    log_info("eventsub.manager_started", "transport=%s callback=%s",
             o.transport == ESM_WEBHOOK ? "webhook" : "websocket", callback);
    return 0;
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
    app->esm_secret_changed = changed;
    app->esm_stopped_at_us = stopped_at;
    return 0;
}

struct favorites_read {
    struct app *app;
    unsigned generation;
};

static void on_favorites(void *arg, int status, struct store_favorite_list *list)
{
    struct favorites_read *r = arg;
    struct app *app = r->app;
    int current = r->generation == app->esm_generation && app->esm && !app->stopping;
    free(r);
    if (!current) { /* leadership went (or came back) meanwhile: another read is under way */
        store_favorite_list_free(list);
        return;
    }
    if (status != 0) {
        log_error("cluster.favorites_unread", "status=%d action=stepping_back", status);
        esm_free(app->esm); /* a manager without favorites would delete what others want */
        app->esm = NULL;
        app->esm_generation++;
        store_favorite_list_free(list);
        return;
    }
    for (size_t i = 0; i < list->count; i++)
        esm_favorite_changed(app->esm, list->items[i].user_id, NULL, list->items[i].streamer.id,
                             list->items[i].streamer.login);
    log_info("cluster.manager_started", "favorites=%zu", list->count);
    store_favorite_list_free(list);
    esm_start(app->esm); /* adopts what the previous leader subscribed */
}

void app_eventsub_lead(struct app *app, int leading)
{
    if (!app->several_nodes || !app->esm_ops || app->stopping)
        return;
    if (!leading) {
        if (app->esm) {
            esm_free(app->esm);
            app->esm = NULL;
            app->esm_generation++;
        }
        return;
    }
    if (app->esm || !app->accounts_ready)
        return; /* on_accounts_ready calls again */
    struct err err = {{0}};
    if (manager_new(app, app->esm_ops, app->esm_secret_changed, app->esm_stopped_at_us, &err) <
        0) {
        log_error("cluster.manager_failed", "error=\"%s\"", err.msg);
        return;
    }
    app->esm_secret_changed = 0;
    app->esm_stopped_at_us = 0; /* the restart's gap marker is made once */
    struct favorites_read *r = malloc(sizeof *r);
    if (r) {
        r->app = app;
        r->generation = app->esm_generation;
    }
    if (!r || store_favorites_all(app->store, on_favorites, r) < 0) {
        free(r);
        esm_free(app->esm);
        app->esm = NULL;
        app->esm_generation++;
    }
}

void app_eventsub_stop(struct app *app)
{
    free(app->esm_ops);
    app->esm_ops = NULL;
    if (!app->esm)
        return;
    char now[32];
    snprintf(now, sizeof now, "%lld", (long long)clock_wall_us());
    if (app->store)
        store_setting_set(app->store, SETTING_STOPPED_AT, now, NULL);
    esm_free(app->esm);
    app->esm = NULL;
}

void app_eventsub_metrics(struct app *app, struct buf *out)
{
    if (!app->esm)
        return;
    struct esm_stats s;
    esm_stats(app->esm, &s);
    buf_printf(out,
               "# HELP sev_eventsub_streamers Streamers with an upstream subscription set.\n"
               "# TYPE sev_eventsub_streamers gauge\nsev_eventsub_streamers %u\n"
               "# HELP sev_eventsub_sessions EventSub WebSocket sessions.\n"
               "# TYPE sev_eventsub_sessions gauge\nsev_eventsub_sessions %u\n"
               "# HELP sev_eventsub_enabled Subscriptions receiving now.\n"
               "# TYPE sev_eventsub_enabled gauge\nsev_eventsub_enabled %u\n"
               "# TYPE sev_eventsub_created_total counter\nsev_eventsub_created_total %llu\n"
               "# TYPE sev_eventsub_adopted_total counter\nsev_eventsub_adopted_total %llu\n"
               "# TYPE sev_eventsub_deleted_total counter\nsev_eventsub_deleted_total %llu\n"
               "# TYPE sev_eventsub_create_errors_total counter\n"
               "sev_eventsub_create_errors_total %llu\n"
               "# TYPE sev_eventsub_sessions_lost_total counter\n"
               "sev_eventsub_sessions_lost_total %llu\n"
               "# TYPE sev_eventsub_gaps_total counter\nsev_eventsub_gaps_total %llu\n"
               "# TYPE sev_eventsub_revocations_total counter\n"
               "sev_eventsub_revocations_total %llu\n",
               s.streamers, s.sessions, s.enabled, (unsigned long long)s.created,
               (unsigned long long)s.adopted, (unsigned long long)s.deleted,
               (unsigned long long)s.create_errors, (unsigned long long)s.sessions_lost,
               (unsigned long long)s.gaps, (unsigned long long)s.revocations);
}
