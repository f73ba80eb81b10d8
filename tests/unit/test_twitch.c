/* The Twitch client against a fake HTTP server on the same loop: parsing, retries with
 * backoff on 5xx, waiting for Ratelimit-Reset on 429, a fresh token after a 401, pagination,
 * batching by 100, OAuth forms, timeouts, tokens from the provider, and cancellation at free.
 * (The token cache itself is auth/tokens': test_tokens.c.) */
#include "unit.h"

#include <jansson.h>
#include <uv.h>

#include "base/buf.h"
#include "base/clock.h"
#include "fake_http.h"
#include "twitch/twitch.h"

struct ctx {
    uv_loop_t loop;
    struct fake_http http;
    struct twitch *tw;
    uv_timer_t dog; /* wakes the loop so run_until sees its deadline */
    int calls;           /* callbacks seen */
    int last_error, last_status;
    char last_message[256];
    /* scripted answers */
    int fail_5xx;        /* answer 503 this many times first */
    int rate_limit;      /* answer 429 once */
    int reject_token;    /* the user token "old" gets 401 */
    int token_gets, token_rejects;
    int app_token_fetches;
    int app_token_gets; /* the provider was asked for the app token */
    int never_answer;
    int pages_total;     /* followed: how many items the user follows */
    char got[16384]; /* a copy of something the callback saw */
    size_t n;
};

static struct ctx C;

static int count_params(const char *target, const char *key)
{
    int n = 0;
    char pat[64];
    snprintf(pat, sizeof pat, "%s=", key);
    for (const char *p = target; (p = strstr(p, pat)); p++)
        if (p[-1] == '?' || p[-1] == '&')
            n++;
    return n;
}

