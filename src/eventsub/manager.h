/* manager: the upstream EventSub subscriptions of every streamer SEV watches.
 *
 * One subscription set per streamer, shared by every viewer who favorites that streamer and
 * reference-counted by them: made when the first viewer arrives, deleted when the last
 * leaves. Per type it picks what Twitch allows (twitch-platform.md sections 2.6 and 5):
 *
 *   stream.online/offline, channel.update,   webhook + app token when the transport is
 *   channel.raid (to and from), shared chat  "webhook"; conduit + app token when it is
 *                                            "conduit"; else the carrier's WebSocket
 *   channel.chat.notification/.message       the carrier's WebSocket, condition user_id = the
 *                                            carrier (a viewer with user:read:chat), cost 0
 *   follows, subs, cheers, redemptions,      only when the broadcaster is a SEV user who
 *   hype trains, polls, predictions          granted the scope: webhook + app token, or the
 *                                            broadcaster's own WebSocket session
 *
 * The carrier is one of the streamer's viewers; each viewer has one favorite, so a viewer's
 * session carries at most one streamer's no-auth set (cost 5 of Twitch's 10): the cost
 * spreads over the viewers' tokens by construction. When a carrier fails (dead token, cost
 * limit), the next viewer carries.
 *
 * Every EventSub WebSocket session belongs to one user (wsession.c does the protocol). When a
 * session is lost, its subscriptions are marked wanted, a new session opens after a jittered
 * backoff and they are created again; once all of a streamer's are back, a "sev.gap" marker
 * from the last sign of life to now is ingested like an event, so viewers see what may be
 * missing (EventSub cannot replay). A restart adds the same marker from the clean-stop time.
 *
 * Conduit mode: SEV finds the conduit it made in an earlier run (Get Conduits, the id kept in
 * the settings) or makes one (Create Conduits, one shard), opens an EventSub WebSocket session
 * of its own and points shard 0 at it (Update Conduit Shards). The app-token subscriptions
 * name the conduit and outlive the session: when it is lost, a new one is opened at once and
 * the shard re-pointed; the "sev.gap" marker then spans the time without a session.
 *
 * Loop thread only. Helix calls go through esm_twitch_ops (the twitch client in production,
 * a fake in unit tests).
 */
#ifndef SEV_EVENTSUB_MANAGER_H
#define SEV_EVENTSUB_MANAGER_H

#include <jansson.h>
#include <stdint.h>
#include <uv.h>

#include "base/buf.h"
#include "base/err.h"
#include "ingest/ingest.h"

/* status: the HTTP status, or < 0 when no answer came (network, no token: error says why).
 * body is borrowed (NULL when none). */
typedef void (*esm_helix_cb)(void *arg, int status, json_t *body, const char *error);
/* scopes: space-separated scopes the user granted SEV, or NULL when SEV has no live token. */
typedef void (*esm_scopes_cb)(void *arg, const char *user_id, const char *scopes);

struct esm_twitch_ops {
    /* A Helix call (path relative to TWITCH_API_URL, e.g. "/eventsub/subscriptions?id=x")
     * with the app token (user_id NULL) or user_id's token, refreshed as needed. body is
     * borrowed. Returns 0 (cb will run, never before this returns) or -1 (cb will not run). */
    int (*helix)(void *ctx, const char *user_id, const char *method, const char *path, json_t *body,
                 esm_helix_cb cb, void *arg);
    /* What user_id granted SEV (NULL scopes: not a SEV user, or no live token). Same return
     * rule as helix. */
    int (*user_scopes)(void *ctx, const char *user_id, esm_scopes_cb cb, void *arg);
    void *ctx;
};

enum esm_transport { ESM_WEBSOCKET = 0, ESM_WEBHOOK = 1, ESM_CONDUIT = 2 };

/* Conduit mode: the conduit's id was made (or found anew): keep it for the next run. */
typedef void (*esm_conduit_cb)(void *arg, const char *conduit_id);

struct esm_options {
    enum esm_transport transport; /* for the no-auth and broadcaster types */
    const char *ws_url;           /* TWITCH_EVENTSUB_WS_URL */
    const char *callback_url;     /* {SEV_PUBLIC_URL}/eventsub/webhook */
    const char *webhook_secret;   /* TWITCH_EVENTSUB_SECRET */
    int secret_changed;           /* webhook subscriptions made with another secret: redo */
    int64_t stopped_at_us;        /* when the previous run stopped cleanly (0: unknown) */
    int retry_base_ms;            /* first reconnect/retry delay (default 1000) */
    int retry_max_ms;             /* backoff cap (default 60000) */
    int max_attempts;             /* creation attempts before a subscription is failed (5) */
    const char *conduit_id;       /* conduit mode: the conduit the last run made (NULL: none) */
    esm_conduit_cb conduit_made;  /* conduit mode: called once a conduit is made (may be NULL) */
    void *conduit_arg;
};

struct esm_stats {
    uint64_t created, adopted, deleted, create_errors, sessions_opened, sessions_lost, gaps,
        revocations;
    uint32_t streamers, sessions, enabled;
};

struct esm;

/* ingest is borrowed and outlives the manager; ops is copied. */
int esm_new(uv_loop_t *loop, const struct esm_options *opts, const struct esm_twitch_ops *ops,
            struct ingest *ingest, struct esm **out, struct err *err);
/* Closes sessions (subscriptions stay at Twitch for the next run to adopt, where the
 * transport allows); frees once the sockets have closed (the caller runs the loop on). */
void esm_free(struct esm *m);

/* A viewer's favorite changed. old/new ids may be NULL; new_login names new_streamer_id.
 * During start-up, call it for every stored favorite, then esm_start(). */
void esm_favorite_changed(struct esm *m, const char *user_id, const char *old_streamer_id,
                          const char *new_streamer_id, const char *new_login);
/* A user granted (or re-granted) SEV scopes: plans that may now do more are redone. */
void esm_user_authorized(struct esm *m, const char *user_id);
/* A user's tokens are gone (revoked, deleted account): nothing rides on them any more. */
void esm_user_gone(struct esm *m, const char *user_id);
/* Favorites are loaded: adopt existing webhook subscriptions, delete orphans, create the
 * rest. Before this, nothing is created. */
void esm_start(struct esm *m);

/* Revocations from the webhook receiver (wsession revocations arrive internally). */
void esm_on_revocation(struct esm *m, const char *subscription_id, const char *type,
                       const char *reason);
/* A webhook subscription answered its challenge. */
void esm_on_verified(struct esm *m, const char *subscription_id);

/* Appends {"types":[{"type","label","receiving","transport","reason"}…]} for the capability
 * panel. A streamer nobody watches gets every type with the reason why; m may be NULL (SEV
 * without Twitch credentials). */
int esm_capabilities_json(struct esm *m, const char *login, struct buf *out);

void esm_stats(const struct esm *m, struct esm_stats *out);

#endif
