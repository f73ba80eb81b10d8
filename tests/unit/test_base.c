#include "unit.h"

#include "base/buf.h"
#include "base/clock.h"
#include "base/defer.h"
#include "base/rand.h"

static void test_buf_cap(void)
{
    struct buf b;
    buf_init(&b, 8);
    CHECK(buf_append(&b, "12345678", 8) == 0);
    CHECK(buf_append(&b, "9", 1) == -1);
    CHECK_INT(b.len, 8);
    CHECK_STR(b.data, "12345678");
    buf_release(&b);
}

static void test_buf_printf_long(void)
{
    struct buf b;
    buf_init(&b, 0);
    char big[1000];
    memset(big, 'x', sizeof big - 1);
    big[999] = 0;
    CHECK(buf_printf(&b, "<%s>", big) == 0);
    CHECK_INT(b.len, 1001);
    CHECK(b.data[0] == '<' && b.data[1000] == '>');
    buf_release(&b);
}

static void test_json_escape(void)
{
    struct buf b;
    buf_init(&b, 0);
    CHECK(buf_json_escape(&b, "a\"b\\c\n<\x01", 8) == 0);
    CHECK_STR(b.data, "a\\\"b\\\\c\\n\\u003c\\u0001");
    buf_release(&b);
}

static void test_urlencode(void)
{
    struct buf b;
    buf_init(&b, 0);
    CHECK(buf_urlencode(&b, "aZ09-_.~ /&=?%+\xC3\xA9") == 0);
    CHECK_STR(b.data, "aZ09-_.~%20%2F%26%3D%3F%25%2B%C3%A9");
    buf_release(&b);
    buf_init(&b, 4); /* the cap holds */
    CHECK(buf_urlencode(&b, "a b") == -1);
    buf_release(&b);
}

static void test_rfc3339_roundtrip(void)
{
    int64_t us;
    CHECK(clock_parse_rfc3339("2026-11-22T10:00:00.123Z", &us) == 0);
    char out[40];
    clock_format_rfc3339(us, out, sizeof out);
    CHECK_STR(out, "2026-11-22T10:00:00.123Z");
    CHECK(clock_parse_rfc3339("2023-07-19T11:15:45.123456789Z", &us) == 0);
    CHECK_INT(us % 1000000, 123456);
    CHECK(clock_parse_rfc3339("2026-11-22T12:00:00+02:00", &us) == 0);
    clock_format_rfc3339(us, out, sizeof out);
    CHECK_STR(out, "2026-11-22T10:00:00.000Z");
    CHECK(clock_parse_rfc3339("2026-11-22", &us) == -1);
    CHECK(clock_parse_rfc3339("garbage", &us) == -1);
    CHECK(clock_parse_rfc3339("2026-13-22T10:00:00Z", &us) == -1);
}

static void test_uuid(void)
{
    char a[37], b[37];
    CHECK(rand_uuid(a) == 0 && rand_uuid(b) == 0);
    CHECK_INT(strlen(a), 36);
    CHECK(a[14] == '4');
    CHECK(strcmp(a, b) != 0);
}

/* ---- defer: later turns, once per arming, nothing after release ---- */

static int defer_calls, defer_rearm, defer_closed;

static void on_defer(void *arg)
{
    defer_calls++;
    if (defer_rearm-- > 0)
        defer_arm(arg);
}

static void on_defer_closed(uv_handle_t *h)
{
    CHECK(h->data != NULL); /* the owner's arg */
    defer_closed++;
}

static void test_defer_call_later(void)
{
    uv_loop_t loop;
    CHECK(uv_loop_init(&loop) == 0);
    defer_calls = 0;
    defer_rearm = 0;
    CHECK(defer_call(&loop, on_defer, NULL) == 0);
    CHECK(defer_call(&loop, on_defer, NULL) == 0);
    CHECK_INT(defer_calls, 0);     /* never inside the call */
    uv_run(&loop, UV_RUN_DEFAULT); /* returns: the calls are made and their memory freed */
    CHECK_INT(defer_calls, 2);
    CHECK(uv_loop_close(&loop) == 0);
}

static void test_defer_wakeup(void)
{
    uv_loop_t loop;
    struct defer d;
    CHECK(uv_loop_init(&loop) == 0);
    defer_init(&d, &loop, on_defer, &d);
    defer_calls = defer_closed = 0;
    defer_rearm = 1;
    defer_arm(&d);
    defer_arm(&d); /* armed already: still one call */
    CHECK_INT(defer_calls, 0);
    uv_run(&loop, UV_RUN_ONCE);
    CHECK_INT(defer_calls, 1); /* armed again inside: not in the same turn */
    uv_run(&loop, UV_RUN_ONCE);
    CHECK_INT(defer_calls, 2);
    uv_run(&loop, UV_RUN_NOWAIT);
    CHECK_INT(defer_calls, 2);
    defer_arm(&d);
    defer_release(&d, on_defer_closed); /* disarms: no call after it */
    defer_arm(&d);                      /* nothing after release */
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_INT(defer_calls, 2);
    CHECK_INT(defer_closed, 1);
    CHECK(uv_loop_close(&loop) == 0);
}

static const struct unit_test tests[] = {
    {"buf refuses to pass its cap", test_buf_cap},
    {"buf printf of a long string", test_buf_printf_long},
    {"json escape", test_json_escape},
    {"urlencode keeps only the unreserved characters", test_urlencode},
    {"rfc3339 parse and format", test_rfc3339_roundtrip},
    {"uuid v4", test_uuid},
    {"defer_call runs on a later turn, never inside", test_defer_call_later},
    {"a defer wake-up: once per arming, later turns, nothing after release", test_defer_wakeup},
    {0},
};
UNIT_MAIN(tests)
