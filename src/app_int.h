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
/* Records the clean-stop time and frees the manager (before the store closes). */
void app_eventsub_stop(struct app *app);
void app_eventsub_metrics(struct app *app, struct buf *out);

#endif
