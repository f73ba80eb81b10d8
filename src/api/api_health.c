#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/stats_cache.h"
#include "app.h"
#include "base/clock.h"
#include "bus/bus.h"
#include "cluster/leader.h"
#include "eventsub/webhook.h"
#include "hub/hub.h"
#include "ingest/ingest.h"
#include "store/store.h"

void api_healthz(struct http_request *req)
{
    struct app *app = req->route_ctx;
    http_add_header(req, "Cache-Control", "no-store");
    if (store_ping(app->store) < 0) {
        http_add_header(req, "Retry-After", "5");
        http_respond_error(req, 503, "the database is not answering");
        return;
    }
    struct store_counters sc;
    store_counters_get(app->store, &sc);
    if (sc.failing) { /* reads work, but events cannot be stored: not healthy */
        http_add_header(req, "Retry-After", "5");
        http_respond_error(req, 503, "the database cannot store events (its last write failed)");
        return;
    }
    if (bus_ping(app->bus) < 0) {
        http_respond_error(req, 503, "the bus is not answering");
        return;
    }
    struct buf b;
    buf_init(&b, 512);
    buf_puts(&b, "{\"status\":\"ok\",\"node\":\"");
    buf_json_escape(&b, app->node_id, strlen(app->node_id));
    buf_printf(&b, "\",\"leader\":%s}", leader_is(app->leader) ? "true" : "false");
    http_respond(req, 200, "application/json", b.data ? b.data : "{}", b.data ? b.len : 2);
    buf_release(&b);
}

void api_config_json(struct http_request *req)
{
    struct app *app = req->route_ctx;
    http_respond(req, 200, "application/json", app->config_json, strlen(app->config_json));
}

static void counter(struct buf *b, const char *name, const char *help, uint64_t v)
{
    buf_printf(b, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name,
               (unsigned long long)v);
}

static void gauge(struct buf *b, const char *name, const char *help, double v)
{
    buf_printf(b, "# HELP %s %s\n# TYPE %s gauge\n%s %.17g\n", name, help, name, name, v);
}

static void render_http(struct app *app, struct buf *b)
{
    buf_puts(b, "# HELP sev_http_requests_total HTTP requests answered, by route and status "
                "class.\n# TYPE sev_http_requests_total counter\n");
    for (size_t i = 0; i <= app->nroutes; i++) {
        const char *route = i < app->nroutes ? app->routes[i].pattern : "unmatched";
        for (int c = 1; c <= 5; c++) {
            uint64_t n = app->route_metrics[i].by_class[c];
            if (n)
                buf_printf(b, "sev_http_requests_total{route=\"%s\",code=\"%dxx\"} %llu\n",
                           route, c, (unsigned long long)n);
        }
    }
}

static void render_hub(struct app *app, struct buf *b)
{
    struct hub_stats hs;
    hub_stats(app->hub, &hs);
    gauge(b, "sev_websocket_clients", "WebSocket clients connected now.", (double)hs.clients);
    gauge(b, "sev_streamers_in_memory", "Streamers whose newest events are in memory.",
          (double)hs.channels);
    counter(b, "sev_frames_published_total", "Events encoded once for fan-out.",
            hs.frames_published);
    counter(b, "sev_websocket_messages_sent_total", "Event frames written to clients.",
            hs.messages_sent);
    counter(b, "sev_websocket_clients_culled_total", "Clients closed for not reading.",
            hs.clients_culled);
    counter(b, "sev_replayed_events_total", "Events sent by since= replays.", hs.replayed);
    buf_puts(b, "# HELP sev_fanout_latency_seconds From publish to written to the client's "
                "socket.\n# TYPE sev_fanout_latency_seconds histogram\n");
    uint64_t cum = 0;
    for (int i = 0; i < HUB_LATENCY_BUCKETS; i++) {
        cum += hs.latency_count[i];
        buf_printf(b, "sev_fanout_latency_seconds_bucket{le=\"%g\"} %llu\n",
                   (double)hub_latency_bounds_us[i] / 1e6, (unsigned long long)cum);
    }
    cum += hs.latency_count[HUB_LATENCY_BUCKETS];
    buf_printf(b, "sev_fanout_latency_seconds_bucket{le=\"+Inf\"} %llu\n",
               (unsigned long long)cum);
    buf_printf(b, "sev_fanout_latency_seconds_sum %.6f\nsev_fanout_latency_seconds_count %llu\n",
               (double)hs.latency_sum_us / 1e6, (unsigned long long)cum);
}

