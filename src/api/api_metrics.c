/* GET /metrics: every line of SEV's Prometheus text, from each module's stats: one table of
 * rows per module's stats struct (name, type, help, label, field), rendered by one function;
 * code only where a line is no field (the route counts, the latency histogram, uptime). */
#include <stddef.h>
#include <stdint.h>
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

/* One line of /metrics: a field of a module's stats struct. The rows of one family (one name,
 * a label each) follow each other; the family's # HELP and # TYPE come before its first. */
struct metric {
    const char *name;
    const char *type;  /* "counter" or "gauge" */
    const char *help;  /* NULL: the # TYPE line only */
    const char *label; /* e.g. outcome="stored", or NULL */
    size_t offset;     /* of the field in the stats struct */
    int u32;           /* the field is a uint32_t (else a uint64_t) */
};

#define COUNTER(st, field, name, help)                                                             \
    {                                                                                              \
        name, "counter", help, NULL, offsetof(st, field), 0                                        \
    }
#define GAUGE(st, field, name, help)                                                               \
    {                                                                                              \
        name, "gauge", help, NULL, offsetof(st, field), 0                                          \
    }
#define LABELLED(st, field, name, type, help, label)                                               \
    {                                                                                              \
        name, type, help, label, offsetof(st, field), 0                                            \
    }
#define NROWS(rows) (sizeof rows / sizeof rows[0])

static void family_head(struct buf *b, const char *name, const char *type, const char *help)
{
    if (help)
        buf_printf(b, "# HELP %s %s\n", name, help);
    buf_printf(b, "# TYPE %s %s\n", name, type);
}

/* Counters as integers, gauges as %.17g (the same text for any whole number below 2^53). */
static void render_rows(struct buf *b, const struct metric *rows, size_t n, const void *stats)
{
    for (size_t i = 0; i < n; i++) {
        const struct metric *m = &rows[i];
        if (i == 0 || strcmp(m->name, rows[i - 1].name) != 0)
            family_head(b, m->name, m->type, m->help);
        uint64_t v;
        if (m->u32) {
            uint32_t v32;
            memcpy(&v32, (const char *)stats + m->offset, sizeof v32);
            v = v32;
        } else {
            memcpy(&v, (const char *)stats + m->offset, sizeof v);
        }
        buf_printf(b, "%s%s%s%s ", m->name, m->label ? "{" : "", m->label ? m->label : "",
                   m->label ? "}" : "");
        if (strcmp(m->type, "counter") == 0)
            buf_printf(b, "%llu\n", (unsigned long long)v);
        else
            buf_printf(b, "%.17g\n", (double)v);
    }
}

/* A gauge that is no stats field (connections, uptime). */
static void gauge(struct buf *b, const char *name, const char *help, double v)
{
    family_head(b, name, "gauge", help);
    buf_printf(b, "%s %.17g\n", name, v);
}

static void render_http(const struct api_ctx *ctx, struct buf *b)
{
    family_head(b, "sev_http_requests_total", "counter",
                "HTTP requests answered, by route and status class.");
    for (size_t i = 0; i <= *ctx->nroutes; i++) {
        const char *route = i < *ctx->nroutes ? (*ctx->routes)[i].pattern : "unmatched";
        for (int c = 1; c <= 5; c++) {
            uint64_t n = ctx->route_metrics[i].by_class[c];
            if (n)
                buf_printf(b, "sev_http_requests_total{route=\"%s\",code=\"%dxx\"} %llu\n", route,
                           c, (unsigned long long)n);
        }
    }
}

static const struct metric hub_rows[] = {
    GAUGE(struct hub_stats, clients, "sev_websocket_clients", "WebSocket clients connected now."),
    GAUGE(struct hub_stats, channels, "sev_streamers_in_memory",
          "Streamers whose newest events are in memory."),
    COUNTER(struct hub_stats, frames_published, "sev_frames_published_total",
            "Events encoded once for fan-out."),
    COUNTER(struct hub_stats, messages_sent, "sev_websocket_messages_sent_total",
            "Event frames written to clients."),
    COUNTER(struct hub_stats, clients_culled, "sev_websocket_clients_culled_total",
            "Clients closed for not reading."),
    COUNTER(struct hub_stats, replayed, "sev_replayed_events_total",
            "Events sent by since= replays."),
};

