/* test_event: decoding every EventSub payload in tests/data/eventsub against its
 * X.expected.json sidecar, the contract's JSON, gap markers, the type table and hostile input.
 * Run from the repo root. */
#include "unit.h"

#include <dirent.h>
#include <inttypes.h>

#include "base/buf.h"
#include "base/clock.h"
#include "auth/accounts_int.h"
#include "event/event.h"

#define DATA_DIR "tests/data/eventsub"
#define SIDECAR ".expected.json"

static const char *const contract_keys[] = {
    "id", "type", "streamer_login", "viewer_login", "viewer_name", "created_at", "summary", "data",
};
#define NKEYS (sizeof contract_keys / sizeof contract_keys[0])

/* --- helpers --- */

static json_t *load_json(const char *path)
{
    json_error_t jerr;
    json_t *j = json_load_file(path, 0, &jerr);
    if (!j)
        fprintf(stderr, "# %s: %s (line %d)\n", path, jerr.text, jerr.line);
    CHECK(j);
    return j;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int is_data_file(const char *name)
{
    return ends_with(name, ".json") && !ends_with(name, SIDECAR);
}

/* X.json → X.expected.json, parsed; NULL when missing. */
static json_t *load_sidecar(const char *name)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%.*s%s", DATA_DIR, (int)(strlen(name) - 5), name, SIDECAR);
    if (access(path, R_OK) != 0)
        return NULL;
    return load_json(path);
}

/* Calls fn for every data file, in directory order. Returns how many. */
static size_t for_each_data_file(void (*fn)(const char *name, json_t *body, void *arg), void *arg)
{
    DIR *dir = opendir(DATA_DIR);
    CHECK(dir);
    size_t count = 0;
    struct dirent *de;
    while ((de = readdir(dir))) {
        if (!is_data_file(de->d_name))
            continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", DATA_DIR, de->d_name);
        json_t *body = load_json(path);
        fn(de->d_name, body, arg);
        json_decref(body);
        count++;
    }
    closedir(dir);
    return count;
}

static struct event *decode_body(const char *name, json_t *body, int64_t ts)
{
    struct event *ev = NULL;
    struct err err = {""};
    char id[300];
    snprintf(id, sizeof id, "msg-%s", name);
    if (event_decode_notification(id, ts, body, &ev, &err) != 0)
        fprintf(stderr, "# %s: decode failed: %s\n", name, err.msg);
    CHECK(ev);
    return ev;
}

