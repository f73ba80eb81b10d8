/* The EventSub subscription manager against a fake Twitch (webhook mode: no sockets).
 * The fake records every Helix call and answers on the next loop turn, as the real client
 * does. Checks: one shared set per streamer, reference counting, adoption and orphan
 * deletion at start, the secret-change rule, broadcaster-consent types, 409/403/5xx paths,
 * revocations, and the capability reasons. */
#include "unit.h"

#include <jansson.h>
#include <uv.h>

#include "eventsub/manager.h"

struct call {
    char method[8];
    char path[256];
    char user[32];
    json_t *body;
    esm_helix_cb cb;
    void *arg;
};

struct fake {
    uv_loop_t loop;
    struct call calls[512];
    int ncalls, answered;
    int next_id;
    int create_status; /* what POST answers (202 unless set) */
    const char *create_msg;
    json_t *listing;    /* what GET answers */
    json_t *by_type;    /* what GET ?type= answers, when set */
    const char *scopes; /* what user_scopes answers for the broadcaster */
    uv_idle_t idle;
};

static void answer(struct fake *f, struct call *c)
{
    if (strcmp(c->method, "POST") == 0) {
        int st = f->create_status ? f->create_status : 202;
        json_t *b;
        if (st == 202) {
            char id[32];
            snprintf(id, sizeof id, "sub-%d", ++f->next_id);
            b = json_pack("{s[{sssssO}]}", "data", "id", id, "status",
                          "webhook_callback_verification_pending", "type",
                          json_string_value(json_object_get(c->body, "type")), "condition",
                          json_object_get(c->body, "condition"));
        } else {
            b = json_pack("{ss}", "message", f->create_msg ? f->create_msg : "nope");
        }
        c->cb(c->arg, st, b, NULL);
        json_decref(b);
    } else if (strcmp(c->method, "GET") == 0) {
        c->cb(c->arg, 200, f->by_type && strstr(c->path, "?type=") ? f->by_type : f->listing, NULL);
    } else {
        c->cb(c->arg, 204, NULL, NULL);
    }
}

static void on_idle(uv_idle_t *h)
{
    struct fake *f = h->data;
    while (f->answered < f->ncalls)
        answer(f, &f->calls[f->answered++]);
    uv_idle_stop(h);
}

static int fake_helix(void *ctx, const char *user, const char *method, const char *path,
                      json_t *body, esm_helix_cb cb, void *arg)
{
    struct fake *f = ctx;
    CHECK(f->ncalls < 512);
    struct call *c = &f->calls[f->ncalls++];
    snprintf(c->method, sizeof c->method, "%s", method);
    snprintf(c->path, sizeof c->path, "%s", path);
    snprintf(c->user, sizeof c->user, "%s", user ? user : "");
    c->body = body ? json_deep_copy(body) : NULL;
    c->cb = cb;
    c->arg = arg;
    uv_idle_start(&f->idle, on_idle);
    return 0;
}

static void scopes_later(uv_timer_t *t);
struct scopes_req {
    uv_timer_t t;
    esm_scopes_cb cb;
    void *arg;
    char user[32];
    const char *scopes;
};

static int fake_scopes(void *ctx, const char *user, esm_scopes_cb cb, void *arg)
{
    struct fake *f = ctx;
    struct scopes_req *r = calloc(1, sizeof *r);
    r->cb = cb;
    r->arg = arg;
    r->scopes = f->scopes;
    snprintf(r->user, sizeof r->user, "%s", user);
    uv_timer_init(&f->loop, &r->t);
    r->t.data = r;
    uv_timer_start(&r->t, scopes_later, 0, 0);
    return 0;
}

static void scopes_later(uv_timer_t *t)
{
    struct scopes_req *r = t->data;
    r->cb(r->arg, r->user, r->scopes);
    uv_close((uv_handle_t *)t, (uv_close_cb)free);
}

static void spin(struct fake *f)
{
    for (int i = 0; i < 20; i++)
        uv_run(&f->loop, UV_RUN_NOWAIT);
}

