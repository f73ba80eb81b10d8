#include "config/config.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* One row per setting: the environment variable, its flag, the default and a setter that
 * validates. The table is the single source for parsing and for --help. */
struct option_row {
    const char *env;
    const char *flag;
    const char *def; /* NULL: no default */
    const char *help;
    int (*set)(struct config *cfg, const char *value, struct err *err, const char *name);
    size_t field; /* offsetof the char[] field for set_string */
    size_t size;
};

static int set_string(struct config *cfg, const char *v, struct err *err, const char *name,
                      size_t field, size_t size)
{
    if (strlen(v) >= size)
        return err_set(err, "%s: value too long (at most %zu characters)", name, size - 1);
    memcpy((char *)cfg + field, v, strlen(v) + 1);
    return 0;
}

static int parse_port(const char *s, int *port)
{
    char *end;
    long p = strtol(s, &end, 10);
    if (!*s || *end || p < 0 || p > 65535)
        return -1;
    *port = (int)p;
    return 0;
}

static int set_listen(struct config *cfg, const char *v, struct err *err, const char *name)
{
    const char *colon = strrchr(v, ':');
    if (!colon || colon == v || (size_t)(colon - v) >= sizeof cfg->listen_host ||
        parse_port(colon + 1, &cfg->listen_port) < 0)
        return err_set(err, "%s: '%s' is not HOST:PORT (for example 127.0.0.1:8080)", name, v);
    const char *host = v;
    size_t len = (size_t)(colon - v);
    if (host[0] == '[' && len >= 2 && host[len - 1] == ']') { /* [::1]:8080 */
        host++;
        len -= 2;
    }
    memcpy(cfg->listen_host, host, len);
    cfg->listen_host[len] = 0;
    return 0;
}

/* Accepts http(s)://host[:port][/path]; the host is kept for Twitch embeds' parent=. */
static int parse_url(const char *v, int *https, char *host, size_t host_size)
{
    const char *rest;
    if (strncmp(v, "https://", 8) == 0) {
        *https = 1;
        rest = v + 8;
    } else if (strncmp(v, "http://", 7) == 0) {
        *https = 0;
        rest = v + 7;
    } else {
        return -1;
    }
    size_t n = strcspn(rest, ":/?#");
    if (n == 0 || n >= host_size)
        return -1;
    if (rest[0] == '[') { /* IPv6 literal */
        const char *close = strchr(rest, ']');
        if (!close || (size_t)(close - rest + 1) >= host_size)
            return -1;
        n = (size_t)(close - rest + 1);
    }
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)rest[i]) && !strchr(".-_[]:", rest[i]))
            return -1;
    memcpy(host, rest, n);
    host[n] = 0;
    return 0;
}

static int set_public_url(struct config *cfg, const char *v, struct err *err, const char *name)
{
    if (parse_url(v, &cfg->public_https, cfg->public_host, sizeof cfg->public_host) < 0)
        return err_set(err, "%s: '%s' is not an http:// or https:// URL", name, v);
    if (set_string(cfg, v, err, name, offsetof(struct config, public_url),
                   sizeof cfg->public_url) < 0)
        return -1;
    size_t n = strlen(cfg->public_url);
    while (n > 0 && cfg->public_url[n - 1] == '/')
        cfg->public_url[--n] = 0;
    return 0;
}

static int set_http_url(const char *v, struct err *err, const char *name, char *out, size_t size)
{
    int https;
    char host[256];
    if (parse_url(v, &https, host, sizeof host) < 0)
        return err_set(err, "%s: '%s' is not an http:// or https:// URL", name, v);
    if (strlen(v) >= size)
        return err_set(err, "%s: URL too long", name);
    strcpy(out, v);
    size_t n = strlen(out);
    while (n > 0 && out[n - 1] == '/')
        out[--n] = 0;
    return 0;
}

static int set_auth_url(struct config *c, const char *v, struct err *e, const char *n)
{
    return set_http_url(v, e, n, c->auth_url, sizeof c->auth_url);
}

static int set_api_url(struct config *c, const char *v, struct err *e, const char *n)
{
    return set_http_url(v, e, n, c->api_url, sizeof c->api_url);
}

static int set_ws_url(struct config *c, const char *v, struct err *e, const char *n)
{
    if (strncmp(v, "ws://", 5) != 0 && strncmp(v, "wss://", 6) != 0)
        return err_set(e, "%s: '%s' is not a ws:// or wss:// URL", n, v);
    return set_string(c, v, e, n, offsetof(struct config, eventsub_ws_url),
                      sizeof c->eventsub_ws_url);
}