static int same_nullable(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static const char *or_null(const char *s)
{
    return s ? s : "(null)";
}

/* Compares one field, reporting the file on mismatch. Returns 1 when equal. */
static int field_matches(const char *file, const char *field, const char *got, json_t *want)
{
    const char *w = json_is_string(want) ? json_string_value(want) : NULL;
    if (same_nullable(got, w))
        return 1;
    fprintf(stderr, "# %s: %s is \"%s\", expected \"%s\"\n", file, field, or_null(got), or_null(w));
    return 0;
}

static char *encode(const struct event *ev)
{
    struct buf b;
    buf_init(&b, 0);
    CHECK(event_encode_json(ev, &b) == 0);
    return buf_detach(&b, NULL);
}

/* Parses s (jansson rejects invalid UTF-8) and checks it is exactly the contract's object. */
static json_t *parse_contract_object(const char *s)
{
    json_error_t jerr;
    json_t *obj = json_loads(s, 0, &jerr);
    if (!obj)
        fprintf(stderr, "# not JSON (%s): %.300s\n", jerr.text, s);
    CHECK(json_is_object(obj));
    CHECK_INT(json_object_size(obj), NKEYS);
    for (size_t i = 0; i < NKEYS; i++)
        CHECK(json_object_get(obj, contract_keys[i]));
    return obj;
}

/* The compact dump of j with '<' '>' escaped, as the contract's "data" must read. */
static char *compact_html_safe(json_t *j)
{
    char *dump = json_dumps(j, JSON_COMPACT);
    CHECK(dump);
    struct buf b;
    buf_init(&b, 0);
    for (const char *p = dump; *p; p++) {
        const char *esc = *p == '<' ? "\\u003c" : *p == '>' ? "\\u003e" : NULL;
        CHECK((esc ? buf_puts(&b, esc) : buf_append(&b, p, 1)) == 0);
    }
    free(dump);
    return buf_detach(&b, NULL);
}

/* --- data-driven: every file of tests/data/eventsub --- */

static void check_one_file(const char *name, json_t *body, void *arg)
{
    int *failures = arg;
    json_t *want = load_sidecar(name); /* owned */
    if (!want) {
        fprintf(stderr, "# %s: no %s sidecar\n", name, SIDECAR);
        (*failures)++;
        return;
    }
    int64_t ts = 0;
    CHECK(clock_parse_rfc3339(json_string_value(json_object_get(want, "message_timestamp")), &ts) ==
          0);
    struct event *ev = decode_body(name, body, ts);
    char created[40];
    clock_format_rfc3339(ev->created_at_us, created, sizeof created);
    int ok =
        field_matches(name, "type", ev->type, json_object_get(want, "type")) &
        field_matches(name, "streamer_login", ev->streamer_login,
                      json_object_get(want, "streamer_login")) &
        field_matches(name, "viewer_login", ev->viewer_login,
                      json_object_get(want, "viewer_login")) &
        field_matches(name, "viewer_name", ev->viewer_name, json_object_get(want, "viewer_name")) &
        field_matches(name, "created_at", created, json_object_get(want, "created_at")) &
        field_matches(name, "summary", ev->summary, json_object_get(want, "summary")) &
        field_matches(name, "dedupe_key", ev->dedupe_key, json_object_get(want, "dedupe_key"));
    if (!json_equal(ev->data, json_object_get(body, "event"))) {
        fprintf(stderr, "# %s: data is not the event object\n", name);
        ok = 0;
    }
    if (!ev->streamer_id || !ev->streamer_name || (ev->viewer_login && !ev->viewer_name)) {
        fprintf(stderr, "# %s: streamer id/name or viewer name missing\n", name);
        ok = 0;
    }
    *failures += !ok;
    event_free(ev);
    json_decref(want);
}

static void test_data_files_decode_as_expected(void)
{
    int failures = 0;
    size_t files = for_each_data_file(check_one_file, &failures);
    CHECK_INT(failures, 0);
    CHECK(files >= 60);
}

static void test_every_sidecar_has_its_payload(void)
{
    DIR *dir = opendir(DATA_DIR);
    CHECK(dir);
    int orphans = 0;
    struct dirent *de;
    while ((de = readdir(dir))) {
        if (!ends_with(de->d_name, SIDECAR))
            continue;
        char path[600];
        snprintf(path, sizeof path, "%s/%.*s.json", DATA_DIR,
                 (int)(strlen(de->d_name) - strlen(SIDECAR)), de->d_name);
        if (access(path, R_OK) != 0) {
            fprintf(stderr, "# %s has no payload file\n", de->d_name);
            orphans++;
        }
    }
    closedir(dir);
    CHECK_INT(orphans, 0);
}

static void check_encoding(const char *name, json_t *body, void *arg)
{
    struct event *ev = decode_body(name, body, *(int64_t *)arg);
    char *s = encode(ev);
    json_t *obj = parse_contract_object(s);
    CHECK_STR(json_string_value(json_object_get(obj, "id")), ev->id);
    CHECK_STR(json_string_value(json_object_get(obj, "type")), ev->type);
    CHECK_STR(json_string_value(json_object_get(obj, "streamer_login")), ev->streamer_login);
    CHECK_STR(json_string_value(json_object_get(obj, "summary")), ev->summary);
    CHECK(json_equal(json_object_get(obj, "data"), json_object_get(body, "event")));
    if (ev->viewer_login)
        CHECK_STR(json_string_value(json_object_get(obj, "viewer_login")), ev->viewer_login);
    else
        CHECK(json_is_null(json_object_get(obj, "viewer_login")));
    if (!ev->viewer_name)
        CHECK(json_is_null(json_object_get(obj, "viewer_name")));
    int64_t at;
    CHECK(clock_parse_rfc3339(json_string_value(json_object_get(obj, "created_at")), &at) == 0);
    CHECK_INT(at / 1000, ev->created_at_us / 1000);
    CHECK(!strchr(s, '<') && !strchr(s, '>')); /* escaped, HTML-safe */
    char *data = compact_html_safe(json_object_get(body, "event"));
    CHECK(strstr(s, data)); /* data as compact as jansson makes it */
    free(data);
    json_decref(obj);
    free(s);
    event_free(ev);
}

static void test_data_files_encode_contract_object(void)
{
    int64_t ts = 1795000000123456;
    CHECK(for_each_data_file(check_encoding, &ts) >= 60);
}

/* --- the type table --- */

static void test_type_table(void)
{
    static const char *const required[] = {
        "stream.online",
        "stream.offline",
        "channel.update",
        "channel.follow",
        "channel.subscribe",
        "channel.subscription.gift",
        "channel.subscription.message",
        "channel.cheer",
        "channel.raid",
        "channel.channel_points_custom_reward_redemption.add",
        "channel.channel_points_custom_reward_redemption.update",
        "channel.channel_points_automatic_reward_redemption.add",
        "channel.hype_train.begin",
        "channel.hype_train.progress",
        "channel.hype_train.end",
        "channel.poll.begin",
        "channel.poll.progress",
        "channel.poll.end",
        "channel.prediction.begin",
        "channel.prediction.progress",
        "channel.prediction.lock",
        "channel.prediction.end",
        "channel.ban",
        "channel.bits.use",
        "channel.chat.message",
        "channel.chat.notification",
        "channel.channel_points_automatic_reward_redemption.add",
        "channel.shared_chat.begin",
        "channel.shared_chat.update",
        "channel.shared_chat.end",
        "channel.goal.begin",
        "channel.goal.progress",
        "channel.goal.end",
        "channel.charity_campaign.donate",
        "channel.charity_campaign.start",
        "channel.charity_campaign.progress",
        "channel.charity_campaign.stop",
        "channel.ad_break.begin",
        "channel.shoutout.create",
        "channel.shoutout.receive",
    };
    size_t n = 0;
    const struct event_type_info *types = event_types(&n);
    CHECK(n >= sizeof required / sizeof required[0]);
    for (size_t i = 0; i < n; i++) {
        CHECK(types[i].type && types[i].version && types[i].label && types[i].decode);
        CHECK(types[i].what && types[i].plural && types[i].icon && types[i].tone);
        CHECK(event_type_find(types[i].type) == &types[i]); /* names are unique */
        /* a broadcaster type names the scope the broadcaster login asks for */
        if (types[i].need == EVENT_NEED_BROADCASTER &&
            strcmp(types[i].scope, "channel:moderate") != 0 /* not read-only: never asked */) {
            CHECK(strstr(SCOPES_BROADCASTER, types[i].scope) != NULL);
        }
        if (types[i].superseded_by)
            CHECK(event_type_find(types[i].superseded_by) != NULL);
    }
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        CHECK(event_type_find(required[i]));
    CHECK_STR(event_type_find("channel.follow")->version, "2");
    CHECK_STR(event_type_find("channel.hype_train.begin")->version, "2");
    CHECK_STR(event_type_find("channel.update")->version, "2");
    CHECK_STR(event_type_find("channel.channel_points_automatic_reward_redemption.add")->version,
              "2");
    CHECK_INT(event_type_find("channel.follow")->need, EVENT_NEED_BROADCASTER);
    CHECK_INT(event_type_find("stream.online")->need, EVENT_NEED_NOTHING);
    CHECK_INT(event_type_find("channel.shared_chat.begin")->need, EVENT_NEED_NOTHING);
    CHECK_INT(event_type_find("channel.shoutout.create")->cond, EVENT_COND_MODERATOR);
    CHECK_STR(event_type_find("channel.cheer")->scope, "bits:read");
    CHECK(event_type_find("channel.nonsense") == NULL);
    CHECK(event_type_find(NULL) == NULL);
}

/* --- building payloads in tests --- */

static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &jerr);
    if (!j)
        fprintf(stderr, "# bad test JSON: %s\n", jerr.text);
    CHECK(j);
    return j;
}