static struct esm *fx_new(struct fake *f, const char *scopes, int secret_changed)
{
    memset(f, 0, sizeof *f);
    CHECK(uv_loop_init(&f->loop) == 0);
    uv_idle_init(&f->loop, &f->idle);
    f->idle.data = f;
    f->scopes = scopes;
    f->listing = json_pack("{s[]s{}}", "data", "pagination");
    struct esm_options o = {.transport = ESM_WEBHOOK,
                            .ws_url = "ws://127.0.0.1:1/ws", /* nothing listens: chat waits */
                            .callback_url = "https://sev.example/eventsub/webhook",
                            .webhook_secret = "0123456789abcdef",
                            .secret_changed = secret_changed,
                            .retry_base_ms = 5,
                            .retry_max_ms = 20};
    struct esm_twitch_ops ops = {fake_helix, fake_scopes, f};
    struct esm *m = NULL;
    CHECK(esm_new(&f->loop, &o, &ops, NULL, &m, NULL) == 0);
    return m;
}

static void fx_free(struct fake *f, struct esm *m)
{
    esm_free(m);
    /* like the real client at shutdown: every call still gets its one callback */
    while (f->answered < f->ncalls)
        answer(f, &f->calls[f->answered++]);
    uv_close((uv_handle_t *)&f->idle, NULL);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    for (int i = 0; i < f->ncalls; i++)
        json_decref(f->calls[i].body);
    json_decref(f->listing);
    json_decref(f->by_type);
    CHECK(uv_loop_close(&f->loop) == 0);
}

static int count(struct fake *f, const char *method, const char *type)
{
    int n = 0;
    for (int i = 0; i < f->ncalls; i++) {
        struct call *c = &f->calls[i];
        if (strcmp(c->method, method) != 0)
            continue;
        const char *t = c->body ? json_string_value(json_object_get(c->body, "type")) : NULL;
        if (!type || (t && strcmp(t, type) == 0))
            n++;
    }
    return n;
}

/* Calls of method whose path starts with prefix; user_out gets the last one's token owner. */
static int count_path(struct fake *f, const char *method, const char *prefix, char *user_out)
{
    int n = 0;
    for (int i = 0; i < f->ncalls; i++)
        if (strcmp(f->calls[i].method, method) == 0 &&
            strncmp(f->calls[i].path, prefix, strlen(prefix)) == 0) {
            n++;
            if (user_out)
                strcpy(user_out, f->calls[i].user);
        }
    return n;
}

static void caps(struct esm *m, const char *login, char *out, size_t size)
{
    struct buf b;
    buf_init(&b, 0);
    CHECK(esm_capabilities_json(m, login, &b) == 0);
    snprintf(out, size, "%s", b.data);
    buf_release(&b);
}

static void test_two_viewers_share_one_set(void)
{
    struct fake f;
    struct esm *m = fx_new(&f, NULL, 0);
    esm_favorite_changed(m, "100", NULL, "900", "streamer");
    esm_favorite_changed(m, "101", NULL, "900", "streamer");
    CHECK_INT(count(&f, "POST", NULL), 0); /* nothing before start */
    esm_start(m);
    spin(&f);
    CHECK_INT(count_path(&f, "GET", "/eventsub/subscriptions", NULL), 1); /* listed first */
    /* first view: the stream now (app token); no followers without the broadcaster's consent */
    char user[32] = "?";
    CHECK_INT(count_path(&f, "GET", "/streams?user_id=900", user), 1);
    CHECK_STR(user, "");
    CHECK_INT(count_path(&f, "GET", "/channels/followers", NULL), 0);
    CHECK_INT(count(&f, "POST", "stream.online"), 1);
    CHECK_INT(count(&f, "POST", "stream.offline"), 1);
    CHECK_INT(count(&f, "POST", "channel.update"), 1);
    CHECK_INT(count(&f, "POST", "channel.raid"), 2);              /* to and from */
    CHECK_INT(count(&f, "POST", "channel.shared_chat.begin"), 1); /* no authorization needed */
    CHECK_INT(count(&f, "POST", "channel.shared_chat.end"), 1);
    CHECK_INT(count(&f, "POST", "channel.follow"), 0); /* no broadcaster consent */
    /* webhook bodies carry the callback and the secret; created with the app token */
    for (int i = 0; i < f.ncalls; i++)
        if (strcmp(f.calls[i].method, "POST") == 0) {
            json_t *tr = json_object_get(f.calls[i].body, "transport");
            const char *method = json_string_value(json_object_get(tr, "method"));
            if (strcmp(method, "webhook") == 0) {
                CHECK_STR(f.calls[i].user, "");
                CHECK_STR(json_string_value(json_object_get(tr, "callback")),
                          "https://sev.example/eventsub/webhook");
            }
        }
    /* one viewer leaves: nothing deleted; the last leaves: everything deleted */
    esm_favorite_changed(m, "100", "900", NULL, NULL);
    spin(&f);
    CHECK_INT(count(&f, "DELETE", NULL), 0);
    esm_favorite_changed(m, "101", "900", NULL, NULL);
    spin(&f);
    CHECK_INT(count(&f, "DELETE", NULL), 8); /* 5 + shared chat begin/update/end */
    struct esm_stats st;
    esm_stats(m, &st);
    CHECK_INT(st.streamers, 0);
    fx_free(&f, m);
}