static void render_ingest(struct app *app, struct buf *b)
{
    struct ingest_stats is;
    ingest_stats(app->ingest, &is);
    buf_printf(b, "# HELP sev_events_ingested_total Events received, by outcome (skipped: plain chat, not kept).\n"
                  "# TYPE sev_events_ingested_total counter\n"
                  "sev_events_ingested_total{outcome=\"stored\"} %llu\n"
                  "sev_events_ingested_total{outcome=\"duplicate\"} %llu\n"
                  "sev_events_ingested_total{outcome=\"failed\"} %llu\n"
                  "sev_events_ingested_total{outcome=\"skipped\"} %llu\n",
               (unsigned long long)is.stored, (unsigned long long)is.duplicates,
               (unsigned long long)is.failed, (unsigned long long)is.skipped);
    buf_puts(b, "# HELP sev_events_received_total Events handed to the store, by transport.\n"
                "# TYPE sev_events_received_total counter\n");
    static const char *const transports[] = {"webhook", "websocket", "sev"};
    for (int i = 0; i < 3; i++)
        buf_printf(b, "sev_events_received_total{transport=\"%s\"} %llu\n", transports[i],
                   (unsigned long long)is.by_transport[i]);
    counter(b, "sev_ingest_retried_total",
            "Events without a sender to redeliver them (EventSub WebSocket, SEV's own) stored by "
            "a retry after the store failed them.",
            is.retried);
    counter(b, "sev_ingest_retry_dropped_total",
            "Events dropped because the retry queue was full (SEV_INGEST_RETRY_MAX).",
            is.retry_dropped);
    gauge(b, "sev_ingest_retry_queued", "Events waiting for a retry now.", (double)is.retry_queued);
    struct webhook_stats ws;
    webhook_stats(app->webhook, &ws);
    buf_printf(b, "# HELP sev_webhook_messages_total Webhook messages, by outcome.\n"
                  "# TYPE sev_webhook_messages_total counter\n"
                  "sev_webhook_messages_total{outcome=\"accepted\"} %llu\n"
                  "sev_webhook_messages_total{outcome=\"duplicate\"} %llu\n"
                  "sev_webhook_messages_total{outcome=\"challenge\"} %llu\n"
                  "sev_webhook_messages_total{outcome=\"revocation\"} %llu\n"
                  "sev_webhook_messages_total{outcome=\"rejected\"} %llu\n"
                  "sev_webhook_messages_total{outcome=\"skipped\"} %llu\n",
               (unsigned long long)ws.accepted, (unsigned long long)ws.duplicates,
               (unsigned long long)ws.challenges, (unsigned long long)ws.revocations,
               (unsigned long long)ws.rejected, (unsigned long long)ws.skipped);
}

static void render_store(struct app *app, struct buf *b)
{
    struct store_counters sc;
    store_counters_get(app->store, &sc);
    gauge(b, "sev_store_write_failing",
          "Write transactions failed since the last commit (0: the store can write).",
          (double)sc.failing);
    struct stats_cache_stats cs;
    stats_cache_stats_get(app->stats_cache, &cs);
    counter(b, "sev_stats_queries_total", "Stats queries sent to the store.", cs.queries);
    counter(b, "sev_stats_shared_total", "Stats requests answered by a kept or in-flight answer.",
            cs.shared);
    counter(b, "sev_stats_refused_total", "Stats requests refused: too many answers pending.",
            cs.refused);
    gauge(b, "sev_stats_waiting", "Stats queries waiting for a free slot.", (double)cs.waiting);
}

void api_metrics(struct http_request *req)
{
    struct app *app = req->route_ctx;
    struct buf b;
    buf_init(&b, 0);
    render_http(app, &b);
    gauge(&b, "sev_http_connections", "Open HTTP and WebSocket connections.",
          (double)http_server_connections(app->http));
    render_hub(app, &b);
    render_ingest(app, &b);
    render_store(app, &b);
    app_render_metrics_extra(app, &b);
    gauge(&b, "sev_uptime_seconds", "Seconds since start.",
          (double)(clock_mono_us() - app->started_us) / 1e6);
    http_add_header(req, "Cache-Control", "no-store");
    http_respond_buf(req, 200, "text/plain; version=0.0.4; charset=utf-8", &b);
}