static int handler(struct fake_http *f, const struct fake_req *r, struct fake_answer *a)
{
    struct ctx *c = f->ctx;
    char auth[256];
    fake_header(r, "Authorization", auth, sizeof auth);
    if (c->never_answer) {
        a->status = 0;
        return 0;
    }
    if (strncmp(r->target, "/oauth2/token", 13) == 0) {
        if (strstr(r->body, "grant_type=client_credentials")) {
            c->app_token_fetches++;
            snprintf(a->body, sizeof a->body,
                     "{\"access_token\":\"apptok%d\",\"expires_in\":5000000,\"token_type\":\"bearer\"}",
                     c->app_token_fetches);
        } else if (strstr(r->body, "grant_type=authorization_code")) {
            snprintf(c->got, sizeof c->got, "%s", r->body);
            snprintf(a->body, sizeof a->body,
                     "{\"access_token\":\"at1\",\"refresh_token\":\"rt1\",\"expires_in\":14124,"
                     "\"scope\":[\"user:read:follows\",\"user:read:chat\"],\"token_type\":\"bearer\"}");
        } else {
            a->status = 400;
            snprintf(a->body, sizeof a->body,
                     "{\"error\":\"Bad Request\",\"status\":400,\"message\":\"Invalid refresh token\"}");
        }
        return 0;
    }
    if (strncmp(r->target, "/oauth2/validate", 16) == 0) {
        if (strcmp(auth, "OAuth good") == 0)
            snprintf(a->body, sizeof a->body,
                     "{\"client_id\":\"cid\",\"login\":\"alice\",\"user_id\":\"42\","
                     "\"scopes\":[\"user:read:follows\"],\"expires_in\":100}");
        else {
            a->status = 401;
            snprintf(a->body, sizeof a->body, "{\"status\":401,\"message\":\"invalid access token\"}");
        }
        return 0;
    }
    if (c->fail_5xx > 0) {
        c->fail_5xx--;
        a->status = 503;
        snprintf(a->body, sizeof a->body, "{\"message\":\"busy\"}");
        return 0;
    }
    if (c->rate_limit > 0) {
        c->rate_limit--;
        a->status = 429;
        snprintf(a->headers, sizeof a->headers, "Ratelimit-Reset: %lld\r\n",
                 (long long)(clock_wall_us() / 1000000 + 1));
        return 0;
    }
    if (c->reject_token && strcmp(auth, "Bearer old") == 0) {
        a->status = 401;
        snprintf(a->body, sizeof a->body,
                 "{\"error\":\"Unauthorized\",\"status\":401,\"message\":\"Invalid OAuth token\"}");
        return 0;
    }
    if (strncmp(r->target, "/helix/users", 12) == 0) {
        snprintf(c->got, sizeof c->got, "%s|%s", r->target, auth);
        snprintf(a->body, sizeof a->body,
                 "{\"data\":[{\"id\":\"42\",\"login\":\"alice\",\"display_name\":\"Alice\","
                 "\"type\":\"\",\"broadcaster_type\":\"affiliate\",\"profile_image_url\":"
                 "\"https://x/a.png\",\"created_at\":\"2020-01-02T03:04:05Z\",\"extra\":1}]}");
        return 0;
    }
    if (strncmp(r->target, "/helix/streams", 14) == 0) {
        int n = count_params(r->target, "user_id");
        CHECK(n <= 100);
        const char *first = strstr(r->target, "user_id=");
        char id[32];
        snprintf(id, sizeof id, "%.*s", (int)strcspn(first + 8, "&"), first + 8);
        snprintf(a->body, sizeof a->body,
                 "{\"data\":[{\"id\":\"s%s\",\"user_id\":\"%s\",\"user_login\":\"u%s\","
                 "\"user_name\":\"U\",\"title\":\"t\",\"viewer_count\":%d,\"type\":\"live\"}],"
                 "\"pagination\":{}}",
                 id, id, id, n);
        return 0;
    }
    if (strncmp(r->target, "/helix/channels/followed", 24) == 0) {
        int start = 0;
        const char *after = strstr(r->target, "after=");
        if (after)
            start = atoi(after + 6);
        struct buf b;
        buf_init(&b, 0);
        buf_printf(&b, "{\"total\":%d,\"data\":[", c->pages_total);
        int end = start + 100 < c->pages_total ? start + 100 : c->pages_total;
        for (int i = start; i < end; i++)
            buf_printf(&b, "%s{\"broadcaster_id\":\"%d\",\"broadcaster_login\":\"b%d\","
                           "\"broadcaster_name\":\"B%d\",\"followed_at\":\"2024-01-01T00:00:00Z\"}",
                       i > start ? "," : "", 1000 + i, i, i);
        if (end < c->pages_total)
            buf_printf(&b, "],\"pagination\":{\"cursor\":\"%d\"}}", end);
        else
            buf_puts(&b, "],\"pagination\":{}}");
        snprintf(a->body, sizeof a->body, "%s", b.data);
        buf_release(&b);
        return 0;
    }
    if (strncmp(r->target, "/helix/eventsub/subscriptions", 29) == 0) {
        if (strcmp(r->method, "POST") == 0) {
            a->status = 202;
            json_t *body = json_loads(r->body, 0, NULL);
            CHECK(body);
            json_t *ans = json_pack("{s[{sssssssssssIsOsO}]sIsIsI}", "data", "id", "sub-1",
                                    "status", "enabled", "type",
                                    json_string_value(json_object_get(body, "type")), "version",
                                    "1", "created_at", "2024-01-01T00:00:00Z", "cost",
                                    (json_int_t)1, "condition", json_object_get(body, "condition"),
                                    "transport", json_object_get(body, "transport"), "total",
                                    (json_int_t)1, "total_cost", (json_int_t)1, "max_total_cost",
                                    (json_int_t)10);
            char *s = json_dumps(ans, JSON_COMPACT);
            snprintf(a->body, sizeof a->body, "%s", s);
            free(s);
            json_decref(ans);
            json_decref(body);
        } else if (strcmp(r->method, "DELETE") == 0) {
            a->status = strstr(r->target, "id=sub-1") ? 204 : 404;
        } else {
            int page2 = strstr(r->target, "after=p2") != NULL;
            snprintf(c->got + strlen(c->got), sizeof c->got - strlen(c->got), "%s;", r->target);
            snprintf(a->body, sizeof a->body,
                     "{\"data\":[{\"id\":\"%s\",\"status\":\"enabled\",\"type\":\"stream.online\","
                     "\"version\":\"1\",\"condition\":{\"broadcaster_user_id\":\"1\"},"
                     "\"transport\":{\"method\":\"webhook\"},\"cost\":1}],\"total\":2,"
                     "\"total_cost\":2,\"max_total_cost\":10000,\"pagination\":%s}",
                     page2 ? "b" : "a", page2 ? "{}" : "{\"cursor\":\"p2\"}");
        }
        return 0;
    }
    a->status = 404;
    return 0;
}