static int set_embed_url(const char *v, struct err *e, const char *n, char *out, size_t size)
{
    if (set_http_url(v, e, n, out, size) < 0)
        return -1;
    if (strlen(out) + 2 > size)
        return err_set(e, "%s: URL too long", n);
    strcat(out, "/"); /* embeds append "?channel=" or "LOGIN/chat" to the base */
    return 0;
}

static int set_player_url(struct config *c, const char *v, struct err *e, const char *n)
{
    return set_embed_url(v, e, n, c->player_url, sizeof c->player_url);
}

static int set_chat_url(struct config *c, const char *v, struct err *e, const char *n)
{
    return set_embed_url(v, e, n, c->chat_url, sizeof c->chat_url);
}

static int set_database(struct config *c, const char *v, struct err *e, const char *n)
{
    if (strncmp(v, "sqlite:", 7) != 0 && strncmp(v, "postgres://", 11) != 0 &&
        strncmp(v, "postgresql://", 13) != 0)
        return err_set(e, "%s: '%s' must be sqlite:PATH or postgres://user:pass@host:port/db", n,
                       v);
    if (strncmp(v, "sqlite:", 7) == 0 && v[7] == 0)
        return err_set(e, "%s: sqlite: needs a path (for example sqlite:var/sev.db)", n);
    return set_string(c, v, e, n, offsetof(struct config, database), sizeof c->database);
}

static int set_bus(struct config *c, const char *v, struct err *e, const char *n)
{
    if (strcmp(v, "local") != 0 && strncmp(v, "redis://", 8) != 0)
        return err_set(e, "%s: '%s' must be local or redis://host:port", n, v);
    return set_string(c, v, e, n, offsetof(struct config, bus), sizeof c->bus);
}

static int set_secret(struct config *c, const char *v, struct err *e, const char *n)
{
    size_t len = strlen(v);
    if (len == 0) /* empty: generated and kept in the database */
        return 0;
    if (len < 10 || len > 100)
        return err_set(e, "%s: must be 10 to 100 ASCII characters (got %zu)", n, len);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)v[i] < 0x21 || (unsigned char)v[i] > 0x7e)
            return err_set(e, "%s: must be printable ASCII without spaces", n);
    return set_string(c, v, e, n, offsetof(struct config, eventsub_secret),
                      sizeof c->eventsub_secret);
}

static int set_transport(struct config *c, const char *v, struct err *e, const char *n)
{
    if (strcmp(v, "websocket") == 0)
        c->transport = TRANSPORT_WEBSOCKET;
    else if (strcmp(v, "webhook") == 0)
        c->transport = TRANSPORT_WEBHOOK;
    else if (strcmp(v, "conduit") == 0)
        c->transport = TRANSPORT_CONDUIT;
    else
        return err_set(e, "%s: '%s' must be webhook, conduit or websocket", n, v);
    return 0;
}

static int set_log_level(struct config *c, const char *v, struct err *e, const char *n)
{
    if (log_level_parse(v, &c->log_level) < 0)
        return err_set(e, "%s: '%s' must be debug, info, warn or error", n, v);
    return 0;
}

static int set_validate_interval(struct config *c, const char *v, struct err *e, const char *n)
{
    char *end;
    long s = strtol(v, &end, 10);
    if (!*v || *end || s < 1 || s > 86400)
        return err_set(e, "%s: '%s' must be a number of seconds from 1 to 86400", n, v);
    c->validate_interval_s = (int)s;
    return 0;
}

/* An integer from lo to hi into *out. */
static int set_int(struct config *c, const char *v, struct err *e, const char *n, long lo, long hi,
                   int *out)
{
    char *end;
    long x = strtol(v, &end, 10);
    if (!*v || *end || x < lo || x > hi)
        return err_set(e, "%s: '%s' must be a number from %ld to %ld", n, v, lo, hi);
    *out = (int)x;
    return 0;
}

static int set_stats_cache(struct config *c, const char *v, struct err *e, const char *n)
{
    return set_int(c, v, e, n, 0, 3600, &c->stats_cache_s);
}

static int set_stats_queries(struct config *c, const char *v, struct err *e, const char *n)
{
    return set_int(c, v, e, n, 1, 64, &c->stats_queries_max);
}