static void test_restart_adopts_and_deletes_orphans(void)
{
    struct fake f;
    struct esm *m = fx_new(&f, NULL, 0);
    json_decref(f.listing);
    f.listing = json_pack(
        "{s[{ssssssss s{ss} s{ssss}},{ssssssss s{ss} s{ssss}},{ssssssss s{ss} s{ssss}}]s{}}",
        "data",
        /* ours and wanted: adopted */
        "id", "keep", "status", "enabled", "type", "stream.online", "version", "1", "condition",
        "broadcaster_user_id", "900", "transport", "method", "webhook", "callback",
        "https://sev.example/eventsub/webhook",
        /* ours, nobody watches 901 any more: deleted */
        "id", "orphan", "status", "enabled", "type", "stream.online", "version", "1", "condition",
        "broadcaster_user_id", "901", "transport", "method", "webhook", "callback",
        "https://sev.example/eventsub/webhook",
        /* another deployment's: untouched */
        "id", "foreign", "status", "enabled", "type", "stream.online", "version", "1", "condition",
        "broadcaster_user_id", "901", "transport", "method", "webhook", "callback",
        "https://other.example/hook", "pagination");
    esm_favorite_changed(m, "100", NULL, "900", "streamer");
    esm_start(m);
    spin(&f);
    CHECK_INT(count(&f, "POST", "stream.online"), 0); /* adopted, not re-created */
    CHECK_INT(count(&f, "POST", "stream.offline"), 1);
    int deleted_orphan = 0, deleted_other = 0;
    for (int i = 0; i < f.ncalls; i++)
        if (strcmp(f.calls[i].method, "DELETE") == 0) {
            deleted_orphan |= strstr(f.calls[i].path, "id=orphan") != NULL;
            deleted_other |= strstr(f.calls[i].path, "id=foreign") != NULL ||
                             strstr(f.calls[i].path, "id=keep") != NULL;
        }
    CHECK(deleted_orphan);
    CHECK(!deleted_other);
    struct esm_stats st;
    esm_stats(m, &st);
    CHECK_INT(st.adopted, 1);
    fx_free(&f, m);
}

static void test_secret_change_redoes_webhooks(void)
{
    struct fake f;
    struct esm *m = fx_new(&f, NULL, 1);
    json_decref(f.listing);
    f.listing = json_pack("{s[{ssssssss s{ss} s{ssss}}]s{}}", "data", "id", "old", "status",
                          "enabled", "type", "stream.online", "version", "1", "condition",
                          "broadcaster_user_id", "900", "transport", "method", "webhook",
                          "callback", "https://sev.example/eventsub/webhook", "pagination");
    esm_favorite_changed(m, "100", NULL, "900", "streamer");
    esm_start(m);
    spin(&f);
    CHECK_INT(count(&f, "POST", "stream.online"), 1);
    CHECK_INT(count(&f, "DELETE", NULL), 1);
    fx_free(&f, m);
}

