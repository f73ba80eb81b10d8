/* Helix answers → events as EventSub would have told them (eventsub/backfill). */
#include "unit.h"

#include <jansson.h>

#include "base/clock.h"
#include "eventsub/backfill.h"

static json_t *parse(const char *text)
{
    json_t *j = json_loads(text, 0, NULL);
    CHECK(j);
    return j;
}

static void test_live_stream_becomes_stream_online(void)
{
    json_t *body = parse("{\"data\":[{\"id\":\"40001\",\"user_id\":\"900\",\"user_login\":\"cozy\","
                         "\"user_name\":\"Cozy\",\"type\":\"live\",\"title\":\"hi\","
                         "\"started_at\":\"2026-11-22T10:00:00Z\"}]}");
    struct event *ev = backfill_stream_online(body, "900", 0);
    CHECK(ev);
    CHECK_STR(ev->type, "stream.online");
    CHECK_STR(ev->id, "helix-stream-40001");
    CHECK_STR(ev->streamer_login, "cozy");
    CHECK_STR(ev->streamer_name, "Cozy");
    /* keyed like EventSub's stream.online, whose id is the stream id */
    CHECK_STR(ev->dedupe_key, "stream.online:900:40001");
    int64_t at;
    CHECK(clock_parse_rfc3339("2026-11-22T10:00:00Z", &at) == 0);
    CHECK(ev->created_at_us == at);
    event_free(ev);
    /* started before the gap: nothing new to tell */
    CHECK(backfill_stream_online(body, "900", at + 1000000) == NULL);
    /* Helix has whole seconds: a stream of the gap's first second is in the gap */
    ev = backfill_stream_online(body, "900", at + 999999);
    CHECK(ev);
    event_free(ev);
    /* an answer about someone else, or garbage, is nothing */
    CHECK(backfill_stream_online(body, "901", 0) == NULL);
    json_decref(body);
    const char *bad[] = {"{}",
                         "{\"data\":[]}",
                         "{\"data\":{}}",
                         "[]",
                         "{\"data\":[null]}",
                         "{\"data\":[{\"id\":\"1\",\"user_id\":\"900\",\"user_login\":\"c\","
                         "\"started_at\":\"yesterday\"}]}",
                         "{\"data\":[{\"id\":\"1\",\"user_id\":\"900\",\"user_login\":\"c\","
                         "\"type\":\"\",\"started_at\":\"2026-11-22T10:00:00Z\"}]}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *b = parse(bad[i]);
        CHECK(backfill_stream_online(b, "900", 0) == NULL);
        json_decref(b);
    }
    CHECK(backfill_stream_online(NULL, "900", 0) == NULL);
}

static void test_followers_become_follows_oldest_first(void)
{
    json_t *body = parse(
        "{\"total\":4,\"data\":["
        "{\"user_id\":\"3\",\"user_login\":\"carol\",\"user_name\":\"Carol\",\"followed_at\":"
        "\"2026-11-22T12:00:00Z\"},"
        "{\"user_id\":\"2\",\"user_login\":\"bob\",\"user_name\":\"Bob\",\"followed_at\":\"2026-11-"
        "22T11:00:00Z\"},"
        "{\"user_id\":\"x\",\"followed_at\":\"2026-11-22T10:30:00Z\"},"
        "{\"user_id\":\"1\",\"user_login\":\"alice\",\"followed_at\":\"2026-11-22T10:00:00Z\"}],"
        "\"pagination\":{}}");
    struct event *evs[8];
    size_t n = backfill_follows(body, "900", "cozy", 0, evs, 8);
    CHECK(n == 3); /* the one without a login is skipped */
    CHECK_STR(evs[0]->viewer_login, "alice");
    CHECK_STR(evs[0]->viewer_name, "alice");
    CHECK_STR(evs[1]->summary, "Bob followed");
    CHECK_STR(evs[2]->viewer_login, "carol");
    CHECK_STR(evs[2]->type, "channel.follow");
    CHECK_STR(evs[2]->streamer_login, "cozy");
    CHECK_STR(evs[2]->streamer_name, ""); /* Helix did not say: the store keeps its own */
    CHECK(strncmp(evs[2]->id, "helix-follow-900-3-", 19) == 0);
    CHECK(evs[2]->dedupe_key && strstr(evs[2]->dedupe_key, "channel.follow:900:3@"));
    for (size_t i = 0; i < n; i++)
        event_free(evs[i]);
    int64_t since;
    CHECK(clock_parse_rfc3339("2026-11-22T11:00:00Z", &since) == 0);
    n = backfill_follows(body, "900", "cozy", since, evs, 8);
    CHECK(n == 2); /* only follows since the gap began */
    CHECK_STR(evs[0]->viewer_login, "bob");
    for (size_t i = 0; i < n; i++)
        event_free(evs[i]);
    n = backfill_follows(body, "900", "cozy", 0, evs, 1);
    CHECK(n == 1); /* never more than room */
    event_free(evs[0]);
    json_decref(body);
    json_t *junk = parse("{\"data\":[1,\"a\",[],{}]}");
    CHECK(backfill_follows(junk, "900", "cozy", 0, evs, 8) == 0);
    json_decref(junk);
}

static const struct unit_test tests[] = {
    {"a live stream from Get Streams becomes a stream.online keyed like EventSub's",
     test_live_stream_becomes_stream_online},
    {"followers from Get Channel Followers become follows, oldest first, since the gap",
     test_followers_become_follows_oldest_first},
    {0},
};

int main(int argc, char **argv)
{
    return unit_run(tests, argc, argv);
}