/* Decodes a literal event object; returns the event or NULL (then err holds why). */
static struct event *decode_text(const char *type, const char *event_text, struct err *err)
{
    json_t *obj = parse(event_text);
    struct event *ev = NULL;
    int rc = event_decode("m-1", type, 1795000000000000, obj, &ev, err);
    json_decref(obj);
    CHECK((rc == 0) == (ev != NULL));
    return ev;
}

#define BC                                                                                         \
    "\"broadcaster_user_id\":\"1337\",\"broadcaster_user_login\":\"cozystreamer\","                \
    "\"broadcaster_user_name\":\"CozyStreamer\""

/* --- raids --- */

static void test_raid_without_condition_lands_on_to_broadcaster(void)
{
    struct event *ev = decode_text(
        "channel.raid",
        "{\"from_broadcaster_user_id\":\"2002\",\"from_broadcaster_user_login\":\"bob\","
        "\"from_broadcaster_user_name\":\"Bob\",\"to_broadcaster_user_id\":\"1337\","
        "\"to_broadcaster_user_login\":\"CozyStreamer\",\"to_broadcaster_user_name\":"
        "\"CozyStreamer\",\"viewers\":1}",
        NULL);
    CHECK(ev);
    CHECK_STR(ev->streamer_login, "cozystreamer"); /* lower-cased */
    CHECK_STR(ev->streamer_id, "1337");
    CHECK_STR(ev->viewer_login, "bob");
    CHECK_STR(ev->summary, "Raid from Bob with 1 viewer");
    event_free(ev);
}

static void test_raid_condition_picks_the_side(void)
{
    json_t *obj = parse("{\"from_broadcaster_user_id\":\"1337\",\"from_broadcaster_user_login\":"
                        "\"cozystreamer\",\"to_broadcaster_user_id\":\"4004\","
                        "\"to_broadcaster_user_login\":\"dave\",\"viewers\":\"7\"}");
    json_t *outgoing =
        parse("{\"from_broadcaster_user_id\":\"1337\",\"to_broadcaster_user_id\":\"\"}");
    json_t *incoming = parse("{\"to_broadcaster_user_id\":\"4004\"}");
    struct event *ev = NULL;
    CHECK(event_decode_with_condition("m", "channel.raid", 0, obj, outgoing, &ev, NULL) == 0);
    CHECK_STR(ev->streamer_login, "cozystreamer");
    CHECK_STR(ev->viewer_login, "dave");
    CHECK_STR(ev->viewer_name, "dave");                   /* no name: the login stands in */
    CHECK_STR(ev->summary, "Raided dave with 7 viewers"); /* viewers as a string: tolerated */
    event_free(ev);
    CHECK(event_decode_with_condition("m", "channel.raid", 0, obj, incoming, &ev, NULL) == 0);
    CHECK_STR(ev->streamer_login, "dave");
    CHECK_STR(ev->viewer_login, "cozystreamer");
    CHECK_STR(ev->summary, "Raid from cozystreamer with 7 viewers");
    event_free(ev);
    json_decref(obj);
    json_decref(outgoing);
    json_decref(incoming);
}

/* --- generic and failing decodes --- */

static void test_unknown_type_is_decoded_generically(void)
{
    struct event *ev = decode_text(
        "channel.shield_mode.begin",
        "{" BC ",\"moderator_user_id\":\"6006\",\"started_at\":\"2026-11-22T10:00:00Z\"}", NULL);
    CHECK(ev);
    CHECK_STR(ev->type, "channel.shield_mode.begin");
    CHECK_STR(ev->streamer_login, "cozystreamer");
    CHECK(ev->viewer_login == NULL && ev->viewer_name == NULL && ev->viewer_id == NULL);
    CHECK_STR(ev->summary, "channel.shield_mode.begin event");
    CHECK(ev->dedupe_key == NULL);
    CHECK_INT(ev->created_at_us, 1795000000000000); /* the message time */
    event_free(ev);
    ev = decode_text("x.custom", "{" BC ",\"user_id\":1001,\"user_login\":\"Alice\"}", NULL);
    CHECK(ev);
    CHECK_STR(ev->viewer_id, "1001"); /* an integer id: tolerated */
    CHECK_STR(ev->viewer_login, "alice");
    CHECK_STR(ev->viewer_name, "Alice");
    event_free(ev);
}

static void test_missing_broadcaster_fails_cleanly(void)
{
    struct err err = {""};
    CHECK(decode_text("channel.follow", "{\"user_id\":\"1\",\"user_login\":\"a\"}", &err) == NULL);
    CHECK(strstr(err.msg, "broadcaster"));
    CHECK(decode_text("mystery.type", "{}", &err) == NULL);
    CHECK(strstr(err.msg, "broadcaster"));
    CHECK(decode_text("channel.raid", "{\"viewers\":3}", &err) == NULL);
    CHECK(strstr(err.msg, "broadcaster"));
    CHECK(decode_text("stream.online", "{\"broadcaster_user_id\":\"1\"}", &err) == NULL);
    CHECK(strstr(err.msg, "broadcaster_user_login"));
    CHECK(decode_text("stream.online", "{\"broadcaster_user_login\":\"x\"}", &err) == NULL);
    CHECK(strstr(err.msg, "broadcaster_user_id"));
    CHECK(decode_text("stream.online", "{\"broadcaster_user_id\":[],\"broadcaster_user_login\":{}}",
                      &err) == NULL);
    CHECK(decode_text("user.authorization.grant",
                      "{\"client_id\":\"c\",\"user_id\":\"1\",\"user_login\":\"a\"}",
                      &err) == NULL);
    CHECK(strstr(err.msg, "broadcaster"));
}

