/* The EventSub manager's type catalog (manager_catalog.c) on its own: built from the type
 * table, no manager, no loop. */
#include <string.h>

#include "eventsub/manager_int.h"
#include "unit.h"

/* Every row of the table that is subscribed per streamer is in the catalog, in table order,
 * channel.raid twice (incoming then outgoing); rows never subscribed are left out. */
static void test_catalog_follows_the_table(void)
{
    esm_catalog_build();
    size_t n = 0, k = 0;
    const struct event_type_info *types = event_types(&n);
    for (size_t i = 0; i < n; i++) {
        if (types[i].need == EVENT_NEED_NEVER)
            continue;
        CHECK(k < NWANTED);
        CHECK(esm_catalog[k].t == &types[i]);
        if (types[i].cond == EVENT_COND_RAID) {
            CHECK_INT(esm_catalog[k].cond, COND_RAID_TO);
            CHECK(esm_catalog[k + 1].t == &types[i]);
            CHECK_INT(esm_catalog[k + 1].cond, COND_RAID_FROM);
            k++;
        } else if (types[i].cond == EVENT_COND_CHAT) {
            CHECK_INT(esm_catalog[k].cond, COND_CHAT);
        } else if (types[i].cond == EVENT_COND_MODERATOR) {
            CHECK_INT(esm_catalog[k].cond, COND_MODERATOR);
        } else {
            CHECK_INT(esm_catalog[k].cond, COND_BROADCASTER);
        }
        k++;
    }
    CHECK_INT(NWANTED, k);
    CHECK(k > 10);
}

/* Building again changes nothing. */
static void test_catalog_build_is_idempotent(void)
{
    esm_catalog_build();
    size_t n = NWANTED;
    const struct event_type_info *first = esm_catalog[0].t;
    esm_catalog_build();
    CHECK_INT(NWANTED, n);
    CHECK(esm_catalog[0].t == first);
}

static void test_row_of(void)
{
    esm_catalog_build();
    int raid = esm_row_of("channel.raid");
    CHECK(raid >= 0);
    CHECK_STR(esm_catalog[raid].t->type, "channel.raid");
    CHECK_INT(esm_catalog[raid].cond, COND_RAID_TO); /* the first of the two */
    CHECK_STR(esm_catalog[esm_row_of("stream.online")].t->type, "stream.online");
    CHECK_INT(esm_row_of("channel.ban"), -1); /* in the table, never subscribed */
    CHECK_INT(esm_row_of("no.such.type"), -1);
    CHECK_INT(esm_row_of(NULL), -1);
}

/* channel.bits.use supersedes channel.cheer and channel.chat.message; nothing supersedes
 * stream.online. */
static void test_supersedes(void)
{
    esm_catalog_build();
    CHECK_INT(esm_supersedes(esm_row_of("channel.bits.use")), 1);
    CHECK_INT(esm_supersedes(esm_row_of("channel.cheer")), 0);
    CHECK_INT(esm_supersedes(esm_row_of("stream.online")), 0);
    CHECK_STR(esm_catalog[esm_row_of("channel.cheer")].t->superseded_by, "channel.bits.use");
}

static void test_has_scope_whole_words(void)
{
    const char *granted = "bits:read moderator:read:followers user:read:chat";
    CHECK_INT(esm_has_scope(granted, "bits:read"), 1);
    CHECK_INT(esm_has_scope(granted, "user:read:chat"), 1);
    CHECK_INT(esm_has_scope(granted, "moderator:read:followers"), 1);
    CHECK_INT(esm_has_scope(granted, "read"), 0);           /* inside a word */
    CHECK_INT(esm_has_scope(granted, "moderator:read"), 0); /* a prefix */
    CHECK_INT(esm_has_scope(granted, "user:read:chat:x"), 0);
    CHECK_INT(esm_has_scope(NULL, "bits:read"), 0);
    CHECK_INT(esm_has_scope(granted, NULL), 0);
    CHECK_INT(esm_has_scope("", "bits:read"), 0);
}

static void test_via_name(void)
{
    CHECK_STR(esm_via_name(ESM_WEBHOOK), "webhook");
    CHECK_STR(esm_via_name(ESM_CONDUIT), "conduit");
    CHECK_STR(esm_via_name(ESM_WEBSOCKET), "websocket");
}

static const struct unit_test tests[] = {
    {"catalog follows the type table", test_catalog_follows_the_table},
    {"catalog build is idempotent", test_catalog_build_is_idempotent},
    {"row_of finds the first row of a type", test_row_of},
    {"supersedes", test_supersedes},
    {"has_scope matches whole words", test_has_scope_whole_words},
    {"via_name", test_via_name},
    {0},
};

UNIT_MAIN(tests)
