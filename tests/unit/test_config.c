#include "unit.h"

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

static const struct unit_test tests[] = {
    {"defaults match the contract", test_defaults},
    {"environment and flags, the flag wins", test_env_and_flags},
    {"bad values name the variable", test_bad_values_name_the_variable},
    {"unknown and incomplete flags, --help", test_flags_errors_and_help},
    {0},
};
UNIT_MAIN(tests)