static void render_hub(const struct api_ctx *ctx, struct buf *b)
{
    struct hub_stats hs;
    hub_stats(*ctx->hub, &hs);
    render_rows(b, hub_rows, NROWS(hub_rows), &hs);
    family_head(b, "sev_fanout_latency_seconds", "histogram",
                "From publish to written to the client's socket.");
    uint64_t cum = 0;
    for (int i = 0; i < HUB_LATENCY_BUCKETS; i++) {
        cum += hs.latency_count[i];
        buf_printf(b, "sev_fanout_latency_seconds_bucket{le=\"%g\"} %llu\n",
                   (double)hub_latency_bounds_us[i] / 1e6, (unsigned long long)cum);
    }
    cum += hs.latency_count[HUB_LATENCY_BUCKETS];
    buf_printf(b, "sev_fanout_latency_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)cum);
    buf_printf(b, "sev_fanout_latency_seconds_sum %.6f\nsev_fanout_latency_seconds_count %llu\n",
               (double)hs.latency_sum_us / 1e6, (unsigned long long)cum);
}

#define INGESTED "sev_events_ingested_total"
#define INGESTED_HELP "Events received, by outcome (skipped: plain chat, not kept)."
#define RECEIVED "sev_events_received_total"
#define RECEIVED_HELP "Events handed to the store, by transport."
static const struct metric ingest_rows[] = {
    LABELLED(struct ingest_stats, stored, INGESTED, "counter", INGESTED_HELP, "outcome=\"stored\""),
    LABELLED(struct ingest_stats, duplicates, INGESTED, "counter", INGESTED_HELP,
             "outcome=\"duplicate\""),
    LABELLED(struct ingest_stats, failed, INGESTED, "counter", INGESTED_HELP, "outcome=\"failed\""),
    LABELLED(struct ingest_stats, skipped, INGESTED, "counter", INGESTED_HELP,
             "outcome=\"skipped\""),
    /* by enum ingest_source */
    LABELLED(struct ingest_stats, by_transport[INGEST_WEBHOOK], RECEIVED, "counter", RECEIVED_HELP,
             "transport=\"webhook\""),
    LABELLED(struct ingest_stats, by_transport[INGEST_WEBSOCKET], RECEIVED, "counter",
             RECEIVED_HELP, "transport=\"websocket\""),
    LABELLED(struct ingest_stats, by_transport[INGEST_SEV], RECEIVED, "counter", RECEIVED_HELP,
             "transport=\"sev\""),
    COUNTER(struct ingest_stats, retried, "sev_ingest_retried_total",
            "Events without a sender to redeliver them (EventSub WebSocket, SEV's own) stored by "
            "a retry after the store failed them."),
    COUNTER(struct ingest_stats, retry_dropped, "sev_ingest_retry_dropped_total",
            "Events dropped because the retry queue was full (SEV_INGEST_RETRY_MAX)."),
    GAUGE(struct ingest_stats, retry_queued, "sev_ingest_retry_queued",
          "Events waiting for a retry now."),
};

#define WEBHOOK "sev_webhook_messages_total"
#define WEBHOOK_HELP "Webhook messages, by outcome."
#define WEBHOOK_ROW(field, outcome)                                                                \
    LABELLED(struct webhook_stats, field, WEBHOOK, "counter", WEBHOOK_HELP,                        \
             "outcome=\"" outcome "\"")
static const struct metric webhook_rows[] = {
    WEBHOOK_ROW(accepted, "accepted"),    WEBHOOK_ROW(duplicates, "duplicate"),
    WEBHOOK_ROW(challenges, "challenge"), WEBHOOK_ROW(revocations, "revocation"),
    WEBHOOK_ROW(rejected, "rejected"),    WEBHOOK_ROW(skipped, "skipped"),
};

static void render_ingest(const struct api_ctx *ctx, struct buf *b)
{
    struct ingest_stats is;
    ingest_stats(*ctx->ingest, &is);
    render_rows(b, ingest_rows, NROWS(ingest_rows), &is);
    struct webhook_stats ws;
    webhook_stats(*ctx->webhook, &ws);
    render_rows(b, webhook_rows, NROWS(webhook_rows), &ws);
}

static const struct metric store_rows[] = {
    GAUGE(struct store_counters, failing, "sev_store_write_failing",
          "Write transactions failed since the last commit (0: the store can write)."),
};

static const struct metric stats_cache_rows[] = {
    COUNTER(struct stats_cache_stats, queries, "sev_stats_queries_total",
            "Stats queries sent to the store."),
    COUNTER(struct stats_cache_stats, shared, "sev_stats_shared_total",
            "Stats requests answered by a kept or in-flight answer."),
    COUNTER(struct stats_cache_stats, refused, "sev_stats_refused_total",
            "Stats requests refused: too many answers pending."),
    GAUGE(struct stats_cache_stats, waiting, "sev_stats_waiting",
          "Stats queries waiting for a free slot."),
};

static void render_store(const struct api_ctx *ctx, struct buf *b)
{
    struct store_counters sc;
    store_counters_get(*ctx->store, &sc);
    render_rows(b, store_rows, NROWS(store_rows), &sc);
    struct stats_cache_stats cs;
    stats_cache_stats_get(*ctx->stats_cache, &cs);
    render_rows(b, stats_cache_rows, NROWS(stats_cache_rows), &cs);
}

#define ESM_GAUGE(field, name, help)                                                               \
    {                                                                                              \
        name, "gauge", help, NULL, offsetof(struct esm_stats, field), 1                            \
    }
static const struct metric esm_rows[] = {
    ESM_GAUGE(streamers, "sev_eventsub_streamers", "Streamers with an upstream subscription set."),
    ESM_GAUGE(sessions, "sev_eventsub_sessions", "EventSub WebSocket sessions."),
    ESM_GAUGE(enabled, "sev_eventsub_enabled", "Subscriptions receiving now."),
    COUNTER(struct esm_stats, created, "sev_eventsub_created_total", NULL),
    COUNTER(struct esm_stats, adopted, "sev_eventsub_adopted_total", NULL),
    COUNTER(struct esm_stats, deleted, "sev_eventsub_deleted_total", NULL),
    COUNTER(struct esm_stats, create_errors, "sev_eventsub_create_errors_total", NULL),
    COUNTER(struct esm_stats, sessions_opened, "sev_eventsub_sessions_opened_total",
            "EventSub WebSocket sessions started (connections begun)."),
    COUNTER(struct esm_stats, sessions_lost, "sev_eventsub_sessions_lost_total", NULL),
    COUNTER(struct esm_stats, gaps, "sev_eventsub_gaps_total", NULL),
    COUNTER(struct esm_stats, revocations, "sev_eventsub_revocations_total", NULL),
};

static void render_eventsub(const struct api_ctx *ctx, struct buf *b)
{
    if (!*ctx->esm)
        return;
    struct esm_stats s;
    esm_stats(*ctx->esm, &s);
    render_rows(b, esm_rows, NROWS(esm_rows), &s);
}

static const struct metric twitch_rows[] = {
    COUNTER(struct twitch_stats, requests, "sev_twitch_requests_total",
            "HTTP requests sent to Twitch (OAuth and Helix)."),
    COUNTER(struct twitch_stats, errors, "sev_twitch_errors_total",
            "Twitch calls that ended without a 2xx answer."),
    COUNTER(struct twitch_stats, retries, "sev_twitch_retries_total",
            "Twitch requests repeated after a 5xx or no answer."),
    COUNTER(struct twitch_stats, rate_limited, "sev_twitch_rate_limited_total",
            "429 answers from Twitch."),
    GAUGE(struct twitch_stats, inflight, "sev_twitch_inflight",
          "Twitch calls waiting for an answer."),
};

static void render_twitch(const struct api_ctx *ctx, struct buf *b)
{
    if (!*ctx->twitch)
        return;
    struct twitch_stats s;
    twitch_stats(*ctx->twitch, &s);
    render_rows(b, twitch_rows, NROWS(twitch_rows), &s);
}

static const struct metric order_rows[] = {
    COUNTER(struct bus_order_stats, delivered, "sev_bus_delivered_total",
            "Events handed to the hub in each streamer's order."),
    COUNTER(struct bus_order_stats, repeats, "sev_bus_repeats_total",
            "Bus deliveries dropped as already delivered."),
    COUNTER(struct bus_order_stats, filled, "sev_bus_filled_total",
            "Events read from the store to fill a gap."),
    COUNTER(struct bus_order_stats, fills, "sev_bus_fills_total",
            "Store reads made to fill gaps or to check."),
};

static void render_cluster(const struct api_ctx *ctx, struct buf *b)
{
    gauge(b, "sev_leader", "1 when this node runs the once-per-deployment work.",
          leader_is(*ctx->leader));
    if (*ctx->order) {
        struct bus_order_stats s;
        bus_order_stats(*ctx->order, &s);
        render_rows(b, order_rows, NROWS(order_rows), &s);
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
