/* test_stats_cache: shared, bounded stats answers (api/stats_cache) over a real store. */
#include "unit.h"

#include <ftw.h>
#include <uv.h>

#include "api/stats_cache.h"
#include "base/clock.h"
#include "store/store.h"

struct fx {
    uv_loop_t loop;
    char dir[64];
    struct store *st;
    struct stats_cache *sc;
};

struct answers {
    int count;
    int status[8192];
    const struct stat_list *rows[8192];
};

static void fx_open(struct fx *f, int ttl_s, int max_queries)
{
    memset(f, 0, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/sev-test-statcache-XXXXXX");
    CHECK(mkdtemp(f->dir) != NULL);
    char uri[160];
    snprintf(uri, sizeof uri, "sqlite:%s/sev.db", f->dir);
    CHECK(uv_loop_init(&f->loop) == 0);
    struct err err = {{0}};
    CHECK(store_open(&f->loop, uri, &f->st, &err) == 0);
    struct stats_cache_options o = {ttl_s, max_queries};
    f->sc = stats_cache_new(f->st, &o);
    CHECK(f->sc != NULL);
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(p);
}

static void fx_close(struct fx *f)
{
    stats_cache_free(f->sc);
    store_close(f->st);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(&f->loop) == 0);
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void on_answer(void *arg, int status, const struct stat_list *rows)
{
    struct answers *a = arg;
    a->status[a->count] = status;
    a->rows[a->count] = rows;
    a->count++;
}

static void run_until(struct fx *f, const int *count, int want)
{
    int64_t deadline = clock_mono_us() + 60 * 1000000LL;
    while (*count < want) {
        CHECK(clock_mono_us() < deadline);
        uv_run(&f->loop, UV_RUN_ONCE);
    }
}

static struct stats_cache_stats stats(struct fx *f)
{
    struct stats_cache_stats s;
    stats_cache_stats_get(f->sc, &s);
    return s;
}

static void test_single_flight_and_ttl(void)
{
    static struct answers a;
    struct fx f;
    fx_open(&f, 3600, 1);
    for (int i = 0; i < 5; i++)
        CHECK(stats_cache_get(f.sc, STATS_STREAMERS, NULL, 0, on_answer, &a) == 0);
    CHECK_INT(a.count, 0); /* nothing answered inside the call: the query runs */
    run_until(&f, &a.count, 5);
    CHECK_INT(stats(&f).queries, 1);
    for (int i = 0; i < 5; i++) {
        CHECK_INT(a.status[i], 0);
        CHECK(a.rows[i] == a.rows[0]);
    }
    /* kept: answered at once, no query */
    CHECK(stats_cache_get(f.sc, STATS_STREAMERS, NULL, 0, on_answer, &a) == 0);
    CHECK_INT(a.count, 6);
    CHECK_INT(stats(&f).queries, 1);
    CHECK_INT(stats(&f).shared, 5);
    fx_close(&f);
}

static void test_ttl_zero_asks_again(void)
{
    static struct answers a;
    struct fx f;
    fx_open(&f, 0, 1);
    CHECK(stats_cache_get(f.sc, STATS_TYPES, "someone", 0, on_answer, &a) == 0);
    run_until(&f, &a.count, 1);
    CHECK(stats_cache_get(f.sc, STATS_TYPES, "someone", 0, on_answer, &a) == 0);
    run_until(&f, &a.count, 2);
    CHECK_INT(stats(&f).queries, 2);
    fx_close(&f);
}

static void test_queries_wait_their_turn_and_entries_are_bounded(void)
{
    static struct answers a;
    struct fx f;
    fx_open(&f, 3600, 1);
    char login[32];
    for (int i = 0; i < STATS_CACHE_ENTRIES; i++) {
        snprintf(login, sizeof login, "s%d", i);
        CHECK(stats_cache_get(f.sc, STATS_HOURLY, login, 24, on_answer, &a) == 0);
    }
    CHECK_INT(stats(&f).queries, 1); /* one runs, the rest wait */
    CHECK_INT(stats(&f).waiting, STATS_CACHE_ENTRIES - 1);
    /* every entry is being computed: a new answer cannot be kept */
    CHECK(stats_cache_get(f.sc, STATS_HOURLY, "onemore", 24, on_answer, &a) == -1);
    CHECK_INT(stats(&f).refused, 1);
    /* but one already pending can still be waited for */
    CHECK(stats_cache_get(f.sc, STATS_HOURLY, "s7", 24, on_answer, &a) == 0);
    run_until(&f, &a.count, STATS_CACHE_ENTRIES + 1);
    CHECK_INT(stats(&f).queries, STATS_CACHE_ENTRIES);
    CHECK_INT(stats(&f).waiting, 0);
    for (int i = 0; i < a.count; i++)
        CHECK_INT(a.status[i], 0);
    /* all kept and fresh: a new one makes room by dropping the one that expires first */
    CHECK(stats_cache_get(f.sc, STATS_HOURLY, "onemore", 24, on_answer, &a) == 0);
    run_until(&f, &a.count, STATS_CACHE_ENTRIES + 2);
    fx_close(&f);
}

static void test_free_with_a_query_running(void)
{
    static struct answers a;
    struct fx f;
    fx_open(&f, 5, 1);
    CHECK(stats_cache_get(f.sc, STATS_STREAMERS, NULL, 0, on_answer, &a) == 0);
    CHECK(stats_cache_get(f.sc, STATS_TYPES, "x", 0, on_answer, &a) == 0); /* queued */
    fx_close(&f); /* the running query finishes into the void; nothing leaks */
    CHECK_INT(a.count, 0);
}

static const struct unit_test tests[] = {
    {"identical requests share one query, and the kept answer", test_single_flight_and_ttl},
    {"a cache time of 0 still asks the store again", test_ttl_zero_asks_again},
    {"queries wait their turn; at most STATS_CACHE_ENTRIES answers pending",
     test_queries_wait_their_turn_and_entries_are_bounded},
    {"freed with a query running and one waiting", test_free_with_a_query_running},
    {0},
};

UNIT_MAIN(tests)