static void test_event_not_an_object_fails_cleanly(void)
{
    static const char *const bodies[] = {"[]", "\"event\"", "null", "42", "true", "[{}]"};
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        struct err err = {""};
        CHECK(decode_text("channel.follow", bodies[i], &err) == NULL);
        CHECK(strstr(err.msg, "not a JSON object"));
    }
    struct event *ev = NULL;
    struct err err = {""};
    CHECK(event_decode("m", "channel.follow", 0, NULL, &ev, &err) == -1 && !ev);
    json_t *obj = parse("{" BC "}");
    CHECK(event_decode(NULL, "stream.offline", 0, obj, &ev, &err) == -1 && !ev);
    CHECK(event_decode("", "stream.offline", 0, obj, &ev, &err) == -1 && !ev);
    CHECK(event_decode("m", NULL, 0, obj, &ev, NULL) == -1 && !ev);
    CHECK(event_decode("m", "", 0, obj, &ev, NULL) == -1 && !ev);
    json_decref(obj);
    static const char *const notifications[] = {
        "{}",
        "{\"subscription\":[]}",
        "{\"subscription\":{\"type\":1},\"event\":{}}",
        "{\"subscription\":{\"type\":\"stream.offline\"}}",
        "{\"subscription\":{\"type\":\"stream.offline\"},\"event\":\"x\"}",
        "[]",
    };
    for (size_t i = 0; i < sizeof notifications / sizeof notifications[0]; i++) {
        json_t *body = parse(notifications[i]);
        CHECK(event_decode_notification("m", 0, body, &ev, &err) == -1 && !ev);
        json_decref(body);
    }
}

/* --- hostile input: every field of every data file, replaced by every wrong type --- */

static json_t *wrong_value(int which)
{
    switch (which) {
    case 0:
        return json_integer(-7);
    case 1:
        return json_string("");
    case 2:
        return json_string("9999999999999999999999");
    case 3:
        return json_array();
    case 4:
        return json_pack("{s:i}", "x", 1);
    case 5:
        return json_null();
    case 6:
        return json_true();
    case 7:
        return json_real(1e300);
    default:
        return NULL;
    }
}

#define NWRONG 8

static void decode_and_encode_must_survive(const char *type, json_t *event_obj)
{
    struct event *ev = NULL;
    struct err err;
    if (event_decode("m", type, 1795000000000000, event_obj, &ev, &err) != 0) {
        CHECK(ev == NULL && err.msg[0]);
        return;
    }
    CHECK(ev->summary && ev->streamer_login && ev->id && ev->type);
    char *s = encode(ev);
    json_decref(parse_contract_object(s));
    free(s);
    event_free(ev);
}

/* Replaces each field of obj (and of the objects inside it, one level down) in turn. */
static void mutate_fields(const char *type, json_t *root, json_t *obj, int depth)
{
    const char *key;
    json_t *value;
    void *tmp;
    json_object_foreach_safe(obj, tmp, key, value)
    {
        json_t *saved = json_incref(value);
        for (int w = 0; w < NWRONG; w++) {
            json_object_set_new(obj, key, wrong_value(w));
            decode_and_encode_must_survive(type, root);
        }
        json_object_set(obj, key, saved);
        if (json_is_object(saved) && depth < 1)
            mutate_fields(type, root, saved, depth + 1);
        json_decref(saved);
    }
}

static void mutate_one_file(const char *name, json_t *body, void *arg)
{
    const char *type =
        json_string_value(json_object_get(json_object_get(body, "subscription"), "type"));
    json_t *event_obj = json_deep_copy(json_object_get(body, "event"));
    mutate_fields(type, event_obj, event_obj, 0);
    json_decref(event_obj);
    (*(int *)arg)++;
}

static void test_wrong_types_everywhere(void)
{
    int files = 0;
    for_each_data_file(mutate_one_file, &files);
    CHECK(files >= 60);
}

static void test_huge_strings(void)
{
    size_t n = 1 << 20;
    char *big = malloc(n + 1);
    CHECK(big);
    memset(big, 'a', n);
    big[n] = 0;
    json_t *obj = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:b}", "broadcaster_user_id",
                            "1337", "broadcaster_user_login", "cozystreamer",
                            "broadcaster_user_name", big, "user_login", big, "user_name", big,
                            "message", big, "bits", 5, "is_anonymous", 0);
    struct event *ev = NULL;
    CHECK(event_decode("m", "channel.cheer", 0, obj, &ev, NULL) == 0);
    CHECK(strlen(ev->summary) < 600); /* names and text are clipped */
    CHECK(strlen(ev->viewer_login) <= 256 && strlen(ev->streamer_name) <= 256);
    char *s = encode(ev);
    json_decref(parse_contract_object(s));
    free(s);
    event_free(ev);
    /* a broadcaster login of a megabyte is not a Twitch login */
    json_object_set_new(obj, "broadcaster_user_login", json_string(big));
    struct err err = {""};
    CHECK(event_decode("m", "channel.cheer", 0, obj, &ev, &err) == -1 && !ev);
    CHECK(strstr(err.msg, "login"));
    json_decref(obj);
    free(big);
}

