/* api: route handlers for /api/..., /healthz, /metrics and /config.json. Thin: parse, call a
 * module, answer. Every handler takes its struct app from req->route_ctx. Errors are JSON
 * {"error":"…"} with a fitting status. */
#ifndef SEV_API_H
#define SEV_API_H

#include <stddef.h>

#include "http/server.h"

/* Every URL SEV answers, in match order; GET rows answer HEAD too. ctx is NULL: the app copies
 * the table and sets each row's ctx to itself. Ends with a row whose handler is NULL (not
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
