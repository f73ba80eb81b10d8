#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/stats_cache.h"
#include "base/clock.h"
#include "bus/bus.h"
#include "cluster/leader.h"
#include "eventsub/webhook.h"
#include "hub/hub.h"
#include "ingest/ingest.h"
#include "store/store.h"

void api_healthz(struct http_request *req)
{
    const struct api_ctx *ctx = req->route_ctx;
    http_add_header(req, "Cache-Control", "no-store");
    if (store_ping(*ctx->store) < 0) {
        http_add_header(req, "Retry-After", "5");
        http_respond_error(req, 503, "the database is not answering");
        return;
    }
    struct store_counters sc;
    store_counters_get(*ctx->store, &sc);
    if (sc.failing) { /* reads work, but events cannot be stored: not healthy */
        http_add_header(req, "Retry-After", "5");
        http_respond_error(req, 503, "the database cannot store events (its last write failed)");
        return;
    }
    if (bus_ping(*ctx->bus) < 0) {
        http_respond_error(req, 503, "the bus is not answering");
        return;
    }
    struct buf b;
    buf_init(&b, 512);
    buf_puts(&b, "{\"status\":\"ok\",\"node\":\"");
    buf_json_escape(&b, ctx->node_id, strlen(ctx->node_id));
    buf_printf(&b, "\",\"leader\":%s}", leader_is(*ctx->leader) ? "true" : "false");
    http_respond(req, 200, "application/json", b.data ? b.data : "{}", b.data ? b.len : 2);
    buf_release(&b);
}

void api_config_json(struct http_request *req)
{
    const struct api_ctx *ctx = req->route_ctx;
    http_respond(req, 200, "application/json", ctx->config_json, strlen(ctx->config_json));
}