/* token provider: the app token is "apptok1" (auth/tokens caches it: test_tokens.c); a user
 * token is "old" first, then "new" once rejected */
static int get_token(void *ctx, const char *user_id, twitch_access_fn cb, void *arg)
{
    struct ctx *c = ctx;
    if (!user_id) {
        c->app_token_gets++;
        cb(arg, "apptok1", NULL);
        return 0;
    }
    c->token_gets++;
    if (strcmp(user_id, "nobody") == 0)
        return -1;
    if (strcmp(user_id, "dead") == 0) {
        cb(arg, NULL, "the grant is dead");
        return 0;
    }
    cb(arg, c->token_rejects ? "new" : "old", NULL);
    return 0;
}

static void rejected(void *ctx, const char *user_id, const char *token)
{
    struct ctx *c = ctx;
    CHECK_STR(token, "old");
    c->token_rejects++;
}

static void setup(int timeout_ms)
{
    memset(&C, 0, sizeof C);
    CHECK(uv_loop_init(&C.loop) == 0);
    CHECK(fake_http_start(&C.http, &C.loop, handler, &C) == 0);
    uv_timer_init(&C.loop, &C.dog);
    char auth[128], api[128];
    snprintf(auth, sizeof auth, "http://127.0.0.1:%d/oauth2", C.http.port);
    snprintf(api, sizeof api, "http://127.0.0.1:%d/helix", C.http.port);
    struct twitch_options o = {
        .client_id = "cid",
        .client_secret = "csecret",
        .auth_url = auth,
        .api_url = api,
        .timeout_ms = timeout_ms,
        .retry_base_ms = 10,
        .max_attempts = 3,
    };
    struct err err;
    CHECK(twitch_new(&C.loop, &o, &C.tw, &err) == 0);
    struct twitch_token_provider p = {get_token, rejected, &C};
    twitch_set_token_provider(C.tw, &p);
}

static void on_watchdog(uv_timer_t *h)
{
    (void)h;
}

/* Runs the loop until *counter reaches want (10 s at most: a watchdog wakes the loop). */
static void run_until(int *counter, int want)
{
    uv_timer_start(&C.dog, on_watchdog, 100, 100);
    int64_t deadline = clock_mono_us() + 10000000;
    while (*counter < want && clock_mono_us() < deadline)
        uv_run(&C.loop, UV_RUN_ONCE);
    uv_timer_stop(&C.dog);
    CHECK_INT(*counter, want);
}

static void teardown(void)
{
    twitch_free(C.tw);
    fake_http_stop(&C.http);
    uv_close((uv_handle_t *)&C.dog, NULL);
    uv_run(&C.loop, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(&C.loop) == 0);
}

static void note(const struct twitch_result *r)
{
    C.calls++;
    C.last_error = r->error;
    C.last_status = r->status;
    snprintf(C.last_message, sizeof C.last_message, "%s", r->message);
}

static void on_users(void *arg, const struct twitch_result *r, const struct twitch_user *u, size_t n)
{
    note(r);
    C.n = n;
    if (n)
        snprintf(C.got + strlen(C.got), sizeof C.got - strlen(C.got), "|%s,%s,%s,%s,%s", u[0].id,
                 u[0].login, u[0].display_name, u[0].broadcaster_type, u[0].created_at);
}

