#include "app.h"
#include "app_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api.h"
#include "api/stats_cache.h"
#include "auth/tokenbox.h"
#include "auth/accounts.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/rand.h"
#include "bus/bus.h"
#include "bus/bus_order.h"
#include "cluster/leader.h"
#include "eventsub/webhook.h"
#include "http/server.h"
#include "http/static.h"
#include "hub/hub.h"
#include "ingest/ingest.h"
#include "pages/pages.h"
#include "store/store.h"
#include "streams/streams.h"

#define SETTING_EVENTSUB_SECRET "eventsub_secret" /* plain: written by older versions only */
#define SETTING_EVENTSUB_SECRET_SEALED "eventsub_secret_sealed"
/* Helix Get Streams is asked at most this often per streamer; events update it in between. */
#define STREAM_STATUS_TTL_S 30

static void on_request_done(void *arg, const char *route, int status, int64_t dur_us)
{
    struct app *app = arg;
    size_t i;
    for (i = 0; i < app->nroutes; i++)
        if (app->routes[i].pattern == route)
            break;
    struct route_metrics *m = &app->route_metrics[i]; /* i == nroutes: unmatched */
    int cls = status / 100;
    if (cls >= 1 && cls <= 5)
        m->by_class[cls]++;
    m->dur_sum_us += dur_us;
}

static void on_bus_event(void *arg, const struct event *ev)
{
    struct app *app = arg;
    if (app->streams)
        streams_on_event(app->streams, ev);
    if (app->hub) /* events made durable by the final drain have no live audience left */
        hub_publish(app->hub, ev);
}

/* A shared bus may drop, repeat or reorder: bus_order puts each streamer back in order. */
static void on_bus_raw(void *arg, const struct event *ev)
{
    struct app *app = arg;
    if (app->order)
        bus_order_event(app->order, ev);
    else
        on_bus_event(app, ev);
}

static void on_bus_resync(void *arg)
{
    struct app *app = arg;
    if (app->order)
        bus_order_resync(app->order);
}

static void on_leader_change(void *arg, int leading)
{
    struct app *app = arg;
    if (app->several_nodes) /* one node: accounts keeps its own timer, as ever */
        accounts_set_upkeep(app->accounts, leading);
    app_eventsub_lead(app, leading);
}

static int streamer_active(void *arg, const char *login)
{
    struct app *app = arg;
    return app->hub && hub_streamer(app->hub, login) != NULL;
}

/* The origin (scheme://host[:port]) of url into out. */
static void origin_of(const char *url, char *out, size_t size)
{
    const char *p = strstr(url, "://");
    size_t n = p ? (size_t)(p + 3 - url) + strcspn(p + 3, "/?#") : strlen(url);
    snprintf(out, size, "%.*s", (int)n, url);
}

static int is_ip_literal(const char *host)
{
    if (host[0] == '[')
        return 1;
    for (const char *p = host; *p; p++)
        if ((*p < '0' || *p > '9') && *p != '.')
            return 0;
    return 1;
}

/* Security headers on every response; the CSP allows exactly the Twitch embeds configured. */
static void build_default_headers(struct app *app)
{
    char player[256], chat[256], api[256];
    origin_of(app->cfg.player_url, player, sizeof player);
    origin_of(app->cfg.chat_url, chat, sizeof chat);
    origin_of(app->cfg.api_url, api, sizeof api);
    snprintf(app->default_headers, sizeof app->default_headers,
             "Content-Security-Policy: default-src 'self'; script-src 'self'; "
             "style-src 'self'; img-src 'self' data: https://static-cdn.jtvnw.net %s; "
             "connect-src 'self'; frame-src %s %s; frame-ancestors 'none'; base-uri 'none'; "
             "form-action 'self'; object-src 'none'\r\n"
             "X-Content-Type-Options: nosniff\r\n"
             "Referrer-Policy: same-origin\r\n"
             "Cross-Origin-Opener-Policy: same-origin\r\n"
             "%s"
             "Server: sev\r\n",
             api, player, chat,
             /* reached over https (a TLS proxy in front): browsers stay on https for a year */
             app->cfg.public_https ? "Strict-Transport-Security: max-age=31536000\r\n" : "");
}