static int set_ingest_retry(struct config *c, const char *v, struct err *e, const char *n)
{
    return set_int(c, v, e, n, 0, 1000000, &c->ingest_retry_max);
}

static int set_demo(struct config *c, const char *v, struct err *e, const char *n)
{
    if (strcmp(v, "1") != 0 && strcmp(v, "0") != 0)
        return err_set(e, "%s: '%s' must be 0 or 1", n, v);
    c->demo = v[0] == '1';
    return 0;
}

/* A number of seconds, decimals allowed ("0.5"), from 0.05 to 3600, as µs. */
static int set_seconds(const char *v, struct err *e, const char *n, int64_t *out)
{
    char *end;
    errno = 0;
    double s = strtod(v, &end);
    if (!*v || *end || errno || !(s >= 0.05 && s <= 3600))
        return err_set(e, "%s: '%s' must be a number of seconds from 0.05 to 3600", n, v);
    *out = (int64_t)(s * 1e6 + 0.5);
    return 0;
}

static int set_header_timeout(struct config *c, const char *v, struct err *e, const char *n)
{
    return set_seconds(v, e, n, &c->header_timeout_us);
}

static int set_body_timeout(struct config *c, const char *v, struct err *e, const char *n)
{
    return set_seconds(v, e, n, &c->body_timeout_us);
}

static int set_send_timeout(struct config *c, const char *v, struct err *e, const char *n)
{
    return set_seconds(v, e, n, &c->send_timeout_us);
}

static int set_count(const char *v, struct err *e, const char *n, long min, int *out)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (!*v || *end || errno || x < min || x > 1000000)
        return err_set(e, "%s: '%s' must be a whole number from %ld to 1000000", n, v, min);
    *out = (int)x;
    return 0;
}

static int set_max_connections(struct config *c, const char *v, struct err *e, const char *n)
{
    return set_count(v, e, n, 1, &c->max_connections);
}

static int set_max_per_address(struct config *c, const char *v, struct err *e, const char *n)
{
    return set_count(v, e, n, 0, &c->max_connections_per_address);
}

/* Reads a secret from a file: the first line, without its line ending; at most 4 KiB. */
static int read_secret_file(const char *path, struct err *e, const char *n, char *out, size_t size)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return err_set(e, "%s: cannot read '%s': %s", n, path, strerror(errno));
    char line[4096];
    int ok = fgets(line, sizeof line, fp) != NULL;
    fclose(fp);
    if (!ok)
        return err_set(e, "%s: '%s' is empty", n, path);
    size_t len = strcspn(line, "\r\n");
    line[len] = 0;
    if (len == 0 || len >= size) {
        explicit_bzero(line, sizeof line);
        return err_set(e, "%s: the secret in '%s' must be 1 to %zu characters on its first line", n,
                       path, size - 1);
    }
    memcpy(out, line, len + 1);
    explicit_bzero(line, sizeof line);
    return 0;
}

static int set_client_secret_file(struct config *c, const char *v, struct err *e, const char *n)
{
    if (c->client_secret[0])
        return err_set(e, "%s: TWITCH_CLIENT_SECRET is set too; give one of them", n);
    return read_secret_file(v, e, n, c->client_secret, sizeof c->client_secret);
}

static int set_eventsub_secret_file(struct config *c, const char *v, struct err *e, const char *n)
{
    if (c->eventsub_secret[0])
        return err_set(e, "%s: TWITCH_EVENTSUB_SECRET is set too; give one of them", n);
    char secret[128];
    if (read_secret_file(v, e, n, secret, sizeof secret) < 0)
        return -1;
    int r = set_secret(c, secret, e, n);
    explicit_bzero(secret, sizeof secret);
    return r;
}
/* Integer settings within [lo, hi], by field offset. */
static int set_int_range(struct config *c, const char *v, struct err *e, const char *n,
                         size_t field, long lo, long hi, const char *unit)
{
    char *end;
    long x = strtol(v, &end, 10);
    if (!*v || *end || x < lo || x > hi)
        return err_set(e, "%s: '%s' must be a number of %s from %ld to %ld", n, v, unit, lo, hi);
    *(int *)((char *)c + field) = (int)x;
    return 0;
}

#define INT_SETTER(name, f, lo, hi, unit)                                                          \
    static int name(struct config *c, const char *v, struct err *e, const char *n)                 \
    {                                                                                              \
        return set_int_range(c, v, e, n, offsetof(struct config, f), lo, hi, unit);                \
    }