static void test_get_users(void)
{
    setup(2000);
    const char *logins[] = {"alice", "b b"};
    CHECK(twitch_get_users(C.tw, "42", NULL, 0, logins, 2, on_users, NULL) == 0);
    CHECK_INT(C.calls, 0); /* never inside the call */
    run_until(&C.calls, 1);
    CHECK_INT(C.last_error, TWITCH_OK);
    CHECK_INT(C.last_status, 200);
    CHECK_INT(C.n, 1);
    CHECK_STR(C.got, "/helix/users?login=alice&login=b%20b|Bearer old|42,alice,Alice,affiliate,"
                     "2020-01-02T03:04:05Z");
    /* more than 100 is refused up front */
    const char *many[101];
    for (int i = 0; i < 101; i++)
        many[i] = "x";
    CHECK(twitch_get_users(C.tw, "42", many, 101, NULL, 0, on_users, NULL) == -1);
    teardown();
}

static void test_client_id_header(void)
{
    setup(2000);
    CHECK(twitch_get_users(C.tw, "42", NULL, 0, NULL, 0, on_users, NULL) == 0);
    run_until(&C.calls, 1);
    char v[64];
    CHECK_STR(fake_header(&C.http.reqs[0], "Client-Id", v, sizeof v), "cid");
    CHECK_STR(C.http.reqs[0].target, "/helix/users");
    teardown();
}

static void test_retry_5xx(void)
{
    setup(2000);
    C.fail_5xx = 2;
    CHECK(twitch_get_users(C.tw, "42", NULL, 0, NULL, 0, on_users, NULL) == 0);
    run_until(&C.calls, 1);
    CHECK_INT(C.last_status, 200);
    CHECK_INT(C.http.nreqs, 3);
    struct twitch_stats s;
    twitch_stats(C.tw, &s);
    CHECK_INT(s.retries, 2);
    teardown();

    setup(2000); /* more failures than attempts: the 503 reaches the caller */
    C.fail_5xx = 10;
    CHECK(twitch_get_users(C.tw, "42", NULL, 0, NULL, 0, on_users, NULL) == 0);
    run_until(&C.calls, 1);
    CHECK_INT(C.last_error, TWITCH_OK);
    CHECK_INT(C.last_status, 503);
    CHECK_STR(C.last_message, "busy");
    CHECK_INT(C.http.nreqs, 3);
    teardown();
}

static void on_created(void *arg, const struct twitch_result *r, const struct twitch_eventsub_sub *s)
{
    note(r);
    if (s)
        snprintf(C.got, sizeof C.got, "%s,%s,%s,%lld,%s", s->id, s->status, s->type,
                 (long long)s->cost,
                 json_string_value(json_object_get(s->condition, "broadcaster_user_id")));
}

static void test_post_not_retried_on_5xx(void)
{
    setup(2000);
    C.fail_5xx = 1;
    json_t *body = json_pack("{sssss{ss}s{ssss}}", "type", "stream.online", "version", "1",
                             "condition", "broadcaster_user_id", "7", "transport", "method",
                             "webhook", "callback", "https://x/eventsub/webhook");
    CHECK(twitch_eventsub_create(C.tw, NULL, body, on_created, NULL) == 0);
    run_until(&C.calls, 1);
    CHECK_INT(C.last_status, 503);
    CHECK_INT(C.app_token_gets, 1);
    /* and a good one */
    CHECK(twitch_eventsub_create(C.tw, NULL, body, on_created, NULL) == 0);
    run_until(&C.calls, 2);
    CHECK_INT(C.last_status, 202);
    CHECK_STR(C.got, "sub-1,enabled,stream.online,1,7");
    CHECK_INT(C.app_token_gets, 2); /* the app token comes from the provider */
    CHECK_INT(C.app_token_fetches, 0); /* the engine never fetches one itself */
    json_decref(body);
    char v[64];
    CHECK_STR(fake_header(&C.http.reqs[C.http.nreqs - 1], "Authorization", v, sizeof v),
              "Bearer apptok1");
    teardown();
}

