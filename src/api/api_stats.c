/* GET /api/stats/...: answered through api/stats_cache (shared, bounded), never straight from
 * the store: anyone may ask, and each query scans many rows. */
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/stats_cache.h"
#include "store/store.h"

static const char *const key_names[] = {
    [STATS_STREAMERS] = "streamer",
    [STATS_TYPES] = "type",
    [STATS_HOURLY] = "hour",
};

/* [{"<key_name>":"…","events":N}, …] */
static void respond_rows(struct http_request *req, const char *key_name,
                         const struct stat_list *rows)
{
    struct buf b;
    buf_init(&b, 0);
    buf_puts(&b, "[");
    for (size_t i = 0; rows && i < rows->count; i++) {
        buf_printf(&b, "%s{\"%s\":\"", i ? "," : "", key_name);
        buf_json_escape(&b, rows->rows[i].key, strlen(rows->rows[i].key));
        buf_printf(&b, "\",\"events\":%lld}", (long long)rows->rows[i].count);
    }
    buf_puts(&b, "]");
    http_add_header(req, "Cache-Control", "no-store");
    http_respond_buf(req, 200, "application/json", &b);
}

static void respond_busy(struct http_request *req)
{
    http_add_header(req, "Retry-After", "5");
    http_respond_error(req, 503, "the event store is not answering");
}

static void on_streamers(void *arg, int status, const struct stat_list *rows)
{
    if (status < 0)
        respond_busy(arg);
    else
        respond_rows(arg, key_names[STATS_STREAMERS], rows);
}

static void on_types(void *arg, int status, const struct stat_list *rows)
{
    if (status < 0)
        respond_busy(arg);
    else
        respond_rows(arg, key_names[STATS_TYPES], rows);
}

static void on_hourly(void *arg, int status, const struct stat_list *rows)
{
    if (status < 0)
        respond_busy(arg);
    else
        respond_rows(arg, key_names[STATS_HOURLY], rows);
}

static const stats_cache_fn answer_fns[] = {
    [STATS_STREAMERS] = on_streamers,
    [STATS_TYPES] = on_types,
    [STATS_HOURLY] = on_hourly,
};

static void stats_ask(struct http_request *req, enum stats_kind kind, const char *login, int hours)
{
    const struct api_ctx *ctx = req->route_ctx;
    if (stats_cache_get(*ctx->stats_cache, kind, login, hours, answer_fns[kind], req) < 0)
        respond_busy(req);
}

void api_stats_streamers(struct http_request *req)
{
    stats_ask(req, STATS_STREAMERS, NULL, 0);
}

void api_stats_types(struct http_request *req)
{
    char login[64];
    if (api_login_param(req, req->params[0], login, sizeof login) < 0)
        return;
    stats_ask(req, STATS_TYPES, login, 0);
}

void api_stats_hourly(struct http_request *req)
{
    char login[64], num[16];
    if (api_login_param(req, req->params[0], login, sizeof login) < 0)
        return;
    int hours = 24;
    int has = http_query_param(req, "hours", num, sizeof num);
    if (has < 0 || (has == 1 && (sscanf(num, "%d", &hours) != 1 || hours < 1 || hours > 720))) {
        http_respond_error(req, 400, "hours must be a number from 1 to 720");
        return;
    }
    stats_ask(req, STATS_HOURLY, login, hours);
}
