/* The route table: every URL SEV answers (see api.h). */
#include "api/api.h"

#include "eventsub/webhook.h"
#include "pages/pages.h"

const struct http_route api_routes[] = {
    {HTTP_VERB_GET, "/", page_home, NULL, 0},
    {HTTP_VERB_GET, "/streamer/:login", page_streamer, NULL, 0},
    {HTTP_VERB_GET, "/streamer/:login/overlay", page_overlay, NULL, 0},
    {HTTP_VERB_GET, "/analytics", page_analytics, NULL, 0},
    {HTTP_VERB_GET, "/account", page_account, NULL, 0},
    {HTTP_VERB_GET, "/healthz", api_healthz, NULL, 0},
    {HTTP_VERB_GET, "/metrics", api_metrics, NULL, 0},
    {HTTP_VERB_GET, "/config.json", api_config_json, NULL, 0},
    {HTTP_VERB_GET, "/ws", api_ws, NULL, 0},
    {HTTP_VERB_POST, "/eventsub/webhook", api_webhook, NULL, WEBHOOK_MAX_BODY},
    {HTTP_VERB_GET, "/api/streamers/:login", api_streamer, NULL, 0},
    {HTTP_VERB_GET, "/api/streamers/:login/events", api_events, NULL, 0},
    {HTTP_VERB_GET, "/api/streamers/:login/capabilities", api_capabilities, NULL, 0},
    {HTTP_VERB_GET, "/api/stats/streamers", api_stats_streamers, NULL, 0},
    {HTTP_VERB_GET, "/api/stats/streamers/:login/types", api_stats_types, NULL, 0},
    {HTTP_VERB_GET, "/api/stats/streamers/:login/hourly", api_stats_hourly, NULL, 0},
    {HTTP_VERB_GET, "/auth/login", api_login, NULL, 0},
    {HTTP_VERB_GET, "/auth/callback", api_callback, NULL, 0},
    {HTTP_VERB_POST, "/auth/logout", api_logout, NULL, 0},
    {HTTP_VERB_GET, "/api/me", api_me, NULL, 0},
    {HTTP_VERB_DELETE, "/api/me", api_me_delete, NULL, 0},
    {HTTP_VERB_PUT, "/api/me/favorite", api_favorite_put, NULL, 0},
    {HTTP_VERB_DELETE, "/api/me/favorite", api_favorite_delete, NULL, 0},
    {HTTP_VERB_GET, "/api/me/following", api_following, NULL, 0},
    {0, NULL, NULL, NULL, 0},
};

const size_t api_nroutes = sizeof api_routes / sizeof api_routes[0] - 1;
