#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "app.h"
#include "store/store.h"

/* [{"<key_name>":"…","events":N}, …] */
static void respond_rows(struct http_request *req, const char *key_name, struct stat_list *rows)
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

static void on_streamers(void *arg, int status, struct stat_list *rows)
{
    struct http_request *req = arg;
    if (status < 0)
        http_respond_error(req, 503, "the event store is not answering");
    else
        respond_rows(req, "streamer", rows);
    stat_list_free(rows);
}

static void on_types(void *arg, int status, struct stat_list *rows)
{
    struct http_request *req = arg;
    if (status < 0)
        http_respond_error(req, 503, "the event store is not answering");
    else
        respond_rows(req, "type", rows);
    stat_list_free(rows);
}

static void on_hourly(void *arg, int status, struct stat_list *rows)
{
    struct http_request *req = arg;
    if (status < 0)
        http_respond_error(req, 503, "the event store is not answering");
    else
        respond_rows(req, "hour", rows);
    stat_list_free(rows);
}

void api_stats_streamers(struct http_request *req)
{
    struct app *app = req->route_ctx;
    if (store_stats_streamers(app->store, on_streamers, req) < 0)
        http_respond_error(req, 503, "the event store is not answering");
}

void api_stats_types(struct http_request *req)
{
    struct app *app = req->route_ctx;
    char login[64];
    if (api_login_param(req, req->params[0], login, sizeof login) < 0)
        return;
    if (store_stats_types(app->store, login, on_types, req) < 0)
        http_respond_error(req, 503, "the event store is not answering");
}

void api_stats_hourly(struct http_request *req)
{
    struct app *app = req->route_ctx;
    char login[64], num[16];
    if (api_login_param(req, req->params[0], login, sizeof login) < 0)
        return;
    int hours = 24;
    int has = http_query_param(req, "hours", num, sizeof num);
    if (has < 0 || (has == 1 && (sscanf(num, "%d", &hours) != 1 || hours < 1 || hours > 720))) {
        http_respond_error(req, 400, "hours must be a number from 1 to 720");
        return;
    }
    if (store_stats_hourly(app->store, login, hours, on_hourly, req) < 0)
        http_respond_error(req, 503, "the event store is not answering");
}
