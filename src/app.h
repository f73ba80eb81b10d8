/* app: builds every module from the configuration and wires them together. Nothing else
 * touches every module. One app per process, owned by main(); it owns the loop's handles. */
#ifndef SEV_APP_H
#define SEV_APP_H

#include <stdint.h>
#include <uv.h>

#include "api/api.h"
#include "base/err.h"
#include "config/config.h"

struct store;
struct bus;
struct bus_order;
struct hub;
struct ingest;
struct webhook;
struct static_files;
struct http_server;
struct http_route;
struct esm;
struct twitch;
struct tokenbox;
struct accounts;
struct streams;
struct stats_cache;
struct leader;
struct esm_twitch_ops;
struct esm_sync;

#define APP_MAX_ROUTES 64


struct app {
    struct config cfg;
    uv_loop_t *loop;             /* borrowed */
    struct store *store;         /* owned, each below too */
    struct bus *bus;
    struct bus_order *order;     /* between a shared bus and the hub; NULL on the local bus */
    struct hub *hub;
    struct ingest *ingest;
    struct webhook *webhook;
    struct esm *esm;             /* EventSub subscriptions; NULL without Twitch credentials */
    struct twitch *twitch;       /* the Twitch client; NULL without Twitch credentials */
    struct tokenbox *tokenbox;   /* SEV_KEY_FILE; NULL without Twitch credentials and with
                                  * TWITCH_EVENTSUB_SECRET set (else it seals the stored one) */
    struct accounts *accounts;   /* users, sessions, tokens; NULL likewise */
    struct streams *streams;     /* live status per streamer (Helix when there is a client) */
    /* /api/stats answers, shared and bounded (owned) */
    struct stats_cache *stats_cache;
    struct leader *leader;       /* which node runs the EventSub manager (cluster/leader.h) */
    int several_nodes;           /* SEV_DATABASE is PostgreSQL: the manager runs on the leader */
    int accounts_ready;          /* stored tokens and favorites are loaded */
    struct esm_twitch_ops *esm_ops; /* owned; kept to build the manager on each takeover */
    int esm_secret_changed;      /* computed at start-up, for the first manager */
    int64_t esm_stopped_at_us;   /* likewise */
    unsigned esm_generation;     /* bumps when the manager is freed (stale favorite reads) */
    struct esm_sync *esm_sync;   /* owned by app_eventsub.c: the leader's favorites sync */
    char node_id[128];           /* SEV_NODE_ID, or host:port */
    struct static_files *web;
    struct http_server *http;
    uv_signal_t sigint, sigterm;
    char eventsub_secret[128];
    char default_headers[2048];  /* security headers on every response */
    char config_json[2048];      /* GET /config.json, made once */
    struct http_route *routes;   /* owned table, ctx = &api_ctx */
    struct api_ctx api_ctx;      /* what the route handlers read; points into this app */
    size_t nroutes;
    struct route_metrics route_metrics[APP_MAX_ROUTES + 1]; /* last: unmatched */
    int64_t started_us;
    int stopping;
};

/* Builds everything and starts listening. Returns 0, or -1 with err (the first line of the
 * failure, naming the variable at fault where there is one). */
int app_start(struct app *app, uv_loop_t *loop, const struct config *cfg, struct err *err);
/* Graceful stop: stop accepting, finish in-flight writes, drain the store, close. */
void app_stop(struct app *app);
int app_port(const struct app *app);
/* After the loop has ended. */
void app_release(struct app *app);


#endif