static void test_broadcaster_consent_adds_types(void)
{
    struct fake f;
    struct esm *m = fx_new(&f, "moderator:read:followers channel:read:subscriptions bits:read", 0);
    esm_favorite_changed(m, "100", NULL, "900", "streamer");
    esm_start(m);
    spin(&f);
    CHECK_INT(count(&f, "POST", "channel.follow"), 1);
    CHECK_INT(count(&f, "POST", "channel.subscribe"), 1);
    /* bits:read: channel.bits.use tells every cheer (and Power-ups, Combos); channel.cheer
     * would tell the same cheers again */
    CHECK_INT(count(&f, "POST", "channel.bits.use"), 1);
    CHECK_INT(count(&f, "POST", "channel.cheer"), 0);
    CHECK_INT(count(&f, "POST", "channel.poll.begin"), 0); /* not granted */
    CHECK_INT(count(&f, "POST", "channel.goal.begin"), 0);
    for (int i = 0; i < f.ncalls; i++)
        if (strcmp(f.calls[i].method, "POST") == 0 &&
            strcmp(json_string_value(json_object_get(f.calls[i].body, "type")), "channel.follow") ==
                0) {
            json_t *cond = json_object_get(f.calls[i].body, "condition");
            CHECK_STR(json_string_value(json_object_get(cond, "moderator_user_id")), "900");
        }
    /* with consent, the first view also reads the latest followers with the broadcaster's token */
    char user[32] = "?";
    CHECK_INT(count_path(&f, "GET", "/channels/followers?broadcaster_id=900&first=20", user), 1);
    CHECK_STR(user, "900");
    char out[65536];
    caps(m, "streamer", out, sizeof out);
    CHECK(strstr(out, "\"type\":\"channel.poll.begin\""));
    CHECK(strstr(out, "needs the broadcaster to authorize SEV"));
    fx_free(&f, m);
}

static void test_capabilities_follow_state(void)
{
    struct fake f;
    struct esm *m = fx_new(&f, NULL, 0);
    char out[65536];
    caps(m, "nobody", out, sizeof out);
    CHECK(strstr(out, "nobody watches this streamer yet"));
    esm_favorite_changed(m, "100", NULL, "900", "streamer");
    esm_start(m);
    spin(&f);
    caps(m, "streamer", out, sizeof out);
    CHECK(strstr(out, "waiting for Twitch to verify the webhook"));
    /* verification arrives: receiving */
    for (int i = 1; i <= f.next_id; i++) {
        char id[32];
        snprintf(id, sizeof id, "sub-%d", i);
        esm_on_verified(m, id);
    }
    caps(m, "streamer", out, sizeof out);
    CHECK(strstr(out, "{\"type\":\"stream.online\",\"version\":\"1\",\"label\":\"Going live\","
                      "\"receiving\":true,\"transport\":\"webhook\",\"reason\":null"));
    /* the pages' labels and icons come with it, from the type table */
    CHECK(strstr(out, "\"labels\":{\"types\":{\"stream.online\":{\"label\":\"Went live\""));
    CHECK(strstr(out, "\"channel.bits.use\":{\"label\":\"Bits\",\"plural\":\"Bits used\","
                      "\"icon\":\"i-bits\""));
    CHECK(strstr(out, "\"variants\":[{\"type\":\"channel.ban\",\"key\":\"is_permanent\""));
    fx_free(&f, m);
}

static void test_errors_are_not_retried_forever(void)
{
    struct fake f;
    struct esm *m = fx_new(&f, NULL, 0);
    f.create_status = 503;
    esm_favorite_changed(m, "100", NULL, "900", "streamer");
    esm_start(m);
    /* 5 attempts per webhook row, with backoff on the loop's timers, then given up */
    uint64_t deadline = uv_hrtime() + 3000000000ULL;
    while (count(&f, "POST", "stream.online") < 5 && uv_hrtime() < deadline)
        uv_run(&f.loop, UV_RUN_ONCE);
    spin(&f);
    CHECK_INT(count(&f, "POST", "stream.online"), 5);
    char out[65536];
    caps(m, "streamer", out, sizeof out);
    CHECK(strstr(out, "failed 5 times"));
    /* a 403 is final at once */
    struct fake g;
    struct esm *m2 = fx_new(&g, NULL, 0);
    g.create_status = 403;
    esm_favorite_changed(m2, "100", NULL, "900", "streamer");
    esm_start(m2);
    spin(&g);
    CHECK_INT(count(&g, "POST", "stream.online"), 1);
    fx_free(&g, m2);
    fx_free(&f, m);
}

