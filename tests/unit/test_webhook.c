#include "unit.h"

#include "eventsub/webhook.h"

/* Twitch: reject messages "older than 10 minutes" (../shared/docs/twitch-platform.md);
 * exactly 10 minutes old is not older. The future gets the same allowance (clock skew). */
static void test_timestamp_boundary(void)
{
    const int64_t now = 1767225600LL * 1000000; /* 2026-01-01T00:00:00Z */
    const int64_t ten = 600LL * 1000000;
    CHECK(webhook_timestamp_fresh(now, now) == 1);
    CHECK(webhook_timestamp_fresh(now - ten, now) == 1);
    CHECK(webhook_timestamp_fresh(now - ten - 1, now) == 0);
    CHECK(webhook_timestamp_fresh(now + ten, now) == 1);
    CHECK(webhook_timestamp_fresh(now + ten + 1, now) == 0);
    CHECK(webhook_timestamp_fresh(0, now) == 0);
    CHECK(webhook_timestamp_fresh(INT64_MIN, now) == 0);
    CHECK(webhook_timestamp_fresh(INT64_MAX, now) == 0);
}

static const struct unit_test tests[] = {
    {"webhook timestamps: exactly 10 minutes either way is accepted, a microsecond more is not",
     test_timestamp_boundary},
    {0},
};

UNIT_MAIN(tests)
