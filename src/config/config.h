/* config: SEV's configuration, parsed once at start-up from the environment and flags into
 * a plain struct that the app hands to each module. Modules never read the environment.
 * Every variable is also a flag: SEV_LISTEN → --listen, TWITCH_CLIENT_ID → --twitch-client-id.
 * A flag wins over the environment. Secrets are the exception: a flag would show them to every
 * user in ps, so they come from the environment or from a file (TWITCH_CLIENT_SECRET_FILE,
 * --twitch-client-secret-file PATH); a secret given as a flag is an error. */
#ifndef SEV_CONFIG_H
#define SEV_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#include "base/err.h"
#include "base/log.h"

enum eventsub_transport { TRANSPORT_WEBSOCKET, TRANSPORT_WEBHOOK, TRANSPORT_CONDUIT };

struct config {
    char listen_host[64];
    int listen_port;
    char public_url[256];  /* no trailing slash */
    char public_host[256]; /* host name part of public_url, for embed parent= */
    int public_https;
    char database[512];
    char bus[256];
    char client_id[128];
    char client_secret[128];
    char eventsub_secret[128]; /* empty: generated once and kept in the database */
    enum eventsub_transport transport;
    char auth_url[256];
    char api_url[256];
    char eventsub_ws_url[256];
    char player_url[256]; /* Twitch embeds; configurable so the simulator can stand in */
    char chat_url[256];
    char web_dir[256];
    char key_file[256];
    int validate_interval_s; /* Twitch tokens are validated this often (3600; tests use less) */
    enum log_level log_level;
    int demo; /* set by `make run` when it starts twitch-sim beside sev */
    /* HTTP limits (see http/server.h): total deadlines, µs, and connection caps */
    int64_t header_timeout_us;
    int64_t body_timeout_us;
    int64_t send_timeout_us;
    int max_connections;             /* 0: unlimited */
    int max_connections_per_address; /* 0: off (by default when listening on loopback) */
    /* /api/stats answers are reused this many seconds (api/stats_cache) */
    int stats_cache_s;
    /* stats queries running at once */
    int stats_queries_max;
    /* EventSub WebSocket events kept for retry while the store fails (ingest) */
    int ingest_retry_max;
    /* WebSocket clients (hub) */
    int ws_ping_interval_s; /* server pings every client this often (30) */
    int ws_ping_timeout_s;  /* silent this long past a ping interval: dead peer, closed (30) */
    int ws_send_timeout_s;  /* a write the client has not taken for this long: closed (30) */
    int ws_queue_kib;       /* unsent bytes per client before it is closed (4096) */
    int ws_replay_kib;      /* since= replay bytes buffered per client at once (256) */
    int hub_idle_channels;  /* streamers without viewers kept in memory (1000) */
    char node_id[128]; /* SEV_NODE_ID: this node's name in /healthz; empty: host name:port */
};

/* Parses env (NULL-terminated "K=V" array) then argv. Returns 0, 1 when --help was asked
 * (usage printed to out), or -1 with err naming the variable or flag at fault. */
int config_parse(struct config *cfg, int argc, char **argv, char **envp, FILE *out,
                 struct err *err);

void config_usage(FILE *out);

#endif