static void test_invalid_utf8_stays_valid_json(void)
{
    json_t *obj = parse("{" BC ",\"chatter_user_id\":\"1\",\"message_id\":\"abc\"}");
    /* jansson's _nocheck functions let a json_t carry what no parser would accept */
    json_object_set_new(obj, "chatter_user_login",
                        json_string_nocheck("al\xff"
                                            "ice"));
    json_object_set_new(obj, "chatter_user_name", json_string_nocheck("Al\xc3"));
    json_object_set_new(
        obj, "message",
        json_pack("{s:o}", "text", json_string_nocheck("hi \xe2\x82 there \xed\xa0\x80")));
    json_object_set_new_nocheck(obj,
                                "bad\xfe"
                                "key",
                                json_string_nocheck("\xc0\xaf"));
    struct event *ev = NULL;
    CHECK(event_decode("m\xff", "channel.chat.message", 0, obj, &ev, NULL) == 0);
    CHECK_STR(ev->viewer_login, "al\xef\xbf\xbd"
                                "ice");
    char *s = encode(ev);
    json_t *back = parse_contract_object(s); /* parse fails on invalid UTF-8 */
    CHECK(strstr(json_string_value(json_object_get(back, "summary")), "\xef\xbf\xbd"));
    json_t *data = json_object_get(back, "data");
    CHECK(json_is_object(data));
    CHECK_STR(json_string_value(json_object_get(data, "bad\xef\xbf\xbdkey")),
              "\xef\xbf\xbd\xef\xbf\xbd");
    json_decref(back);
    free(s);
    event_free(ev);
    json_decref(obj);
}

static void test_summary_truncation_is_utf8_safe(void)
{
    struct buf text;
    buf_init(&text, 0);
    for (int i = 0; i < 200; i++)
        CHECK(buf_puts(&text, "\xc3\xa9") == 0); /* é */
    json_t *obj = json_pack("{s:s, s:s, s:s, s:s, s:{s:s}}", "broadcaster_user_id", "1",
                            "broadcaster_user_login", "c", "chatter_user_login", "alice",
                            "chatter_user_name", "Alice", "message", "text", text.data);
    struct event *ev = NULL;
    CHECK(event_decode("m", "channel.chat.message", 0, obj, &ev, NULL) == 0);
    struct buf want;
    buf_init(&want, 0);
    CHECK(buf_puts(&want, "Alice: ") == 0);
    CHECK(buf_append(&want, text.data, 140 * 2) == 0);
    CHECK(buf_puts(&want, "\xe2\x80\xa6") == 0);
    CHECK_STR(ev->summary, want.data);
    event_free(ev);
    json_decref(obj);
    buf_release(&text);
    buf_release(&want);
}

static void test_control_characters_in_summary(void)
{
    struct event *ev =
        decode_text("channel.cheer",
                    "{" BC ",\"user_login\":\"alice\",\"user_name\":\"Al\\nice\",\"bits\":\"250\","
                    "\"message\":\"  line one\\r\\nline\\ttwo  \",\"is_anonymous\":\"false\"}",
                    NULL);
    CHECK(ev);
    CHECK_STR(ev->summary, "Al ice cheered 250 bits: line one  line two");
    event_free(ev);
}

/* --- leniency and details --- */

static void test_time_field_unusable_keeps_message_time(void)
{
    static const char *const times[] = {"\"yesterday\"", "null", "12", "\"0001-01-01T00:00:00Z\""};
    for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "{" BC ",\"user_login\":\"a\",\"followed_at\":%s}", times[i]);
        struct event *ev = decode_text("channel.follow", text, NULL);
        CHECK(ev);
        CHECK_INT(ev->created_at_us, 1795000000000000);
        event_free(ev);
    }
}

static void test_dedupe_keys_are_per_type(void)
{
    const char *text = "{" BC ",\"id\":\"r-1\",\"user_login\":\"a\",\"status\":\"canceled\","
                       "\"reward\":{\"title\":\"Hydrate\",\"cost\":5}}";
    struct event *add =
        decode_text("channel.channel_points_custom_reward_redemption.add", text, NULL);
    struct event *upd =
        decode_text("channel.channel_points_custom_reward_redemption.update", text, NULL);
    CHECK(add && upd);
    CHECK_STR(add->dedupe_key, "channel.channel_points_custom_reward_redemption.add:1337:r-1");
    CHECK_STR(upd->dedupe_key, "channel.channel_points_custom_reward_redemption.update:1337:r-1");
    CHECK_STR(upd->summary, "a's Hydrate redemption was canceled");
    event_free(add);
    event_free(upd);
    struct event *poll = decode_text("channel.poll.begin", "{" BC ",\"id\":\"p\"}", NULL);
    CHECK(poll && poll->dedupe_key == NULL);
    CHECK_STR(poll->summary, "Poll started: (untitled)");
    event_free(poll);
    /* a follow as EventSub tells it and as Helix tells it (whole seconds) is one follow */
    struct event *live = decode_text(
        "channel.follow", "{" BC ",\"user_id\":\"9\",\"followed_at\":\"2026-11-22T10:00:00.123Z\"}",
        NULL);
    struct event *helix =
        decode_text("channel.follow",
                    "{" BC ",\"user_id\":\"9\",\"followed_at\":\"2026-11-22T10:00:00Z\"}", NULL);
    struct event *later =
        decode_text("channel.follow",
                    "{" BC ",\"user_id\":\"9\",\"followed_at\":\"2026-11-22T10:00:01Z\"}", NULL);
    struct event *no_time = decode_text("channel.follow", "{" BC ",\"user_id\":\"9\"}", NULL);
    CHECK(live && helix && later && no_time);
    CHECK_STR(live->dedupe_key, helix->dedupe_key);
    CHECK(strcmp(live->dedupe_key, later->dedupe_key) != 0); /* unfollowed and followed again */
    CHECK(no_time->dedupe_key == NULL);
    event_free(live);
    event_free(helix);
    event_free(later);
    event_free(no_time);
}

