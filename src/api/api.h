/* api: route handlers for /api/..., /healthz, /metrics and /config.json. Thin: parse, call a
 * module, answer. Every handler takes its struct api_ctx from req->route_ctx (never the whole
 * app). Errors are JSON {"error":"…"} with a fitting status. */
#ifndef SEV_API_H
#define SEV_API_H

#include <stddef.h>
#include <stdint.h>

#include "http/server.h"
#include "pages/pages.h"

struct config;
struct store;
struct bus;
struct bus_order;
struct hub;
struct webhook;
struct ingest;
struct esm;
struct twitch;
struct accounts;
struct streams;
struct stats_cache;
struct leader;
struct http_server;

/* Responses per route, kept by the app (its after-response hook), read by /metrics. */
struct route_metrics {
    uint64_t by_class[6]; /* 1xx..5xx, index status/100 */
    int64_t dur_sum_us;
};

/* What the handlers of api/ (and, through its first member, pages/) may read: the context of
 * every route. The app owns it and everything it points to, fills it once before it listens,
 * and it lives as long as the app. The module pointers point at the app's own slots, which
 * change at run time (the EventSub manager comes and goes with leadership; app_stop clears
 * them), so a handler reads the current value through them and never a stale copy; a slot
 * that holds NULL means that module is off (or stopped). */
struct api_ctx {
    struct pages_ctx pages;                 /* first: pages/ reads route_ctx as this */
    const struct config *cfg;
    const char *node_id;                    /* SEV_NODE_ID, or host:port (set once listening) */
    const char *config_json;                /* GET /config.json */
    const int64_t *started_us;              /* clock_mono_us() at start */
    struct store *const *store;
    struct bus *const *bus;
    struct bus_order *const *order;         /* NULL on the local bus */
    struct hub *const *hub;
    struct ingest *const *ingest;
    struct webhook *const *webhook;
    struct esm *const *esm;                 /* NULL without credentials or off the leader */
    struct twitch *const *twitch;           /* NULL without Twitch credentials */
    struct accounts *const *accounts;       /* NULL likewise */
    struct streams *const *streams;         /* live status per streamer */
    struct stats_cache *const *stats_cache;
    struct leader *const *leader;
    struct http_server *const *http;
    struct http_route *const *routes;       /* the app's table (nroutes rows) */
    const size_t *nroutes;
    const struct route_metrics *route_metrics; /* nroutes + 1 entries, the last: unmatched */
};

/* Every URL SEV answers, in match order; GET rows answer HEAD too. ctx is NULL: the app copies
 * the table and sets each row's ctx to its struct api_ctx. Ends with a row whose handler is NULL (not
 * counted in api_nroutes). */
extern const struct http_route api_routes[];
extern const size_t api_nroutes;

void api_events(struct http_request *req);        /* GET /api/streamers/:login/events */
void api_streamer(struct http_request *req);      /* GET /api/streamers/:login */
void api_stats_streamers(struct http_request *req);
void api_stats_types(struct http_request *req);   /* GET /api/stats/streamers/:login/types */
void api_stats_hourly(struct http_request *req);  /* GET /api/stats/streamers/:login/hourly */
void api_healthz(struct http_request *req);
void api_metrics(struct http_request *req);
void api_config_json(struct http_request *req);
void api_ws(struct http_request *req);            /* GET /ws */
void api_webhook(struct http_request *req);       /* POST /eventsub/webhook */
void api_capabilities(struct http_request *req);  /* GET /api/streamers/:login/capabilities */

/* Accounts (api_auth.c, api_me.c). */
void api_login(struct http_request *req);           /* GET /auth/login[?broadcaster=1] */
void api_callback(struct http_request *req);        /* GET /auth/callback */
void api_logout(struct http_request *req);          /* POST /auth/logout */
void api_me(struct http_request *req);              /* GET /api/me */
void api_me_delete(struct http_request *req);       /* DELETE /api/me */
void api_favorite_put(struct http_request *req);    /* PUT /api/me/favorite */
void api_favorite_delete(struct http_request *req); /* DELETE /api/me/favorite */
void api_following(struct http_request *req);       /* GET /api/me/following */

/* Lower-cases a login from a route parameter into out; 0 if valid, else answers 400. */
int api_login_param(struct http_request *req, const char *raw, char *out, size_t size);

#endif
