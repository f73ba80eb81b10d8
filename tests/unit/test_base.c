#include "unit.h"

#include "base/buf.h"
#include "base/clock.h"
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

static const struct unit_test tests[] = {
    {"buf refuses to pass its cap", test_buf_cap},
    {"buf printf of a long string", test_buf_printf_long},
    {"json escape", test_json_escape},
    {"urlencode keeps only the unreserved characters", test_urlencode},
    {"rfc3339 parse and format", test_rfc3339_roundtrip},
    {"uuid v4", test_uuid},
    {0},
};
UNIT_MAIN(tests)