/* One cheer, told by channel.cheer and by channel.bits.use (a broadcaster who granted
 * bits:read, subscriptions adopted from before SEV used bits.use): one dedupe key. A
 * Power-up is no cheer; another cheer of the same viewer is another key. */
static void test_cheer_told_twice_is_one(void)
{
    struct event *cheer =
        decode_text("channel.cheer",
                    "{" BC ",\"is_anonymous\":false,\"user_id\":\"1001\","
                    "\"user_login\":\"alice\",\"bits\":100,\"message\":\"Cheer100 gg\"}",
                    NULL);
    struct event *use = decode_text(
        "channel.bits.use",
        "{" BC ",\"user_id\":\"1001\",\"user_login\":\"alice\",\"bits\":100,\"type\":\"cheer\","
        "\"message\":{\"text\":\"Cheer100 gg\",\"fragments\":[]},\"power_up\":null}",
        NULL);
    struct event *other = decode_text(
        "channel.bits.use",
        "{" BC ",\"user_id\":\"1001\",\"user_login\":\"alice\",\"bits\":100,\"type\":\"cheer\","
        "\"message\":{\"text\":\"Cheer100 again\",\"fragments\":[]},\"power_up\":null}",
        NULL);
    struct event *power_up = decode_text(
        "channel.bits.use",
        "{" BC ",\"user_id\":\"1001\",\"user_login\":\"alice\",\"bits\":100,"
        "\"type\":\"power_up\",\"message\":null,\"power_up\":{\"type\":\"celebration\"}}",
        NULL);
    CHECK(cheer && use && other && power_up);
    CHECK(cheer->dedupe_key && use->dedupe_key);
    CHECK_STR(cheer->dedupe_key, use->dedupe_key);
    CHECK(strncmp(cheer->dedupe_key, "channel.cheer:1337:1001/100/", 28) == 0);
    CHECK(strcmp(other->dedupe_key, use->dedupe_key) != 0);
    CHECK(power_up->dedupe_key == NULL);
    CHECK_STR(power_up->summary, "alice used 100 bits on an On-Screen Celebration");
    event_free(cheer);
    event_free(use);
    event_free(other);
    event_free(power_up);
}

static void test_chat_notification_unknown_notice(void)
{
    struct event *ev =
        decode_text("channel.chat.notification",
                    "{" BC ",\"chatter_user_login\":\"alice\",\"chatter_is_anonymous\":false,"
                    "\"notice_type\":\"watch_streak\",\"message_id\":\"n1\",\"system_message\":"
                    "\"Alice watched 5 streams in a row!\",\"watch_streak\":{\"streak\":5}}",
                    NULL);
    CHECK(ev);
    CHECK_STR(ev->summary, "Alice watched 5 streams in a row!");
    CHECK_STR(ev->dedupe_key, "channel.chat.notification:1337:n1");
    event_free(ev);
    ev = decode_text("channel.chat.notification", "{" BC ",\"notice_type\":42}", NULL);
    CHECK(ev);
    CHECK_STR(ev->summary, "channel.chat.notification event");
    event_free(ev);
}

static void test_ban_with_odd_times(void)
{
    struct event *ev = decode_text(
        "channel.ban",
        "{" BC ",\"user_login\":\"eve\",\"banned_at\":\"2026-11-22T10:00:00Z\",\"ends_at\":"
        "\"2026-11-22T10:00:30Z\",\"is_permanent\":false,\"reason\":null}",
        NULL);
    CHECK_STR(ev->summary, "eve was timed out for 30 seconds");
    event_free(ev);
    ev = decode_text("channel.ban",
                     "{" BC ",\"user_login\":\"eve\",\"banned_at\":\"2026-11-22T10:00:00Z\","
                     "\"ends_at\":\"2026-11-21T10:00:00Z\"}",
                     NULL);
    CHECK_STR(ev->summary, "eve was timed out"); /* ends before it began: no duration */
    event_free(ev);
}

/* --- encoding --- */

static void test_encode_respects_the_cap(void)
{
    struct event *ev = decode_text("stream.offline", "{" BC "}", NULL);
    struct buf b;
    buf_init(&b, 64);
    CHECK(buf_puts(&b, "prefix") == 0);
    CHECK(event_encode_json(ev, &b) == -1);
    CHECK_INT(b.len, 6);
    CHECK_STR(b.data, "prefix");
    buf_release(&b);
    event_free(ev);
}

static void test_encode_empty_event(void)
{
    struct event *ev = event_new();
    CHECK(ev);
    char *s = encode(ev);
    CHECK_STR(s, "{\"id\":null,\"type\":null,\"streamer_login\":null,\"viewer_login\":null,"
                 "\"viewer_name\":null,\"created_at\":\"1970-01-01T00:00:00.000Z\","
                 "\"summary\":null,\"data\":{}}");
    free(s);
    event_free(ev);
    event_free(NULL);
}

static void test_encode_exact_bytes(void)
{
    struct event *ev =
        decode_text("channel.follow",
                    "{\"user_id\":\"1001\",\"user_login\":\"alice\",\"user_name\":\"Alice\"," BC
                    ",\"followed_at\":\"2026-11-22T10:00:00.123456Z\",\"note\":\"</script>\"}",
                    NULL);
    char *s = encode(ev);
    CHECK_STR(s, "{\"id\":\"m-1\",\"type\":\"channel.follow\",\"streamer_login\":\"cozystreamer\","
                 "\"viewer_login\":\"alice\",\"viewer_name\":\"Alice\",\"created_at\":"
                 "\"2026-11-22T10:00:00.123Z\",\"summary\":\"Alice followed\",\"data\":{"
                 "\"user_id\":\"1001\",\"user_login\":\"alice\",\"user_name\":\"Alice\","
                 "\"broadcaster_user_id\":\"1337\",\"broadcaster_user_login\":\"cozystreamer\","
                 "\"broadcaster_user_name\":\"CozyStreamer\",\"followed_at\":"
                 "\"2026-11-22T10:00:00.123456Z\",\"note\":\"\\u003c/script\\u003e\"}}");
    free(s);
    event_free(ev);
}

