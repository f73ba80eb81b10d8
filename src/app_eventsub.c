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

int app_eventsub_start(struct app *app, const struct esm_twitch_ops *ops, struct err *err)
{
    if (!app->cfg.client_id[0] || !ops)
        return 0; /* no Twitch: capabilities say why */
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
        .secret_changed = secret_changed(app),
        .stopped_at_us = take_stopped_at(app),
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

void app_eventsub_stop(struct app *app)
{
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