static void test_rate_limit_waits(void)
{
    setup(3000);
    C.rate_limit = 1;
    int64_t t0 = clock_wall_us();
    int64_t reset_s = t0 / 1000000 + 1;
    CHECK(twitch_get_users(C.tw, "42", NULL, 0, NULL, 0, on_users, NULL) == 0);
    run_until(&C.calls, 1);
    CHECK_INT(C.last_status, 200);
    CHECK_INT(C.http.nreqs, 2);
    CHECK(clock_wall_us() >= reset_s * 1000000 - 20000); /* waited for the reset */
    struct twitch_stats s;
    twitch_stats(C.tw, &s);
    CHECK_INT(s.rate_limited, 1);
    teardown();
}

static void test_401_fresh_token(void)
{
    setup(2000);
    C.reject_token = 1;
    CHECK(twitch_get_users(C.tw, "42", NULL, 0, NULL, 0, on_users, NULL) == 0);
    run_until(&C.calls, 1);
    CHECK_INT(C.last_status, 200);
    CHECK_INT(C.token_rejects, 1);
    CHECK_INT(C.token_gets, 2);
    CHECK(strstr(C.got, "Bearer new"));
    teardown();
}

static void test_no_token(void)
{
    setup(2000);
    CHECK(twitch_get_users(C.tw, "dead", NULL, 0, NULL, 0, on_users, NULL) == 0);
    run_until(&C.calls, 1);
    CHECK_INT(C.last_error, TWITCH_ENOTOKEN);
    CHECK_STR(C.last_message, "the grant is dead");
    CHECK(twitch_get_users(C.tw, "nobody", NULL, 0, NULL, 0, on_users, NULL) == 0);
    run_until(&C.calls, 2);
    CHECK_INT(C.last_error, TWITCH_ENOTOKEN);
    CHECK_INT(C.http.nreqs, 0);
    teardown();
}

static void on_followed(void *arg, const struct twitch_result *r, const struct twitch_followed *f,
                        size_t n, const char *cursor, int64_t total)
{
    note(r);
    C.n = n;
    snprintf(C.got, sizeof C.got, "%s|%lld|%s|%s", n ? f[n - 1].broadcaster_login : "",
             (long long)total, cursor ? cursor : "end", n ? f[0].broadcaster_id : "");
}

static void test_followed_pages(void)
{
    setup(2000);
    C.pages_total = 250;
    CHECK(twitch_get_followed(C.tw, "42", "42", NULL, 0, on_followed, NULL) == 0);
    run_until(&C.calls, 1);
    CHECK_INT(C.n, 100);
    CHECK_STR(C.got, "b99|250|100|1000");
    CHECK(twitch_get_followed(C.tw, "42", "42", "100", 0, on_followed, NULL) == 0);
    run_until(&C.calls, 2);
    CHECK_STR(C.got, "b199|250|200|1100");
    CHECK(twitch_get_followed(C.tw, "42", "42", NULL, 1000, on_followed, NULL) == 0);
    run_until(&C.calls, 3);
    CHECK_INT(C.n, 250);
    CHECK_STR(C.got, "b249|250|end|1000");
    CHECK_INT(C.http.nreqs, 5);
    CHECK(twitch_get_followed(C.tw, "42", "42", NULL, 150, on_followed, NULL) == 0);
    run_until(&C.calls, 4);
    CHECK_INT(C.n, 150);
    teardown();
}

static void on_streams(void *arg, const struct twitch_result *r, const struct twitch_stream *s,
                       size_t n)
{
    note(r);
    C.n = n;
    C.got[0] = 0;
    for (size_t i = 0; i < n; i++)
        snprintf(C.got + strlen(C.got), sizeof C.got - strlen(C.got), "%s:%lld,", s[i].user_id,
                 (long long)s[i].viewer_count);
}