/* --- gap markers --- */

static void test_gap_marker(void)
{
    int64_t from, to;
    CHECK(clock_parse_rfc3339("2026-11-22T10:00:00.250Z", &from) == 0);
    CHECK(clock_parse_rfc3339("2026-11-22T10:02:13Z", &to) == 0);
    struct event *ev =
        event_new_gap("1337", "CozyStreamer", "CozyStreamer", from, to, "EventSub reconnect");
    CHECK(ev);
    CHECK_STR(ev->type, "sev.gap");
    CHECK_INT(strlen(ev->id), 36);
    CHECK(ev->id[14] == '4' && ev->id[8] == '-');
    CHECK_STR(ev->streamer_login, "cozystreamer");
    CHECK_STR(ev->streamer_id, "1337");
    CHECK(!ev->viewer_login && !ev->viewer_name && !ev->dedupe_key);
    CHECK_INT(ev->created_at_us, from);
    CHECK_STR(ev->summary,
              "Possible gap in events from 10:00:00 to 10:02:13 UTC (EventSub reconnect)");
    CHECK_STR(json_string_value(json_object_get(ev->data, "from")), "2026-11-22T10:00:00.250Z");
    CHECK_STR(json_string_value(json_object_get(ev->data, "to")), "2026-11-22T10:02:13.000Z");
    CHECK_STR(json_string_value(json_object_get(ev->data, "reason")), "EventSub reconnect");
    char *s = encode(ev);
    json_t *obj = parse_contract_object(s);
    CHECK(json_is_null(json_object_get(obj, "viewer_login")));
    CHECK_STR(json_string_value(json_object_get(obj, "type")), "sev.gap");
    json_decref(obj);
    free(s);
    struct event *other = event_new_gap("1337", "c", NULL, from, to, NULL);
    CHECK(other && strcmp(other->id, ev->id) != 0);
    CHECK_STR(other->streamer_name, ""); /* unknown: the store keeps the name it has */
    event_free(ev);
    event_free(other);
}

static void test_gap_marker_across_days_and_edges(void)
{
    int64_t from, to;
    CHECK(clock_parse_rfc3339("2026-11-22T23:59:00Z", &from) == 0);
    CHECK(clock_parse_rfc3339("2026-11-23T00:01:30Z", &to) == 0);
    struct event *ev = event_new_gap(NULL, "c", NULL, from, to, NULL);
    CHECK(ev);
    CHECK_STR(ev->summary,
              "Possible gap in events from 2026-11-22 23:59:00 to 2026-11-23 00:01:30 UTC");
    CHECK(json_is_null(json_object_get(ev->data, "reason")));
    CHECK_STR(ev->streamer_name, "");
    event_free(ev);
    CHECK(event_new_gap("1", NULL, NULL, from, to, "x") == NULL);
    CHECK(event_new_gap("1", "", NULL, from, to, "x") == NULL);
    ev = event_new_gap("1", "c", NULL, to, from, "bad \xff reason"); /* to before from */
    CHECK(ev);
    char *s = encode(ev);
    json_decref(parse_contract_object(s));
    free(s);
    event_free(ev);
}

/* --- event_json_parse: the same tree as json_loadb, and a data text equal to its dump --- */

/* Checks one text: the fast parser's tree (when it gives one) is jansson's, member for member
 * and in order; its "event" text (when it gives one) is exactly the compact dump with no '<'
 * or '>'. Returns 1 when it gave a tree, 0 when it left the text to jansson, and *sliced. */
static int check_fast_parse(const char *text, size_t len, int *sliced)
{
    const char *slice = NULL;
    size_t slice_len = 99;
    json_error_t jerr;
    json_t *fast = event_json_parse(text, len, "event", &slice, &slice_len);
    json_t *slow = json_loadb(text, len, 0, &jerr);
    *sliced = slice != NULL;
    if (!fast) {
        CHECK(!slice);
        json_decref(slow);
        return 0;
    }
    CHECK(slow);
    CHECK(json_equal(fast, slow));
    char *a = json_dumps(fast, JSON_COMPACT), *b = json_dumps(slow, JSON_COMPACT);
    CHECK_STR(a, b); /* the same order too */
    free(a);
    free(b);
    if (slice) {
        char *dump = json_dumps(json_object_get(slow, "event"), JSON_COMPACT | JSON_ENCODE_ANY);
        CHECK(dump);
        CHECK_INT(slice_len, strlen(dump));
        CHECK(memcmp(slice, dump, slice_len) == 0);
        CHECK(!memchr(slice, '<', slice_len) && !memchr(slice, '>', slice_len));
        free(dump);
    }
    json_decref(fast);
    json_decref(slow);
    return 1;
}

