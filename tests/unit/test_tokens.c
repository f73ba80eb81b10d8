/* auth/tokens against a fake Twitch (fake_http.h) and a real SQLite store: the app token's
 * cache, one refresh serving every waiter, a failed refresh reaching every waiter, the
 * validation timer, a revoked grant, and tokens surviving a restart sealed in the store. */
#include "unit.h"

#include <ftw.h>
#include <stdlib.h>
#include <uv.h>

#include "auth/tokenbox.h"
#include "auth/tokens.h"
#include "base/clock.h"
#include "fake_http.h"
#include "store/store.h"
#include "twitch/twitch.h"

struct ctx {
    uv_loop_t loop;
    uv_timer_t dog;
    struct fake_http http;
    struct twitch *tw;
    struct store *st;
    struct tokenbox *box;
    struct tokens *tk;
    char dir[64];
    /* what Twitch does */
    int app_fetches;       /* client credentials answered */
    int refreshes;         /* refresh_token grants seen */
    int refresh_status;    /* 0: 200 with at<n>; else this status */
    int validations;       /* /validate calls */
    int validate_status;   /* 0: 200 for user 42; else this status */
    char validated[8][64]; /* the Authorization header of each /validate */
    /* what tokens told us */
    int loaded, upkeeps, ended;
    char ended_reason[64];
    int calls; /* token callbacks */
    char got[8][64];
};

static struct ctx C;

static int handler(struct fake_http *f, const struct fake_req *r, struct fake_answer *a)
{
    struct ctx *c = f->ctx;
    if (strncmp(r->target, "/oauth2/token", 13) == 0) {
        if (strstr(r->body, "grant_type=client_credentials")) {
            c->app_fetches++;
            snprintf(a->body, sizeof a->body,
                     "{\"access_token\":\"apptok%d\",\"expires_in\":5000000}", c->app_fetches);
        } else if (strstr(r->body, "grant_type=refresh_token")) {
            c->refreshes++;
            if (c->refresh_status) {
                a->status = c->refresh_status;
                snprintf(a->body, sizeof a->body, "{\"message\":\"Invalid refresh token\"}");
            } else {
                snprintf(a->body, sizeof a->body,
                         "{\"access_token\":\"at%d\",\"refresh_token\":\"rt%d\","
                         "\"expires_in\":14000,\"scope\":[\"user:read:follows\"]}",
                         c->refreshes + 1, c->refreshes + 1);
            }
        } else {
            a->status = 400;
        }
        return 0;
    }
    if (strncmp(r->target, "/oauth2/validate", 16) == 0) {
        if (c->validations < 8)
            fake_header(r, "Authorization", c->validated[c->validations], 64);
        c->validations++;
        if (c->validate_status) {
            a->status = c->validate_status;
            snprintf(a->body, sizeof a->body, "{\"status\":401,\"message\":\"invalid\"}");
        } else {
            snprintf(a->body, sizeof a->body,
                     "{\"client_id\":\"cid\",\"login\":\"alice\",\"user_id\":\"42\","
                     "\"scopes\":[],\"expires_in\":14000}");
        }
        return 0;
    }
    if (strncmp(r->target, "/oauth2/revoke", 14) == 0)
        return 0;
    a->status = 404;
    return 0;
}

static void on_loaded(void *arg)
{
    C.loaded++;
}

static void on_grant_ended(void *arg, const char *user_id, const char *reason)
{
    C.ended++;
    snprintf(C.ended_reason, sizeof C.ended_reason, "%s:%s", user_id, reason);
}

static void on_upkeep(void *arg)
{
    C.upkeeps++;
}

static void on_token(void *arg, const char *token, const char *error)
{
    int i = C.calls++;
    if (i < 8)
        snprintf(C.got[i], sizeof C.got[i], "%s%s", token ? "" : "!", token ? token : error);
}

static void on_watchdog(uv_timer_t *h) {}