/* GET /config.json: what the pages need to build the Twitch embeds. */
static void build_config_json(struct app *app)
{
    const char *host = app->cfg.public_host;
    int local = strcmp(host, "localhost") == 0;
    const char *problem = "";
    if (is_ip_literal(host))
        problem = "Twitch embeds reject IP addresses as parent: reach SEV by a host name "
                  "(SEV_PUBLIC_URL).";
    else if (!app->cfg.public_https && !local)
        problem = "Twitch embeds need HTTPS outside localhost: set SEV_PUBLIC_URL to an "
                  "https:// address.";
    struct buf b;
    buf_init(&b, sizeof app->config_json - 1);
    buf_puts(&b, "{\"public_url\":\"");
    buf_json_escape(&b, app->cfg.public_url, strlen(app->cfg.public_url));
    buf_puts(&b, "\",\"player_url\":\"");
    buf_json_escape(&b, app->cfg.player_url, strlen(app->cfg.player_url));
    buf_puts(&b, "\",\"chat_url\":\"");
    buf_json_escape(&b, app->cfg.chat_url, strlen(app->cfg.chat_url));
    buf_puts(&b, "\",\"parents\":[\"");
    buf_json_escape(&b, host, strlen(host));
    buf_printf(&b, "\"],\"embed_ok\":%s,\"embed_problem\":", *problem ? "false" : "true");
    if (*problem) {
        buf_puts(&b, "\"");
        buf_json_escape(&b, problem, strlen(problem));
        buf_puts(&b, "\"");
    } else {
        buf_puts(&b, "null");
    }
    buf_printf(&b, ",\"demo\":%s}", app->cfg.demo ? "true" : "false");
    snprintf(app->config_json, sizeof app->config_json, "%s", b.data ? b.data : "{}");
    buf_release(&b);
}

/* The generated EventSub secret is kept in the database sealed with the token key
 * (SEV_KEY_FILE, auth/tokenbox), as hex: a copy of the database alone cannot forge webhooks.
 * A plain one kept by an older SEV is sealed on start and its plain row emptied. */
#define SECRET_OWNER "eventsub_secret" /* tokenbox additional data: binds the blob to its row */

static int secret_seal_store(struct app *app, struct err *err)
{
    unsigned char *blob = NULL;
    size_t len = 0;
    const char *s = app->eventsub_secret;
    if (tokenbox_seal(app->tokenbox, SECRET_OWNER, s, strlen(s), &blob, &len) < 0)
        return err_set(err, "cannot seal the EventSub secret");
    char *hex = malloc(2 * len + 1);
    if (!hex) {
        free(blob);
        return err_set(err, "out of memory");
    }
    for (size_t i = 0; i < len; i++)
        snprintf(hex + 2 * i, 3, "%02x", blob[i]);
    free(blob);
    int rc = store_setting_set(app->store, SETTING_EVENTSUB_SECRET_SEALED, hex, err);
    free(hex);
    return rc;
}

/* 0 and app->eventsub_secret from the sealed setting; 1 when there is none (or it does not
 * open: another key); -1 with err. */