static void test_fast_parse_is_janssons(void)
{
    static const struct {
        const char *text;
        int fast, sliced;
    } cases[] = {
        {"{\"event\":{\"a\":\"b\",\"n\":-12,\"t\":true,\"f\":false,\"z\":null,\"l\":[1,[],{}]}}", 1, 1},
        {"{\"event\":{}}", 1, 1},
        {"{}", 1, 0},
        {" {\"event\" : {\"a\":1} } ", 1, 1},      /* spaces outside the value: still its dump */
        {"{\"event\":{\"a\": 1}}", 1, 0},          /* a space inside: not */
        {"{\"event\":{\"a\":\"x\\ny\\\"z\\\\\"}}", 1, 1}, /* escapes jansson writes the same */
        {"{\"event\":{\"a\":\"x\\/y\"}}", 1, 0},  /* \/ is dumped as / */
        {"{\"event\":{\"a\":\"<b>\"}}", 1, 0},     /* not html-safe */
        {"{\"event\":{\"a\":-0}}", 1, 0},          /* dumped as 0 */
        {"{\"event\":{\"a\":1,\"a\":2}}", 1, 0},   /* a repeated key: the last value, once */
        {"{\"event\":{\"a\":1},\"event\":{\"b\":2}}", 1, 0},
        {"{\"event\":{\"a\":1},\"x\":{\"a\":1,\"a\":[2]}}", 1, 1},
        {"{\"event\":{\"a\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\"}}", 1, 1},
        {"{\"event\":{\"a\":\"\\u00e9\"}}", 0, 0},  /* \u: jansson's */
        {"{\"event\":{\"a\":1.5}}", 0, 0},          /* reals: jansson's */
        {"{\"event\":{\"a\":1e3}}", 0, 0},
        {"{\"event\":{\"a\":1234567890123456789}}", 0, 0},
        {"{\"event\":{\"a\":123456789012345678}}", 1, 1},
        {"{\"event\":{\"a\":01}}", 0, 0},
        {"{\"event\":{\"a\":\"\xff\"}}", 0, 0},      /* invalid UTF-8 */
        {"{\"event\":{\"a\":\"\xed\xa0\x80\"}}", 0, 0}, /* a surrogate */
        {"{\"event\":{\"a\":\"x\ty\"}}", 0, 0},      /* a raw control character */
        {"{\"event\":{\"a\":1},}", 0, 0},
        {"{\"event\":{\"a\":1}} x", 0, 0},
        {"[1,2]", 0, 0},
        {"{\"event\":tru}", 0, 0},
        {"{\"event\":truex}", 0, 0},
        {"{\"event\":{\"a\":1}", 0, 0},
        {"{\"event\":\"\\u0000\"}", 0, 0},
        {"", 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int sliced = 0;
        int fast = check_fast_parse(cases[i].text, strlen(cases[i].text), &sliced);
        if (fast != cases[i].fast || sliced != cases[i].sliced)
            fprintf(stderr, "# case %zu: %s\n", i, cases[i].text);
        CHECK_INT(fast, cases[i].fast);
        CHECK_INT(sliced, cases[i].sliced);
    }
    /* nesting: deep is left to jansson, whatever it says */
    char deep[300];
    memset(deep, '[', 150);
    memset(deep + 150, ']', 150);
    char body[400];
    snprintf(body, sizeof body, "{\"event\":%.300s}", deep);
    int sliced;
    CHECK_INT(check_fast_parse(body, strlen(body), &sliced), 0);
}

static void test_fast_parse_data_files(void)
{
    DIR *dir = opendir(DATA_DIR);
    CHECK(dir);
    struct dirent *de;
    int files = 0, compact = 0;
    while ((de = readdir(dir))) {
        if (!is_data_file(de->d_name))
            continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", DATA_DIR, de->d_name);
        json_t *j = load_json(path);
        /* as the file is (indented) and as Twitch sends it (compact) */
        char *pretty = json_dumps(j, JSON_INDENT(2)), *flat = json_dumps(j, JSON_COMPACT);
        CHECK(pretty && flat);
        int sliced;
        check_fast_parse(pretty, strlen(pretty), &sliced);
        CHECK(!sliced);
        if (check_fast_parse(flat, strlen(flat), &sliced) && sliced)
            compact++;
        files++;
        free(pretty);
        free(flat);
        json_decref(j);
    }
    closedir(dir);
    CHECK(files > 50);
    CHECK(compact > files / 2); /* most payloads take the fast path, text and all */
}

static const struct unit_test tests[] = {
    {"data files decode as their sidecars say", test_data_files_decode_as_expected},
    {"every sidecar has its payload", test_every_sidecar_has_its_payload},
    {"data files encode to the contract's event object", test_data_files_encode_contract_object},
    {"type table covers the digest's types", test_type_table},
    {"raid without condition lands on the to_broadcaster",
     test_raid_without_condition_lands_on_to_broadcaster},
    {"raid condition picks the streamer side", test_raid_condition_picks_the_side},
    {"unknown types are decoded generically", test_unknown_type_is_decoded_generically},
    {"missing broadcaster fails with a clear error", test_missing_broadcaster_fails_cleanly},
    {"event not an object fails cleanly", test_event_not_an_object_fails_cleanly},
    {"wrong JSON types in every field never crash", test_wrong_types_everywhere},
    {"huge strings are clipped or refused", test_huge_strings},
    {"invalid UTF-8 still encodes valid JSON", test_invalid_utf8_stays_valid_json},
    {"summary truncation is UTF-8 safe", test_summary_truncation_is_utf8_safe},
    {"control characters leave summaries", test_control_characters_in_summary},
    {"unusable time fields keep the message time", test_time_field_unusable_keeps_message_time},
    {"dedupe keys are per type", test_dedupe_keys_are_per_type},
    {"a cheer told by channel.cheer and channel.bits.use is one", test_cheer_told_twice_is_one},
    {"unknown chat notices use the system message", test_chat_notification_unknown_notice},
    {"bans with odd times", test_ban_with_odd_times},
    {"encode respects the buffer cap", test_encode_respects_the_cap},
    {"encode an empty event", test_encode_empty_event},
    {"encode exact bytes, HTML-safe data", test_encode_exact_bytes},
    {"gap marker", test_gap_marker},
    {"gap marker across days and edges", test_gap_marker_across_days_and_edges},
    {"the fast parse builds jansson's tree", test_fast_parse_is_janssons},
    {"the fast parse of every data file", test_fast_parse_data_files},
    {0},
};

UNIT_MAIN(tests)
