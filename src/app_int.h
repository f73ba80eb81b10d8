/* app_int: the app's own wiring helpers, split by concern (app_eventsub.c, …). Only app*.c. */
#ifndef SEV_APP_INT_H
#define SEV_APP_INT_H

#include "app.h"
#include "base/buf.h"
#include "eventsub/manager.h"

/* Webhook receiver hooks (arg = the app). */
void app_eventsub_on_verified(void *arg, const char *subscription_id, const char *type);
void app_eventsub_on_revocation(void *arg, const char *subscription_id, const char *type,
                                const char *reason);
/* Builds app->esm when Twitch credentials are set (ops: the Twitch client's adapter). */
int app_eventsub_start(struct app *app, const struct esm_twitch_ops *ops, struct err *err);
/* Leadership changed (cluster/leader.h): on several nodes the leader builds the manager,
 * feeds it every stored favorite and starts it; a node that stops leading frees it. */
void app_eventsub_lead(struct app *app, int leading);
/* Several nodes: a favorite changed on this node (accounts hook); the leader applies it now,
 * the others leave it to the leader's sync (every APP_FAVORITES_SYNC_MS). */
void app_eventsub_favorite(struct app *app, const char *user_id, const char *new_streamer_id,
                           const char *new_login);
#define APP_FAVORITES_SYNC_MS 5000
/* Records the clean-stop time and frees the manager (before the store closes). */
void app_eventsub_stop(struct app *app);

/* app_accounts.c: the token key, the Twitch client and accounts (when Twitch credentials are
 * set), and the manager's ops over them (zeroed without credentials). */
int app_accounts_start(struct app *app, struct esm_twitch_ops *ops, struct err *err);
/* After the manager exists: stored tokens, then favorites (to the manager), then esm_start. */
int app_accounts_load(struct app *app, struct err *err);
/* Before the store closes; app_accounts_release after the loop. */
void app_accounts_stop(struct app *app);
void app_accounts_release(struct app *app);

#endif