static void test_revocation_recreates(void)
{
    struct fake f;
    struct esm *m = fx_new(&f, NULL, 0);
    esm_favorite_changed(m, "100", NULL, "900", "streamer");
    esm_start(m);
    spin(&f);
    CHECK_INT(count(&f, "POST", "stream.online"), 1);
    /* which id did stream.online get? the fake numbers them in call order */
    int n = 0;
    char id[32] = "";
    for (int i = 0; i < f.ncalls; i++)
        if (strcmp(f.calls[i].method, "POST") == 0) {
            n++;
            if (strcmp(json_string_value(json_object_get(f.calls[i].body, "type")),
                       "stream.online") == 0)
                snprintf(id, sizeof id, "sub-%d", n);
        }
    esm_on_revocation(m, id, "stream.online", "notification_failures_exceeded");
    uint64_t deadline = uv_hrtime() + 2000000000ULL;
    while (count(&f, "POST", "stream.online") < 2 && uv_hrtime() < deadline)
        uv_run(&f.loop, UV_RUN_ONCE);
    CHECK_INT(count(&f, "POST", "stream.online"), 2);
    fx_free(&f, m);
}

/* The id the fake gave the first POST of type (it numbers 202s in call order). */
static void id_of(struct fake *f, const char *type, char *id, size_t size)
{
    int n = 0;
    id[0] = 0;
    for (int i = 0; i < f->ncalls; i++)
        if (strcmp(f->calls[i].method, "POST") == 0) {
            n++;
            if (!id[0] &&
                strcmp(json_string_value(json_object_get(f->calls[i].body, "type")), type) == 0)
                snprintf(id, size, "sub-%d", n);
        }
}

static int receiving(struct esm *m, const char *type)
{
    char out[65536], want[256];
    caps(m, "streamer", out, sizeof out);
    snprintf(want, sizeof want, "{\"type\":\"%s\",", type);
    const char *row = strstr(out, want);
    const char *end = row ? strchr(row, '}') : NULL;
    const char *yes = row ? strstr(row, "\"receiving\":true") : NULL;
    return yes && yes < end;
}

/* Twitch's 409: the subscription exists. SEV lists the type (no `first`), takes the one that
 * is its own over and does not create again. */
static void test_conflict_adopts(void)
{
    struct fake f;
    struct esm *m = fx_new(&f, NULL, 0);
    f.create_status = 409;
    f.create_msg = "subscription already exists";
    f.by_type = json_pack("{s[{ss ss ss ss s{ss} s{ssss}}] s{} si si}", "data", "id", "existing-1",
                          "status", "enabled", "type", "stream.online", "version", "1", "condition",
                          "broadcaster_user_id", "900", "transport", "method", "webhook",
                          "callback", "https://sev.example/eventsub/webhook", "pagination",
                          "total_cost", 1, "max_total_cost", 10000);
    esm_favorite_changed(m, "100", NULL, "900", "streamer");
    esm_start(m);
    uint64_t deadline = uv_hrtime() + 2000000000ULL;
    while (uv_hrtime() < deadline && count(&f, "POST", "stream.offline") < 5)
        uv_run(&f.loop, UV_RUN_ONCE);
    spin(&f);
    CHECK_INT(count(&f, "POST", "stream.online"), 1); /* adopted: never created again */
    CHECK(receiving(m, "stream.online"));
    CHECK(count_path(&f, "GET", "/eventsub/subscriptions?type=stream.online", NULL) >= 1);
    for (int i = 0; i < f.ncalls; i++)
        CHECK(strstr(f.calls[i].path, "first=") == NULL ||
              strncmp(f.calls[i].path, "/eventsub/", 10) != 0);
    /* what Twitch does not list is retried with backoff, then given up: not every minute */
    CHECK_INT(count(&f, "POST", "stream.offline"), 5);
    struct esm_stats st;
    esm_stats(m, &st);
    CHECK(st.adopted >= 1);
    fx_free(&f, m);
}

/* The challenge of a webhook subscription may arrive before the create call's 202 is
 * handled: remembered, the subscription shows verified. */
static void test_early_challenge_counts(void)
{
    struct fake f;
    struct esm *m = fx_new(&f, NULL, 0);
    esm_favorite_changed(m, "100", NULL, "900", "streamer");
    esm_start(m);
    /* nothing is answered yet; the fake will number the 202s sub-1.. in call order */
    esm_on_verified(m, "sub-1"); /* stream.online's challenge, before its 202 */
    spin(&f);
    char id[32];
    id_of(&f, "stream.online", id, sizeof id);
    CHECK_STR(id, "sub-1");
    CHECK(receiving(m, "stream.online"));
    CHECK(!receiving(m, "stream.offline")); /* still waiting for its challenge */
    fx_free(&f, m);
}