INT_SETTER(set_ws_ping_interval, ws_ping_interval_s, 1, 3600, "seconds")
INT_SETTER(set_ws_ping_timeout, ws_ping_timeout_s, 1, 3600, "seconds")
INT_SETTER(set_ws_send_timeout, ws_send_timeout_s, 1, 3600, "seconds")
INT_SETTER(set_ws_queue_kib, ws_queue_kib, 64, 1048576, "KiB")
INT_SETTER(set_ws_replay_kib, ws_replay_kib, 16, 65536, "KiB")
INT_SETTER(set_hub_idle_channels, hub_idle_channels, 1, 10000000, "channels")

#define STR_FIELD(f) offsetof(struct config, f), sizeof(((struct config *)0)->f)

static const struct option_row rows[] = {
    {"SEV_LISTEN", "--listen", "127.0.0.1:8080", "address to listen on", set_listen, 0, 0},
    {"SEV_PUBLIC_URL", "--public-url", "http://localhost:8080",
     "the URL users reach (OAuth redirect, embed parent, webhook callback)", set_public_url, 0, 0},
    {"SEV_DATABASE", "--database", "sqlite:var/sev.db",
     "sqlite:PATH or postgres://user:pass@host:port/db", set_database, 0, 0},
    {"SEV_BUS", "--bus", "local", "local, or redis://host:port to fan out across nodes", set_bus,
     0, 0},
    {"TWITCH_CLIENT_ID", "--twitch-client-id", "", "the Twitch application's client id", NULL,
     STR_FIELD(client_id)},
    {"TWITCH_CLIENT_SECRET", "--twitch-client-secret", "", "the Twitch application's secret",
     NULL, STR_FIELD(client_secret)},
    {"TWITCH_CLIENT_SECRET_FILE", "--twitch-client-secret-file", NULL,
     "a file whose first line is TWITCH_CLIENT_SECRET", set_client_secret_file, 0, 0},
    {"TWITCH_EVENTSUB_SECRET", "--twitch-eventsub-secret", "",
     "webhook HMAC secret, 10 to 100 ASCII characters (default: generated, kept in the database)",
     set_secret, 0, 0},
    {"TWITCH_EVENTSUB_SECRET_FILE", "--twitch-eventsub-secret-file", NULL,
     "a file whose first line is TWITCH_EVENTSUB_SECRET", set_eventsub_secret_file, 0, 0},
    {"TWITCH_EVENTSUB_TRANSPORT", "--twitch-eventsub-transport", NULL,
     "webhook, conduit or websocket (default: webhook when SEV_PUBLIC_URL is https://, else "
     "conduit when TWITCH_CLIENT_ID and TWITCH_CLIENT_SECRET are set, else websocket)",
     set_transport, 0, 0},
    {"TWITCH_AUTH_URL", "--twitch-auth-url", "https://id.twitch.tv/oauth2", "OAuth base URL",
     set_auth_url, 0, 0},
    {"TWITCH_API_URL", "--twitch-api-url", "https://api.twitch.tv/helix", "Helix base URL",
     set_api_url, 0, 0},
    {"TWITCH_EVENTSUB_WS_URL", "--twitch-eventsub-ws-url", "wss://eventsub.wss.twitch.tv/ws",
     "EventSub WebSocket URL (ws:// works too)", set_ws_url, 0, 0},
    {"TWITCH_PLAYER_URL", "--twitch-player-url", "https://player.twitch.tv/",
     "base of the embedded player", set_player_url, 0, 0},
    {"TWITCH_CHAT_URL", "--twitch-chat-url", "https://www.twitch.tv/embed/",
     "base of the embedded chat", set_chat_url, 0, 0},
    {"SEV_WEB_DIR", "--web-dir", "web", "directory of the static pages", NULL, STR_FIELD(web_dir)},
    {"SEV_KEY_FILE", "--key-file", "var/sev.key",
     "AES-256 key for tokens at rest (created on first start; keep it out of backups of the "
     "database)",
     NULL, STR_FIELD(key_file)},
    {"SEV_VALIDATE_INTERVAL", "--validate-interval", "3600",
     "seconds between validations of the stored Twitch tokens (Twitch requires hourly)",
     set_validate_interval, 0, 0},
    {"SEV_LOG_LEVEL", "--log-level", "info", "debug, info, warn or error", set_log_level, 0, 0},
    {"SEV_DEMO", "--demo", "0", "1 when running beside twitch-sim --demo (set by make run)",
     set_demo, 0, 0},
    {"SEV_HEADER_TIMEOUT", "--header-timeout", "15",
     "seconds a client has to send a request's head, from its first byte (reads do not extend "
     "it)",
     set_header_timeout, 0, 0},
    {"SEV_BODY_TIMEOUT", "--body-timeout", "30",
     "seconds a client has to send a request's body, after the head", set_body_timeout, 0, 0},
    {"SEV_SEND_TIMEOUT", "--send-timeout", "60",
     "seconds a client has to take one whole HTTP response before it is cut off", set_send_timeout,
     0, 0},
    {"SEV_MAX_CONNECTIONS", "--max-connections", "16384",
     "open connections (WebSockets included); more are answered 503 (keep below the open-file "
     "limit)",
     set_max_connections, 0, 0},
    {"SEV_MAX_CONNECTIONS_PER_ADDRESS", "--max-connections-per-address", NULL,
     "open connections from one client address, 0 = no limit (default: 1000, or 0 when "
     "SEV_LISTEN is a loopback address; set 0 behind a load balancer)",
     set_max_per_address, 0, 0},
    {"SEV_STATS_CACHE_SECONDS", "--stats-cache-seconds", "5",
     "seconds an /api/stats answer is reused (0 to 3600)", set_stats_cache, 0, 0},
    {"SEV_STATS_QUERIES_MAX", "--stats-queries-max", "1",
     "stats queries running at once; the rest wait (1 to 64)", set_stats_queries, 0, 0},
    {"SEV_INGEST_RETRY_MAX", "--ingest-retry-max", "10000",
     "EventSub WebSocket events kept for retry while the store fails (0 to 1000000)",
     set_ingest_retry, 0, 0},
    {"SEV_WS_PING_INTERVAL", "--ws-ping-interval", "30",
     "seconds between the server's pings to each WebSocket client", set_ws_ping_interval, 0, 0},
    {"SEV_WS_PING_TIMEOUT", "--ws-ping-timeout", "30",
     "a WebSocket client silent for the ping interval plus this many seconds is closed",
     set_ws_ping_timeout, 0, 0},
    {"SEV_WS_SEND_TIMEOUT", "--ws-send-timeout", "30",
     "a WebSocket client that takes none of a write for this many seconds is closed",
     set_ws_send_timeout, 0, 0},
    {"SEV_WS_QUEUE_KIB", "--ws-queue-kib", "4096",
     "KiB of unsent events per WebSocket client before it is closed", set_ws_queue_kib, 0, 0},
    {"SEV_WS_REPLAY_KIB", "--ws-replay-kib", "256",
     "KiB of a since= replay buffered per WebSocket client at once", set_ws_replay_kib, 0, 0},
    {"SEV_HUB_IDLE_CHANNELS", "--hub-idle-channels", "1000",
     "streamers without viewers whose newest events stay in memory (least recently used "
     "dropped first)",
     set_hub_idle_channels, 0, 0},
    {"SEV_NODE_ID", "--node-id", "", "this node's name in /healthz (default: host name:port)",
     NULL, STR_FIELD(node_id)},
};
#define NROWS (sizeof rows / sizeof rows[0])