static void run_until(int *counter, int want)
{
    uv_timer_start(&C.dog, on_watchdog, 50, 50);
    int64_t deadline = clock_mono_us() + 10000000;
    while (*counter < want && clock_mono_us() < deadline)
        uv_run(&C.loop, UV_RUN_ONCE);
    uv_timer_stop(&C.dog);
    CHECK_INT(*counter, want);
}

/* Like run_until, for counters that may pass want (timer-driven requests). */
static void run_until_min(int *counter, int want)
{
    uv_timer_start(&C.dog, on_watchdog, 50, 50);
    int64_t deadline = clock_mono_us() + 10000000;
    while (*counter < want && clock_mono_us() < deadline)
        uv_run(&C.loop, UV_RUN_ONCE);
    uv_timer_stop(&C.dog);
    CHECK(*counter >= want);
}

static void tokens_up(int64_t validate_ms)
{
    struct tokens_options o = {.client_id = "cid", .validate_interval_ms = validate_ms};
    struct tokens_hooks h = {on_grant_ended, NULL, on_upkeep, NULL};
    struct err err = {{0}};
    CHECK(tokens_new(&C.loop, C.st, C.tw, C.box, &o, &h, &C.tk, &err) == 0);
    int before = C.loaded;
    CHECK(tokens_start(C.tk, on_loaded, NULL) == 0);
    CHECK_INT(C.loaded, before); /* later, never inside the call */
    run_until(&C.loaded, before + 1);
}

static void setup(int64_t validate_ms)
{
    memset(&C, 0, sizeof C);
    CHECK(uv_loop_init(&C.loop) == 0);
    uv_timer_init(&C.loop, &C.dog);
    CHECK(fake_http_start(&C.http, &C.loop, handler, &C) == 0);
    char auth[128], api[128];
    snprintf(auth, sizeof auth, "http://127.0.0.1:%d/oauth2", C.http.port);
    snprintf(api, sizeof api, "http://127.0.0.1:%d/helix", C.http.port);
    struct twitch_options to = {.client_id = "cid",
                                .client_secret = "csecret",
                                .auth_url = auth,
                                .api_url = api,
                                .timeout_ms = 2000,
                                .retry_base_ms = 10};
    struct err err = {{0}};
    CHECK(twitch_new(&C.loop, &to, &C.tw, &err) == 0);
    snprintf(C.dir, sizeof C.dir, "/tmp/sev-test-tokens-XXXXXX");
    CHECK(mkdtemp(C.dir) != NULL);
    char uri[128];
    snprintf(uri, sizeof uri, "sqlite:%s/sev.db", C.dir);
    CHECK(store_open(&C.loop, uri, &C.st, &err) == 0);
    unsigned char key[TOKENBOX_KEY_LEN];
    memset(key, 9, sizeof key);
    CHECK(tokenbox_new_from_key(key, &C.box, NULL) == 0);
    tokens_up(validate_ms);
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(p);
}

static void tokens_down(void)
{
    tokens_free(C.tk);
    C.tk = NULL;
}