static void test_streams_batches(void)
{
    setup(2000);
    static char idbuf[250][16];
    const char *ids[250];
    for (int i = 0; i < 250; i++) {
        snprintf(idbuf[i], sizeof idbuf[i], "%d", i);
        ids[i] = idbuf[i];
    }
    CHECK(twitch_get_streams(C.tw, NULL, ids, 250, NULL, 0, on_streams, NULL) == 0);
    run_until(&C.calls, 1);
    CHECK_INT(C.http.nreqs, 3); /* 3 batches (the app token comes from the provider) */
    CHECK_INT(C.n, 3);
    CHECK_STR(C.got, "0:100,100:100,200:50,");
    CHECK(twitch_get_streams(C.tw, NULL, NULL, 0, NULL, 0, on_streams, NULL) == -1);
    teardown();
}

static void on_list(void *arg, const struct twitch_result *r, const struct twitch_eventsub_page *p)
{
    note(r);
    C.n = p ? p->n : 0;
    if (p)
        snprintf(C.got + strlen(C.got), sizeof C.got - strlen(C.got), "|%zu,%lld,%lld,%s", p->n,
                 (long long)p->total, (long long)p->max_total_cost, p->cursor ? p->cursor : "end");
}

static void on_done(void *arg, const struct twitch_result *r)
{
    note(r);
}

static void test_eventsub_list_delete(void)
{
    setup(2000);
    struct twitch_eventsub_filter f = {.status = "enabled"};
    CHECK(twitch_eventsub_list(C.tw, NULL, &f, NULL, 0, on_list, NULL) == 0);
    run_until(&C.calls, 1);
    CHECK_STR(C.got, "/helix/eventsub/subscriptions?status=enabled;|1,2,10000,p2");
    C.got[0] = 0;
    CHECK(twitch_eventsub_list(C.tw, "42", NULL, NULL, 1, on_list, NULL) == 0);
    run_until(&C.calls, 2);
    CHECK_STR(C.got, "/helix/eventsub/subscriptions;"
                     "/helix/eventsub/subscriptions?after=p2;|2,2,10000,end");
    CHECK(twitch_eventsub_delete(C.tw, NULL, "sub-1", on_done, NULL) == 0);
    run_until(&C.calls, 3);
    CHECK_INT(C.last_status, 204);
    CHECK(twitch_eventsub_delete(C.tw, NULL, "zzz", on_done, NULL) == 0);
    run_until(&C.calls, 4);
    CHECK_INT(C.last_status, 404);
    CHECK_STR(C.last_message, "HTTP 404");
    teardown();
}

static void on_token(void *arg, const struct twitch_result *r, const struct twitch_token *t)
{
    note(r);
    if (t)
        snprintf(C.got + strlen(C.got), sizeof C.got - strlen(C.got), "|%s,%s,%lld,%s",
                 t->access_token, t->refresh_token, (long long)t->expires_in_s, t->scopes);
}

static void on_validate(void *arg, const struct twitch_result *r, const struct twitch_validation *v)
{
    note(r);
    if (v)
        snprintf(C.got, sizeof C.got, "%s,%s,%s,%s,%lld", v->client_id, v->login, v->user_id,
                 v->scopes, (long long)v->expires_in_s);
}

