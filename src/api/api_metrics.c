/* GET /metrics: every line of SEV's Prometheus text, from each module's stats. */
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/stats_cache.h"
#include "base/clock.h"
#include "bus/bus.h"
#include "bus/bus_order.h"
#include "cluster/leader.h"
#include "eventsub/manager.h"
#include "eventsub/webhook.h"
#include "hub/hub.h"
#include "ingest/ingest.h"
#include "store/store.h"
#include "twitch/twitch.h"

static void counter(struct buf *b, const char *name, const char *help, uint64_t v)
{
    buf_printf(b, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name,
               (unsigned long long)v);
}

static void gauge(struct buf *b, const char *name, const char *help, double v)
{
    buf_printf(b, "# HELP %s %s\n# TYPE %s gauge\n%s %.17g\n", name, help, name, name, v);
}

static void render_http(const struct api_ctx *ctx, struct buf *b)
{
    buf_puts(b, "# HELP sev_http_requests_total HTTP requests answered, by route and status "
                "class.\n# TYPE sev_http_requests_total counter\n");
    for (size_t i = 0; i <= *ctx->nroutes; i++) {
        const char *route = i < *ctx->nroutes ? (*ctx->routes)[i].pattern : "unmatched";
        for (int c = 1; c <= 5; c++) {
            uint64_t n = ctx->route_metrics[i].by_class[c];
            if (n)
                buf_printf(b, "sev_http_requests_total{route=\"%s\",code=\"%dxx\"} %llu\n",
                           route, c, (unsigned long long)n);
        }
    }
}

static void render_hub(const struct api_ctx *ctx, struct buf *b)
{
    struct hub_stats hs;
    hub_stats(*ctx->hub, &hs);
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

static void render_ingest(const struct api_ctx *ctx, struct buf *b)
{
    struct ingest_stats is;
    ingest_stats(*ctx->ingest, &is);
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
    webhook_stats(*ctx->webhook, &ws);
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

static void render_store(const struct api_ctx *ctx, struct buf *b)
{
    struct store_counters sc;
    store_counters_get(*ctx->store, &sc);
    gauge(b, "sev_store_write_failing",
          "Write transactions failed since the last commit (0: the store can write).",
          (double)sc.failing);
    struct stats_cache_stats cs;
    stats_cache_stats_get(*ctx->stats_cache, &cs);
    counter(b, "sev_stats_queries_total", "Stats queries sent to the store.", cs.queries);
    counter(b, "sev_stats_shared_total", "Stats requests answered by a kept or in-flight answer.",
            cs.shared);
    counter(b, "sev_stats_refused_total", "Stats requests refused: too many answers pending.",
            cs.refused);
    gauge(b, "sev_stats_waiting", "Stats queries waiting for a free slot.", (double)cs.waiting);
}

static void render_eventsub(const struct api_ctx *ctx, struct buf *out)
{
    if (!*ctx->esm)
        return;
    struct esm_stats s;
    esm_stats(*ctx->esm, &s);
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

static void render_twitch(const struct api_ctx *ctx, struct buf *out)
{
    if (!*ctx->twitch)
        return;
    struct twitch_stats s;
    twitch_stats(*ctx->twitch, &s);
    buf_printf(out,
               "# HELP sev_twitch_requests_total HTTP requests sent to Twitch (OAuth and Helix).\n"
               "# TYPE sev_twitch_requests_total counter\nsev_twitch_requests_total %llu\n"
               "# HELP sev_twitch_errors_total Twitch calls that ended without a 2xx answer.\n"
               "# TYPE sev_twitch_errors_total counter\nsev_twitch_errors_total %llu\n"
               "# HELP sev_twitch_retries_total Twitch requests repeated after a 5xx or no answer.\n"
               "# TYPE sev_twitch_retries_total counter\nsev_twitch_retries_total %llu\n"
               "# HELP sev_twitch_rate_limited_total 429 answers from Twitch.\n"
               "# TYPE sev_twitch_rate_limited_total counter\nsev_twitch_rate_limited_total %llu\n"
               "# HELP sev_twitch_inflight Twitch calls waiting for an answer.\n"
               "# TYPE sev_twitch_inflight gauge\nsev_twitch_inflight %llu\n",
               (unsigned long long)s.requests, (unsigned long long)s.errors,
               (unsigned long long)s.retries, (unsigned long long)s.rate_limited,
               (unsigned long long)s.inflight);
}

static void render_cluster(const struct api_ctx *ctx, struct buf *out)
{
    buf_printf(out,
               "# HELP sev_leader 1 when this node runs the once-per-deployment work.\n"
               "# TYPE sev_leader gauge\nsev_leader %d\n",
               leader_is(*ctx->leader));
    if (*ctx->order) {
        struct bus_order_stats s;
        bus_order_stats(*ctx->order, &s);
        buf_printf(out,
                   "# HELP sev_bus_delivered_total Events handed to the hub in each streamer's "
                   "order.\n# TYPE sev_bus_delivered_total counter\nsev_bus_delivered_total "
                   "%llu\n"
                   "# HELP sev_bus_repeats_total Bus deliveries dropped as already delivered.\n"
                   "# TYPE sev_bus_repeats_total counter\nsev_bus_repeats_total %llu\n"
                   "# HELP sev_bus_filled_total Events read from the store to fill a gap.\n"
                   "# TYPE sev_bus_filled_total counter\nsev_bus_filled_total %llu\n"
                   "# HELP sev_bus_fills_total Store reads made to fill gaps or to check.\n"
                   "# TYPE sev_bus_fills_total counter\nsev_bus_fills_total %llu\n",
                   (unsigned long long)s.delivered, (unsigned long long)s.repeats,
                   (unsigned long long)s.filled, (unsigned long long)s.fills);
    }
}

void api_metrics(struct http_request *req)
{
    const struct api_ctx *ctx = req->route_ctx;
    struct buf b;
    buf_init(&b, 0);
    render_http(ctx, &b);
    gauge(&b, "sev_http_connections", "Open HTTP and WebSocket connections.",
          (double)http_server_connections(*ctx->http));
    render_hub(ctx, &b);
    render_ingest(ctx, &b);
    render_store(ctx, &b);
    render_cluster(ctx, &b);
    render_eventsub(ctx, &b);
    render_twitch(ctx, &b);
    gauge(&b, "sev_uptime_seconds", "Seconds since start.",
          (double)(clock_mono_us() - *ctx->started_us) / 1e6);
    http_add_header(req, "Cache-Control", "no-store");
    http_respond_buf(req, 200, "text/plain; version=0.0.4; charset=utf-8", &b);
}