/* Settings that are secret: never a flag (the command line shows in ps to every user). */
static int row_secret(const struct option_row *r)
{
    return strcmp(r->env, "TWITCH_CLIENT_SECRET") == 0 ||
           strcmp(r->env, "TWITCH_EVENTSUB_SECRET") == 0;
}

/* A URL that carries a password (user:pass@host, or password=… in the query). */
static int url_has_password(const char *v)
{
    const char *p = strstr(v, "://");
    if (p) {
        p += 3;
        size_t auth = strcspn(p, "/?#");
        const char *at = memchr(p, '@', auth);
        if (at && memchr(p, ':', (size_t)(at - p)))
            return 1;
    }
    return strstr(v, "password=") != NULL;
}

static int apply(struct config *cfg, const struct option_row *r, const char *v, struct err *err,
                 const char *name)
{
    if (r->set)
        return r->set(cfg, v, err, name);
    return set_string(cfg, v, err, name, r->field, r->size);
}

void config_usage(FILE *out)
{
    fprintf(out, "Usage: sev [--flag VALUE]...\n\n"
                 "SEV, the Streamer Event Viewer: watches Twitch EventSub events of your favorite\n"
                 "streamers, stores them and shows them live in the browser.\n\n"
                 "Every setting is an environment variable and a flag (the flag wins):\n\n");
    for (size_t i = 0; i < NROWS; i++)
        fprintf(out, "  %-27s %-28s %s%s%s%s\n",
                row_secret(&rows[i]) ? "(environment only)" : rows[i].flag, rows[i].env,
                rows[i].help,
                rows[i].def && *rows[i].def ? " [default: " : "",
                rows[i].def && *rows[i].def ? rows[i].def : "",
                rows[i].def && *rows[i].def ? "]" : "");
    fprintf(out, "  %-27s %-28s %s\n\n", "--help", "", "show this help");
    fprintf(out, "With no TWITCH_CLIENT_ID, sev serves stored events and signed webhooks but does "
                 "not call Twitch.\n`make run` starts the demo against the bundled simulator.\n"
                 "Exit status 2 on a bad setting.\n");
}