static void test_oauth(void)
{
    setup(2000);
    CHECK(twitch_oauth_code(C.tw, "c o&de", "http://localhost:8080/auth/callback", on_token,
                            NULL) == 0);
    run_until(&C.calls, 1);
    CHECK_STR(C.got, "client_id=cid&client_secret=csecret&code=c%20o%26de&grant_type="
                     "authorization_code&redirect_uri=http%3A%2F%2Flocalhost%3A8080%2Fauth%"
                     "2Fcallback|at1,rt1,14124,user:read:follows user:read:chat");
    char v[128];
    CHECK_STR(fake_header(&C.http.reqs[0], "Content-Type", v, sizeof v),
              "application/x-www-form-urlencoded");
    CHECK(twitch_oauth_refresh(C.tw, "dead", on_token, NULL) == 0);
    run_until(&C.calls, 2);
    CHECK_INT(C.last_status, 400);
    CHECK_STR(C.last_message, "Invalid refresh token");
    CHECK(twitch_oauth_validate(C.tw, "good", on_validate, NULL) == 0);
    run_until(&C.calls, 3);
    CHECK_STR(C.got, "cid,alice,42,user:read:follows,100");
    CHECK(twitch_oauth_validate(C.tw, "bad", on_validate, NULL) == 0);
    run_until(&C.calls, 4);
    CHECK_INT(C.last_status, 401);
    CHECK_STR(C.last_message, "invalid access token");
    CHECK(twitch_oauth_revoke(C.tw, "tok", on_done, NULL) == 0);
    run_until(&C.calls, 5);
    CHECK_INT(C.last_status, 404); /* the fake has no /revoke: the status reaches us */
    teardown();
}

static void test_timeout(void)
{
    setup(150);
    C.never_answer = 1;
    CHECK(twitch_get_users(C.tw, "42", NULL, 0, NULL, 0, on_users, NULL) == 0);
    run_until(&C.calls, 1);
    CHECK_INT(C.last_error, TWITCH_ETIMEOUT);
    CHECK_INT(C.http.nreqs, 3); /* retried */
    teardown();
}

static void test_connection_refused(void)
{
    setup(1000);
    fake_http_stop(&C.http);
    uv_run(&C.loop, UV_RUN_NOWAIT);
    CHECK(twitch_oauth_validate(C.tw, "good", on_validate, NULL) == 0);
    run_until(&C.calls, 1);
    CHECK_INT(C.last_error, TWITCH_ENET);
    CHECK(C.last_message[0]);
    twitch_free(C.tw);
    uv_close((uv_handle_t *)&C.dog, NULL);
    uv_run(&C.loop, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(&C.loop) == 0);
}

static void test_free_cancels(void)
{
    setup(5000);
    C.never_answer = 1;
    CHECK(twitch_get_users(C.tw, "42", NULL, 0, NULL, 0, on_users, NULL) == 0);
    CHECK(twitch_get_streams(C.tw, NULL, (const char *[]){"1"}, 1, NULL, 0, on_streams, NULL) ==
          0);
    /* let the first reach the server */
    int64_t deadline = clock_mono_us() + 5000000;
    while (C.http.nreqs < 1 && clock_mono_us() < deadline)
        uv_run(&C.loop, UV_RUN_ONCE);
    twitch_free(C.tw);
    CHECK_INT(C.calls, 2);
    CHECK_INT(C.last_error, TWITCH_ECANCELED);
    fake_http_stop(&C.http);
    uv_close((uv_handle_t *)&C.dog, NULL);
    uv_run(&C.loop, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(&C.loop) == 0);
}

static const struct unit_test tests[] = {
    {"get users: query, token, parse", test_get_users},
    {"helix carries Client-Id", test_client_id_header},
    {"5xx retried with backoff, then reported", test_retry_5xx},
    {"POST not retried on 5xx; eventsub create parsed; app token from the provider", test_post_not_retried_on_5xx},
    {"429 waits for Ratelimit-Reset", test_rate_limit_waits},
    {"401 gets a fresh user token once", test_401_fresh_token},
    {"no token: ENOTOKEN without a request", test_no_token},
    {"followed channels: one page, a cursor, all pages, a cap", test_followed_pages},
    {"get streams in batches of 100", test_streams_batches},
    {"eventsub list (filter, all pages) and delete", test_eventsub_list_delete},
    {"oauth code, refresh, validate, revoke", test_oauth},
    {"timeouts retried then ETIMEOUT", test_timeout},
    {"connection refused: ENET", test_connection_refused},
    {"free cancels pending calls", test_free_cancels},
    {0},
};

UNIT_MAIN(tests)
