#include "unit.h"

#include <unistd.h>

#include "config/config.h"

static int parse(struct config *cfg, char **env, int argc, char **argv, struct err *err)
{
    FILE *devnull = fopen("/dev/null", "w");
    int r = config_parse(cfg, argc, argv, env, devnull, err);
    fclose(devnull);
    return r;
}

static void test_defaults(void)
{
    struct config cfg;
    char *env[] = {NULL};
    char *argv[] = {"sev", NULL};
    CHECK(parse(&cfg, env, 1, argv, NULL) == 0);
    CHECK_STR(cfg.listen_host, "127.0.0.1");
    CHECK_INT(cfg.listen_port, 8080);
    CHECK_STR(cfg.public_url, "http://localhost:8080");
    CHECK_STR(cfg.public_host, "localhost");
    CHECK_STR(cfg.database, "sqlite:var/sev.db");
    CHECK_STR(cfg.bus, "local");
    CHECK_INT(cfg.transport, TRANSPORT_WEBSOCKET);
    CHECK_STR(cfg.api_url, "https://api.twitch.tv/helix");
    CHECK_STR(cfg.player_url, "https://player.twitch.tv/");
}

static void test_env_and_flags(void)
{
    struct config cfg;
    char *env[] = {"SEV_LISTEN=0.0.0.0:9000", "SEV_PUBLIC_URL=https://sev.example.com/",
                   "TWITCH_EVENTSUB_SECRET=abcdefghij", NULL};
    char *argv[] = {"sev", "--listen", "[::1]:7000", "--twitch-auth-url=http://127.0.0.1:9090/oauth2/",
                    NULL};
    CHECK(parse(&cfg, env, 4, argv, NULL) == 0);
    CHECK_STR(cfg.listen_host, "::1"); /* the flag wins */
    CHECK_INT(cfg.listen_port, 7000);
    CHECK_STR(cfg.public_url, "https://sev.example.com");
    CHECK_INT(cfg.public_https, 1);
    CHECK_INT(cfg.transport, TRANSPORT_WEBHOOK); /* https → webhook by default */
    CHECK_STR(cfg.auth_url, "http://127.0.0.1:9090/oauth2");
    CHECK_STR(cfg.eventsub_secret, "abcdefghij");
}