static int secret_unseal(struct app *app, struct err *err)
{
    char *hex = NULL, *plain = NULL;
    size_t plain_len = 0;
    int found = store_setting_get(app->store, SETTING_EVENTSUB_SECRET_SEALED, &hex, err);
    if (found != 0)
        return found;
    size_t n = strlen(hex) / 2;
    unsigned char *blob = malloc(n ? n : 1);
    int rc = 1;
    if (!blob) {
        free(hex);
        return err_set(err, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            goto out;
        blob[i] = (unsigned char)v;
    }
    if (tokenbox_open(app->tokenbox, SECRET_OWNER, blob, n, &plain, &plain_len) < 0) {
        log_warn("eventsub.secret_unreadable", "%s",
                 "reason=\"the stored secret does not open with SEV_KEY_FILE's key\" "
                 "action=\"a new secret is generated; webhook subscriptions are made again\"");
        goto out;
    }
    if (plain_len >= 10 && plain_len < sizeof app->eventsub_secret) {
        memcpy(app->eventsub_secret, plain, plain_len + 1);
        rc = 0;
    }
out:
    tokenbox_wipe_free(plain);
    free(blob);
    free(hex);
    return rc;
}

/* TWITCH_EVENTSUB_SECRET, or the one generated on first start and kept (sealed) in the
 * database. */
static int resolve_eventsub_secret(struct app *app, struct err *err)
{
    if (app->cfg.eventsub_secret[0]) {
        snprintf(app->eventsub_secret, sizeof app->eventsub_secret, "%s",
                 app->cfg.eventsub_secret);
        return 0;
    }
    if (!app->tokenbox && tokenbox_new(app->cfg.key_file, &app->tokenbox, err) < 0)
        return -1;
    int rc = secret_unseal(app, err);
    if (rc <= 0)
        return rc;
    /* An older SEV kept it in plain text: seal it, then empty the plain row. */
    char *stored = NULL;
    int found = store_setting_get(app->store, SETTING_EVENTSUB_SECRET, &stored, err);
    if (found < 0)
        return -1;
    if (found == 0 && strlen(stored) >= 10 && strlen(stored) < sizeof app->eventsub_secret) {
        snprintf(app->eventsub_secret, sizeof app->eventsub_secret, "%s", stored);
        tokenbox_wipe_free(stored);
        if (secret_seal_store(app, err) < 0 ||
            store_setting_set(app->store, SETTING_EVENTSUB_SECRET, "", err) < 0)
            return -1;
        log_info("eventsub.secret_sealed", "%s", "was=plain");
        return 0;
    }
    tokenbox_wipe_free(stored);
    if (rand_hex(app->eventsub_secret, 32) < 0)
        return err_set(err, "cannot generate the EventSub secret");
    if (secret_seal_store(app, err) < 0)
        return -1;
    log_info("eventsub.secret_generated", "%s", "where=database sealed=1");
    return 0;
}

/* The handlers' view of this app: pointers to its slots, so they read the current values. */
static void build_api_ctx(struct app *app)
{
    app->api_ctx = (struct api_ctx){
        .pages = {.web = &app->web},
        .cfg = &app->cfg,
        .node_id = app->node_id,
        .config_json = app->config_json,
        .started_us = &app->started_us,
        .store = &app->store,
        .bus = &app->bus,
        .order = &app->order,
        .hub = &app->hub,
        .ingest = &app->ingest,
        .webhook = &app->webhook,
        .esm = &app->esm,
        .twitch = &app->twitch,
        .accounts = &app->accounts,
        .streams = &app->streams,
        .stats_cache = &app->stats_cache,
        .leader = &app->leader,
        .http = &app->http,
        .routes = &app->routes,
        .nroutes = &app->nroutes,
        .route_metrics = app->route_metrics,
    };
}

static int build_routes(struct app *app)
{
    build_api_ctx(app);
    app->nroutes = api_nroutes;
    app->routes = calloc(app->nroutes + 1, sizeof *app->routes);
    if (!app->routes)
        return -1;
    for (size_t i = 0; i < app->nroutes; i++) {
        app->routes[i] = api_routes[i];
        app->routes[i].ctx = &app->api_ctx;
    }
    return 0;
}

static void on_signal(uv_signal_t *s, int signum)
{
    struct app *app = s->data;
    log_info("sev.stopping", "signal=%d", signum);
    app_stop(app);
}

int app_start(struct app *app, uv_loop_t *loop, const struct config *cfg, struct err *err)
{
    memset(app, 0, sizeof *app);
    app->cfg = *cfg;
    app->loop = loop;
    app->started_us = clock_mono_us();
    if (static_load(cfg->web_dir, &app->web, err) < 0)
        return -1;
    /* the bus first: a bad SEV_BUS must not leave a database behind */
    if (bus_open(loop, cfg->bus, on_bus_raw, app, &app->bus, err) < 0)
        return -1;
    if (store_open(loop, cfg->database, &app->store, err) < 0) {
        struct err why = *err; /* the contract: a bad value's error names its variable */
        return err_set(err, "SEV_DATABASE: %s", why.msg);
    }
    if (resolve_eventsub_secret(app, err) < 0)
        return -1;
    struct stats_cache_options sco = {cfg->stats_cache_s, cfg->stats_queries_max};
    app->stats_cache = stats_cache_new(app->store, &sco);
    if (!app->stats_cache)
        return err_set(err, "out of memory");
    if (bus_shared(app->bus)) {
        app->order = bus_order_new(loop, app->store, on_bus_event, streamer_active, app);
        if (!app->order)
            return err_set(err, "out of memory");
        bus_on_resync(app->bus, on_bus_resync, app);
    }
    struct hub_options hopts = {
        .max_queue_bytes = (size_t)cfg->ws_queue_kib << 10,
        .ping_interval_ms = (int64_t)cfg->ws_ping_interval_s * 1000,
        .ping_timeout_ms = (int64_t)cfg->ws_ping_timeout_s * 1000,
        .send_timeout_ms = (int64_t)cfg->ws_send_timeout_s * 1000,
        .max_idle_channels = (size_t)cfg->hub_idle_channels,
        .replay_max_bytes = (size_t)cfg->ws_replay_kib << 10,
    };
    if (hub_new(loop, app->store, &hopts, &app->hub, err) < 0)
        return -1;
    app->ingest = ingest_new(app->store, app->bus);
    if (app->ingest && ingest_retry_start(app->ingest, loop, (size_t)cfg->ingest_retry_max) < 0)
        return err_set(err, "cannot start the ingest retry timer");
    struct webhook_hooks wh_hooks = {app_eventsub_on_verified, app_eventsub_on_revocation, app};
    app->webhook = app->ingest ? webhook_new(app->ingest, app->eventsub_secret, &wh_hooks) : NULL;
    if (!app->webhook || build_routes(app) < 0)
        return err_set(err, "out of memory");
    struct esm_twitch_ops twitch_ops;
    app->several_nodes = strncmp(cfg->database, "sqlite:", 7) != 0;
    if (app_accounts_start(app, &twitch_ops, err) < 0 ||
        app_eventsub_start(app, app->twitch ? &twitch_ops : NULL, err) < 0 ||
        app_accounts_load(app, err) < 0)
        return -1;
    if (leader_new(loop, cfg->database, on_leader_change, app, &app->leader, err) < 0)
        return -1;
    if (app->several_nodes) /* the hourly validation waits for leadership */
        accounts_set_upkeep(app->accounts, leader_is(app->leader));
    app->streams = streams_new(app->twitch, STREAM_STATUS_TTL_S);
    if (!app->streams)
        return err_set(err, "out of memory");
    build_default_headers(app);
    build_config_json(app);
    struct http_server_options hopt = {
        .host = cfg->listen_host,
        .port = cfg->listen_port,
        .routes = app->routes,
        .not_found = page_not_found,
        .not_found_ctx = &app->api_ctx,
        .default_headers = app->default_headers,
        .observe = on_request_done,
        .observe_arg = app,
        .header_timeout_us = cfg->header_timeout_us,
        .body_timeout_us = cfg->body_timeout_us,
        .send_timeout_us = cfg->send_timeout_us,
        .max_connections = (size_t)cfg->max_connections,
        .max_per_address = (size_t)cfg->max_connections_per_address,
    };
    struct err herr = {{0}};
    if (http_server_new(loop, &hopt, &app->http, &herr) < 0)
        return err_set(err, "SEV_LISTEN: %s", herr.msg);
    if (cfg->node_id[0]) {
        snprintf(app->node_id, sizeof app->node_id, "%s", cfg->node_id);
    } else {
        char host[64] = "localhost";
        gethostname(host, sizeof host - 1);
        snprintf(app->node_id, sizeof app->node_id, "%s:%d", host, app_port(app));
    }
    uv_signal_init(loop, &app->sigint);
    uv_signal_init(loop, &app->sigterm);
    app->sigint.data = app->sigterm.data = app;
    uv_signal_start(&app->sigint, on_signal, SIGINT);
    uv_signal_start(&app->sigterm, on_signal, SIGTERM);
    return 0;
}

int app_port(const struct app *app)
{
    return http_server_port(app->http);
}

static void on_http_drained(void *arg)
{
    struct app *app = arg;
    leader_free(app->leader); /* the lock goes with its session; another node takes over */
    app->leader = NULL;
    bus_stop(app->bus); /* nothing more arrives from other nodes */
    bus_order_free(app->order); /* its pending store reads call back and deliver nothing */
    app->order = NULL;
    app_eventsub_stop(app); /* before the store closes: it records the stop time */
    app_accounts_stop(app); /* after the manager (it asks for tokens), before the store */
    streams_free(app->streams); /* after the Twitch client: its free answered our calls */
    app->streams = NULL;
    hub_free(app->hub);
    app->hub = NULL;
    http_server_free(app->http);
    app->http = NULL;
    stats_cache_free(app->stats_cache); /* every request is answered: nobody waits on it */
    app->stats_cache = NULL;
    ingest_retry_stop(app->ingest); /* what still waits for a retry cannot be stored now */
    store_close(app->store); /* nothing can append any more: drain and close */
    app->store = NULL;
    uv_close((uv_handle_t *)&app->sigint, NULL);
    uv_close((uv_handle_t *)&app->sigterm, NULL);
}

void app_stop(struct app *app)
{
    if (app->stopping)
        return;
    app->stopping = 1;
    uv_signal_stop(&app->sigint);
    uv_signal_stop(&app->sigterm);
    /* in-flight answers are written first; then the hub and the listener close */
    http_server_shutdown(app->http, on_http_drained, app);
}

void app_release(struct app *app)
{
    stats_cache_free(app->stats_cache);
    app->stats_cache = NULL;
    leader_free(app->leader); /* start-up failed before the loop ran */
    app->leader = NULL;
    free(app->esm_ops);
    app->esm_ops = NULL;
    if (app->order) { /* start-up failed before the loop ran */
        bus_order_free(app->order);
        app->order = NULL;
    }
    if (app->store) /* start-up failed before the loop ran */
        store_close(app->store);
    webhook_free(app->webhook);
    ingest_free(app->ingest);
    bus_free(app->bus);
    static_free(app->web);
    free(app->routes);
    app_accounts_release(app);
    streams_free(app->streams);
    app->streams = NULL;
}