/* A 429 that does not say which limit: the token's total_cost/max_total_cost decide. */
static void test_429_reads_cost_fields(void)
{
    struct fake f;
    struct esm *m = fx_new(&f, NULL, 0);
    f.create_status = 429;
    f.create_msg = "a wording SEV must not depend on";
    json_decref(f.listing);
    f.listing = json_pack("{s[] s{} si si si}", "data", "pagination", "total", 10000, "total_cost",
                          10000, "max_total_cost", 10000);
    esm_favorite_changed(m, "100", NULL, "900", "streamer");
    esm_start(m);
    spin(&f);
    spin(&f);
    CHECK_INT(count(&f, "POST", "stream.online"), 1);
    CHECK(count_path(&f, "GET", "/eventsub/subscriptions?status=enabled", NULL) >= 1);
    char out[65536];
    caps(m, "streamer", out, sizeof out);
    CHECK(strstr(out, "cost limit for this token is reached"));
    fx_free(&f, m);
}

/* Each revocation reason gets its next step (webhook mode: app token). */
static void test_revocation_reasons(void)
{
    static const struct {
        const char *reason;
        int recreated; /* 1: made again after the backoff */
        const char *says;
    } cases[] = {
        {"authorization_revoked", 0, "needs the broadcaster to authorize SEV"},
        {"authorization_revoked", 1, NULL}, /* stream.online needs nobody's authorization */
        {"user_removed", 0, "the streamer's Twitch account no longer exists"},
        {"version_removed", 0, "Twitch retired this version of the type"},
        {"moderator_removed", 0, "is no longer a moderator"},
        {"beta_maintenance", 1, NULL},
        {"notification_failures_exceeded", 1, NULL},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        struct fake f;
        struct esm *m = fx_new(&f, "moderator:read:followers", 0);
        esm_favorite_changed(m, "100", NULL, "900", "streamer");
        esm_start(m);
        spin(&f);
        const char *type = strcmp(cases[k].reason, "moderator_removed") == 0 ||
                                   (k == 0 && strcmp(cases[k].reason, "authorization_revoked") == 0)
                               ? "channel.follow"
                               : "stream.online";
        char id[32];
        id_of(&f, type, id, sizeof id);
        CHECK(id[0]);
        esm_on_verified(m, id);
        CHECK(receiving(m, type));
        esm_on_revocation(m, id, type, cases[k].reason);
        uint64_t deadline = uv_hrtime() + 300000000ULL; /* backoff here is 5..20 ms */
        while (uv_hrtime() < deadline && count(&f, "POST", type) < 2)
            uv_run(&f.loop, UV_RUN_NOWAIT);
        spin(&f);
        if (count(&f, "POST", type) != 1 + cases[k].recreated)
            fprintf(stderr, "# %s: %d POSTs\n", cases[k].reason, count(&f, "POST", type));
        CHECK_INT(count(&f, "POST", type), 1 + cases[k].recreated);
        if (cases[k].says) {
            char out[65536];
            caps(m, "streamer", out, sizeof out);
            if (!strstr(out, cases[k].says))
                fprintf(stderr, "# %s: %.2000s\n", cases[k].reason, out);
            CHECK(strstr(out, cases[k].says));
        }
        fx_free(&f, m);
    }
}

static const struct unit_test tests[] = {
    {"two viewers of one streamer share one subscription set; the last one out deletes it",
     test_two_viewers_share_one_set},
    {"start-up adopts matching subscriptions and deletes orphans, never foreign ones",
     test_restart_adopts_and_deletes_orphans},
    {"a changed webhook secret recreates webhook subscriptions",
     test_secret_change_redoes_webhooks},
    {"broadcaster consent adds exactly the granted types", test_broadcaster_consent_adds_types},
    {"capabilities follow the subscription states", test_capabilities_follow_state},
    {"failures back off and stop; 403 is final", test_errors_are_not_retried_forever},
    {"a revocation for failures recreates the subscription", test_revocation_recreates},
    {"a 409 adopts the existing subscription instead of creating again", test_conflict_adopts},
    {"a challenge before the 202 is remembered: verified", test_early_challenge_counts},
    {"a 429 reads total_cost and max_total_cost, not the wording", test_429_reads_cost_fields},
    {"every revocation reason gets its next step", test_revocation_reasons},
    {0},
};

int main(int argc, char **argv)
{
    return unit_run(tests, argc, argv);
}