static void test_bad_values_name_the_variable(void)
{
    static const char *bad[][2] = {
        {"SEV_LISTEN=8080", "SEV_LISTEN"},
        {"SEV_LISTEN=host:99999", "SEV_LISTEN"},
        {"SEV_PUBLIC_URL=localhost:8080", "SEV_PUBLIC_URL"},
        {"SEV_DATABASE=mysql://x", "SEV_DATABASE"},
        {"SEV_DATABASE=sqlite:", "SEV_DATABASE"},
        {"SEV_BUS=kafka://x", "SEV_BUS"},
        {"TWITCH_EVENTSUB_SECRET=123", "TWITCH_EVENTSUB_SECRET"},
        {"TWITCH_EVENTSUB_SECRET=has space in it", "TWITCH_EVENTSUB_SECRET"},
        {"TWITCH_EVENTSUB_TRANSPORT=pigeon", "TWITCH_EVENTSUB_TRANSPORT"},
        {"TWITCH_EVENTSUB_WS_URL=http://x", "TWITCH_EVENTSUB_WS_URL"},
        {"TWITCH_API_URL=api.twitch.tv", "TWITCH_API_URL"},
        {"SEV_LOG_LEVEL=loud", "SEV_LOG_LEVEL"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct config cfg;
        struct err err = {{0}};
        char *env[] = {(char *)bad[i][0], NULL};
        char *argv[] = {"sev", NULL};
        CHECK(parse(&cfg, env, 1, argv, &err) == -1);
        if (strncmp(err.msg, bad[i][1], strlen(bad[i][1])) != 0) {
            fprintf(stderr, "# %s gave: %s\n", bad[i][0], err.msg);
            CHECK(0);
        }
    }
}

static void test_flags_errors_and_help(void)
{
    struct config cfg;
    struct err err = {{0}};
    char *env[] = {NULL};
    char *unknown[] = {"sev", "--nope", NULL};
    CHECK(parse(&cfg, env, 2, unknown, &err) == -1);
    CHECK(strstr(err.msg, "--nope") != NULL);
    char *missing[] = {"sev", "--listen", NULL};
    CHECK(parse(&cfg, env, 2, missing, &err) == -1);
    char *help[] = {"sev", "--help", NULL};
    CHECK(parse(&cfg, env, 2, help, &err) == 1);
    char *id_only[] = {"TWITCH_CLIENT_ID=abc", NULL};
    char *argv[] = {"sev", NULL};
    CHECK(parse(&cfg, id_only, 1, argv, &err) == -1);
    CHECK(strstr(err.msg, "TWITCH_CLIENT_SECRET") != NULL);
}

static void test_secrets_never_flags(void)
{
    struct config cfg;
    struct err err = {{0}};
    char *env[] = {NULL};
    char *client[] = {"sev", "--twitch-client-secret", "s3cr3t-value", NULL};
    CHECK(parse(&cfg, env, 3, client, &err) == -1);
    CHECK(strstr(err.msg, "--twitch-client-secret") != NULL);
    CHECK(strstr(err.msg, "s3cr3t") == NULL); /* the error does not repeat the secret */
    char *eventsub[] = {"sev", "--twitch-eventsub-secret=abcdefghijkl", NULL};
    CHECK(parse(&cfg, env, 2, eventsub, &err) == -1);
    CHECK(strstr(err.msg, "TWITCH_EVENTSUB_SECRET") != NULL);
    char *db[] = {"sev", "--database", "postgres://sev:hunter2@db/sev", NULL};
    CHECK(parse(&cfg, env, 3, db, &err) == -1);
    CHECK(strstr(err.msg, "hunter2") == NULL);
    char *db_ok[] = {"sev", "--database", "postgres://sev@db/sev", NULL};
    CHECK(parse(&cfg, env, 3, db_ok, &err) == 0);
    char *env_db[] = {"SEV_DATABASE=postgres://sev:hunter2@db/sev", NULL};
    char *argv[] = {"sev", NULL};
    CHECK(parse(&cfg, env_db, 1, argv, &err) == 0); /* the environment is fine */

    char path[] = "/tmp/sev-secret-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK(write(fd, "file-secret-123\n", 16) == 16);
    close(fd);
    char flag[64];
    snprintf(flag, sizeof flag, "--twitch-eventsub-secret-file=%s", path);
    char *from_file[] = {"sev", flag, NULL};
    CHECK(parse(&cfg, env, 2, from_file, &err) == 0);
    CHECK_STR(cfg.eventsub_secret, "file-secret-123");
    char client_env[64];
    snprintf(client_env, sizeof client_env, "TWITCH_CLIENT_SECRET_FILE=%s", path);
    char *env_file[] = {"TWITCH_CLIENT_ID=abc", client_env, NULL};
    CHECK(parse(&cfg, env_file, 1, argv, &err) == 0);
    CHECK_STR(cfg.client_secret, "file-secret-123");
    char *both[] = {"TWITCH_CLIENT_SECRET=abc", client_env, NULL};
    CHECK(parse(&cfg, both, 1, argv, &err) == -1);
    unlink(path);
    char *missing[] = {"sev", "--twitch-client-secret-file", "/nonexistent/secret", NULL};
    CHECK(parse(&cfg, env, 3, missing, &err) == -1);
    CHECK(strstr(err.msg, "TWITCH_CLIENT_SECRET_FILE") != NULL ||
          strstr(err.msg, "--twitch-client-secret-file") != NULL);
}

static void test_http_limits(void)
{
    struct config cfg;
    struct err err = {{0}};
    char *env[] = {NULL};
    char *argv[] = {"sev", NULL};
    CHECK(parse(&cfg, env, 1, argv, &err) == 0);
    CHECK(cfg.header_timeout_us == 15000000);
    CHECK(cfg.body_timeout_us == 30000000);
    CHECK(cfg.send_timeout_us == 60000000);
    CHECK_INT(cfg.max_connections, 16384);
    CHECK_INT(cfg.max_connections_per_address, 0); /* listening on loopback */
    char *public[] = {"SEV_LISTEN=0.0.0.0:8080", NULL};
    CHECK(parse(&cfg, public, 1, argv, &err) == 0);
    CHECK_INT(cfg.max_connections_per_address, 1000);
    char *set[] = {"SEV_LISTEN=0.0.0.0:8080", "SEV_MAX_CONNECTIONS_PER_ADDRESS=0",
                   "SEV_HEADER_TIMEOUT=0.5", NULL};
    CHECK(parse(&cfg, set, 1, argv, &err) == 0);
    CHECK_INT(cfg.max_connections_per_address, 0);
    CHECK(cfg.header_timeout_us == 500000);
    static const char *bad[] = {"SEV_HEADER_TIMEOUT=0", "SEV_BODY_TIMEOUT=abc",
                                "SEV_SEND_TIMEOUT=99999", "SEV_MAX_CONNECTIONS=0",
                                "SEV_MAX_CONNECTIONS_PER_ADDRESS=-1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *one[] = {(char *)bad[i], NULL};
        CHECK(parse(&cfg, one, 1, argv, &err) == -1);
        CHECK(strncmp(err.msg, bad[i], strcspn(bad[i], "=")) == 0);
    }
}

static const struct unit_test tests[] = {
    {"defaults match the contract", test_defaults},
    {"environment and flags, the flag wins", test_env_and_flags},
    {"bad values name the variable", test_bad_values_name_the_variable},
    {"unknown and incomplete flags, --help", test_flags_errors_and_help},
    {"secrets come from the environment or a file, never a flag", test_secrets_never_flags},
    {"HTTP limits: defaults, per-address default by listen address, bad values", test_http_limits},
    {0},
};
UNIT_MAIN(tests)