static int listen_is_loopback(const char *host)
{
    return strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0 ||
           strcmp(host, "localhost") == 0 || strncmp(host, "::ffff:127.", 11) == 0;
}

static const char *env_get(char **envp, const char *name)
{
    size_t n = strlen(name);
    for (char **e = envp; e && *e; e++)
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
            return *e + n + 1;
    return NULL;
}

int config_parse(struct config *cfg, int argc, char **argv, char **envp, FILE *out,
                 struct err *err)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->max_connections_per_address = -1; /* not given: decided by SEV_LISTEN below */
    const char *values[NROWS];
    const char *names[NROWS];
    int transport_given = 0;
    for (size_t i = 0; i < NROWS; i++) {
        values[i] = env_get(envp, rows[i].env);
        names[i] = rows[i].env;
    }
    for (int a = 1; a < argc; a++) {
        const char *arg = argv[a];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            config_usage(out);
            return 1;
        }
        const char *eq = strchr(arg, '=');
        size_t flen = eq ? (size_t)(eq - arg) : strlen(arg);
        size_t i;
        for (i = 0; i < NROWS; i++)
            if (strlen(rows[i].flag) == flen && strncmp(rows[i].flag, arg, flen) == 0)
                break;
        if (i == NROWS)
            return err_set(err, "unknown argument '%s' (see sev --help)", arg);
        if (row_secret(&rows[i]))
            return err_set(err,
                           "%s: secrets are not accepted as flags (every user sees them in ps); "
                           "set %s in the environment or use %s-file PATH",
                           rows[i].flag, rows[i].env, rows[i].flag);
        if (!eq && a + 1 >= argc)
            return err_set(err, "%s needs a value", rows[i].flag);
        values[i] = eq ? eq + 1 : argv[++a];
        names[i] = rows[i].flag;
        if ((strcmp(rows[i].env, "SEV_DATABASE") == 0 || strcmp(rows[i].env, "SEV_BUS") == 0) &&
            url_has_password(values[i]))
            return err_set(err,
                           "%s: a password is not accepted in a flag (every user sees it in ps); "
                           "set %s in the environment instead",
                           rows[i].flag, rows[i].env);
    }
    for (size_t i = 0; i < NROWS; i++) {
        const char *v = values[i] ? values[i] : rows[i].def;
        if (!v)
            continue;
        if (rows[i].set == set_transport && values[i])
            transport_given = 1;
        if (apply(cfg, &rows[i], v, err, names[i]) < 0)
            return -1;
    }
    if (!transport_given)
        cfg->transport = cfg->public_https                            ? TRANSPORT_WEBHOOK
                         : cfg->client_id[0] && cfg->client_secret[0] ? TRANSPORT_CONDUIT
                                                                      : TRANSPORT_WEBSOCKET;
    /* Listening on loopback, every peer is on this machine (a local TLS proxy, a load test):
     * one address for everybody, so no per-address limit unless asked for. */
    if (cfg->max_connections_per_address < 0)
        cfg->max_connections_per_address = listen_is_loopback(cfg->listen_host) ? 0 : 1000;
    if (cfg->transport == TRANSPORT_WEBHOOK && !cfg->public_https && !cfg->demo)
        log_warn("config.webhook_without_https",
                 "note=\"Twitch delivers webhooks only to https:// callbacks on port 443\"");
    if (cfg->client_id[0] && !cfg->client_secret[0])
        return err_set(err, "TWITCH_CLIENT_SECRET: required when TWITCH_CLIENT_ID is set");
    return 0;
}