static void teardown(void)
{
    if (C.tk)
        tokens_down();
    twitch_free(C.tw);
    store_close(C.st);
    fake_http_stop(&C.http);
    uv_close((uv_handle_t *)&C.dog, NULL);
    uv_run(&C.loop, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(&C.loop) == 0);
    tokenbox_free(C.box);
    nftw(C.dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void on_stored(void *arg, int status, struct store_token_list *l)
{
    int *n = arg;
    *n = status == 0 && l ? (int)l->count : -1;
    store_token_list_free(l);
}

/* Waits (with a deadline) until the store holds n tokens: its writes are asynchronous. */
static void wait_stored(int n)
{
    int64_t deadline = clock_mono_us() + 10000000;
    int got = -2;
    while (got != n && clock_mono_us() < deadline) {
        got = -2;
        CHECK(store_tokens_all(C.st, on_stored, &got) == 0);
        uv_timer_start(&C.dog, on_watchdog, 50, 50);
        while (got == -2)
            uv_run(&C.loop, UV_RUN_ONCE);
        uv_timer_stop(&C.dog);
    }
    CHECK_INT(got, n);
}

static void test_app_token_cache(void)
{
    setup(0);
    CHECK(tokens_app(C.tk, on_token, NULL) == 0);
    CHECK(tokens_app(C.tk, on_token, NULL) == 0);
    CHECK_INT(C.calls, 0); /* never inside the call */
    run_until(&C.calls, 2);
    CHECK_STR(C.got[0], "apptok1");
    CHECK_STR(C.got[1], "apptok1");
    CHECK(tokens_app(C.tk, on_token, NULL) == 0); /* a cache hit */
    run_until(&C.calls, 3);
    CHECK_STR(C.got[2], "apptok1");
    CHECK_INT(C.app_fetches, 1);
    tokens_rejected(C.tk, NULL, "apptok1"); /* a 401: renewed on next use */
    CHECK(tokens_app(C.tk, on_token, NULL) == 0);
    run_until(&C.calls, 4);
    CHECK_STR(C.got[3], "apptok2");
    CHECK_INT(C.app_fetches, 2);
    teardown();
}

static void test_waiters_share_one_refresh(void)
{
    setup(0);
    CHECK(tokens_set_user(C.tk, "42", "at1", "rt1", 14000, "user:read:follows") == 0);
    CHECK(tokens_has_user(C.tk, "42"));
    CHECK(tokens_user(C.tk, "42", on_token, NULL) == 0);
    run_until(&C.calls, 1);
    CHECK_STR(C.got[0], "at1"); /* fresh: no refresh */
    CHECK_INT(C.refreshes, 0);
    tokens_rejected(C.tk, "42", "at1");
    for (int i = 0; i < 3; i++)
        CHECK(tokens_user(C.tk, "42", on_token, NULL) == 0);
    CHECK_INT(C.calls, 1);
    run_until(&C.calls, 4);
    CHECK_INT(C.refreshes, 1); /* one refresh served all three */
    CHECK_STR(C.got[1], "at2");
    CHECK_STR(C.got[2], "at2");
    CHECK_STR(C.got[3], "at2");
    CHECK(tokens_user(C.tk, "nobody", on_token, NULL) == 0);
    run_until(&C.calls, 5);
    CHECK(C.got[4][0] == '!');
    teardown();
}

static void test_refresh_failure_reaches_every_waiter(void)
{
    setup(0);
    CHECK(tokens_set_user(C.tk, "42", "at1", "rt1", 14000, NULL) == 0);
    tokens_rejected(C.tk, "42", "at1");
    C.refresh_status = 503;
    for (int i = 0; i < 3; i++)
        CHECK(tokens_user(C.tk, "42", on_token, NULL) == 0);
    run_until(&C.calls, 3);
    CHECK_INT(C.refreshes, 1);
    for (int i = 0; i < 3; i++)
        CHECK_STR(C.got[i], "!Twitch did not answer the token refresh");
    CHECK(tokens_has_user(C.tk, "42")); /* Twitch was down: the grant is not over */
    CHECK_INT(C.ended, 0);
    teardown();
}

static void test_validation_timer(void)
{
    setup(100);
    int start_upkeeps = C.upkeeps;
    CHECK(start_upkeeps >= 1); /* the start-up round */
    CHECK(tokens_set_user(C.tk, "42", "at1", "rt1", 14000, NULL) == 0);
    run_until_min(&C.validations, 1); /* the timer validated the user token */
    CHECK(C.upkeeps > start_upkeeps);
    tokens_set_upkeep(C.tk, 0);
    int seen = C.validations;
    /* off: a few intervals pass without a validation (the app timer has no token) */
    int64_t until = clock_mono_us() + 400000;
    uv_timer_start(&C.dog, on_watchdog, 50, 50);
    while (clock_mono_us() < until)
        uv_run(&C.loop, UV_RUN_ONCE);
    uv_timer_stop(&C.dog);
    CHECK(C.validations <= seen + 1); /* at most the one already on its way (on: about 4) */
    CHECK_INT(C.ended, 0);
    teardown();
}

static void test_revoked_grant_ends(void)
{
    setup(0);
    CHECK(tokens_set_user(C.tk, "42", "at1", "rt1", 14000, NULL) == 0);
    /* stored first: else the wait for 0 rows below could see the time before this write, and
     * the restart could read the row back before its delete commits */
    wait_stored(1);
    tokens_rejected(C.tk, "42", "at1");
    C.refresh_status = 400; /* "Invalid refresh token": revoked */
    CHECK(tokens_user(C.tk, "42", on_token, NULL) == 0);
    CHECK(tokens_user(C.tk, "42", on_token, NULL) == 0);
    run_until(&C.calls, 2);
    CHECK_STR(C.got[0], "!the user's Twitch authorization has ended");
    CHECK_STR(C.got[1], "!the user's Twitch authorization has ended");
    CHECK_INT(C.ended, 1);
    CHECK_STR(C.ended_reason, "42:refresh_refused");
    CHECK(!tokens_has_user(C.tk, "42"));
    CHECK(tokens_user_scopes(C.tk, "42") == NULL);
    /* and gone from the store: a restart does not bring it back */
    wait_stored(0);
    tokens_down();
    tokens_up(0);
    CHECK(!tokens_has_user(C.tk, "42"));
    teardown();
}

static void test_sealed_tokens_survive_restart(void)
{
    setup(0);
    CHECK(tokens_set_user(C.tk, "42", "at1", "rt1", 14000, "user:read:follows") == 0);
    CHECK(tokens_app(C.tk, on_token, NULL) == 0);
    run_until(&C.calls, 1);
    CHECK_STR(C.got[0], "apptok1");
    wait_stored(2);
    tokens_down();
    tokens_up(0); /* reads the store: user and app tokens, validated at start-up */
    CHECK(tokens_has_user(C.tk, "42"));
    CHECK_STR(tokens_user_scopes(C.tk, "42"), "user:read:follows");
    run_until(&C.validations, 2);
    int app = strcmp(C.validated[0], "OAuth apptok1") == 0 ? 0 : 1;
    CHECK_STR(C.validated[app], "OAuth apptok1");
    CHECK_STR(C.validated[1 - app], "OAuth at1");
    CHECK(tokens_user(C.tk, "42", on_token, NULL) == 0);
    CHECK(tokens_app(C.tk, on_token, NULL) == 0);
    run_until(&C.calls, 3);
    CHECK_STR(C.got[1], "at1");
    CHECK_STR(C.got[2], "apptok1");
    CHECK_INT(C.app_fetches, 1);
    teardown();
}

static void test_free_answers_waiters(void)
{
    setup(0);
    CHECK(tokens_set_user(C.tk, "42", "at1", "rt1", 14000, NULL) == 0);
    tokens_rejected(C.tk, "42", "at1");
    CHECK(tokens_user(C.tk, "42", on_token, NULL) == 0); /* waits for a refresh */
    CHECK(tokens_app(C.tk, on_token, NULL) == 0);        /* waits for the next turn */
    tokens_down();
    CHECK_INT(C.calls, 2);
    CHECK(C.got[0][0] == '!');
    CHECK(C.got[1][0] == '!');
    teardown();
}

static const struct unit_test tests[] = {
    {"app token: one fetch for concurrent callers, cached, renewed after a 401",
     test_app_token_cache},
    {"user token: concurrent waiters served by one refresh", test_waiters_share_one_refresh},
    {"user token: a failed refresh reaches every waiter",
     test_refresh_failure_reaches_every_waiter},
    {"validation timer validates user tokens while upkeep is on", test_validation_timer},
    {"a revoked grant: waiters told, hook called, stored token deleted", test_revoked_grant_ends},
    {"sealed tokens survive a restart (user and app)", test_sealed_tokens_survive_restart},
    {"free answers every waiter", test_free_answers_waiters},
    {0},
};

UNIT_MAIN(tests)
