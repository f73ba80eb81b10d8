/* test_ingest: the retry queue of events nobody redelivers (ingest_retry_start), against a real
 * store whose inserts a trigger fails on demand (a row in settings says when). */
#include "unit.h"

#include <ftw.h>
#include <jansson.h>
#include <sqlite3.h>
#include <uv.h>

#include "base/clock.h"
#include "bus/bus.h"
#include "ingest/ingest.h"
#include "store/store.h"

struct fx {
    uv_loop_t loop;
    char dir[64];
    char path[128];
    struct store *st;
    struct bus *bus;
    struct ingest *in;
    char published[16][16]; /* ids, in publish order */
    int npublished;
};

static void on_bus(void *arg, const struct event *ev)
{
    struct fx *f = arg;
    CHECK(f->npublished < 16);
    snprintf(f->published[f->npublished++], 16, "%s", ev->id);
}

static void sql(struct fx *f, const char *text)
{
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(f->path, &db) == SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    char *msg = NULL;
    int rc = sqlite3_exec(db, text, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        fprintf(stderr, "# %s\n", msg);
    sqlite3_free(msg);
    sqlite3_close(db);
    CHECK(rc == SQLITE_OK);
}

static void fx_open(struct fx *f, size_t retry_max)
{
    memset(f, 0, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/sev-test-ingest-XXXXXX");
    CHECK(mkdtemp(f->dir) != NULL);
    snprintf(f->path, sizeof f->path, "%s/sev.db", f->dir);
    char uri[160];
    snprintf(uri, sizeof uri, "sqlite:%s", f->path);
    CHECK(uv_loop_init(&f->loop) == 0);
    struct err err = {{0}};
    CHECK(store_open(&f->loop, uri, &f->st, &err) == 0);
    CHECK(bus_open(&f->loop, "local", on_bus, f, &f->bus, &err) == 0);
    f->in = ingest_new(f->st, f->bus);
    CHECK(f->in != NULL);
    CHECK(ingest_retry_start(f->in, &f->loop, retry_max) == 0);
    sql(f, "CREATE TRIGGER fail BEFORE INSERT ON events"
           " WHEN (SELECT value FROM settings WHERE key = 'fail') = '1'"
           " BEGIN SELECT RAISE(ABORT, 'injected'); END;"
           "INSERT INTO settings(key, value) VALUES ('fail', '0');");
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(p);
}

static void fx_close(struct fx *f)
{
    ingest_retry_stop(f->in);
    store_close(f->st);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    ingest_free(f->in);
    bus_free(f->bus);
    CHECK(uv_loop_close(&f->loop) == 0);
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static struct event *follow(const char *id)
{
    struct event *ev = event_new();
    CHECK(ev != NULL);
    ev->id = strdup(id);
    ev->type = strdup("channel.follow");
    ev->streamer_id = strdup("1337");
    ev->streamer_login = strdup("cozystreamer");
    ev->viewer_login = strdup("alice");
    ev->summary = strdup("alice followed");
    ev->created_at_us = clock_wall_us();
    ev->data = json_object();
    return ev;
}

static void run_until_stats(struct fx *f, uint64_t failed, uint64_t queued, uint64_t stored)
{
    int64_t deadline = clock_mono_us() + 30 * 1000000LL;
    for (;;) {
        struct ingest_stats s;
        ingest_stats(f->in, &s);
        if (s.failed >= failed && s.retry_queued == queued && s.stored >= stored)
            return;
        CHECK(clock_mono_us() < deadline);
        uv_run(&f->loop, UV_RUN_ONCE);
    }
}

static void test_retried_in_order_bounded(void)
{
    struct fx f;
    fx_open(&f, 3);
    sql(&f, "UPDATE settings SET value = '1' WHERE key = 'fail'");
    static const char *ids[] = {"e1", "e2", "e3", "e4", "e5"};
    /* e1 fails in the store and waits; e2, e3 queue behind it; e4, e5 find the queue full. */
    CHECK(ingest_submit(f.in, follow(ids[0]), INGEST_WEBSOCKET, NULL, NULL) == 0);
    run_until_stats(&f, 1, 1, 0);
    for (int i = 1; i < 5; i++)
        ingest_submit(f.in, follow(ids[i]), INGEST_WEBSOCKET, NULL, NULL);
    struct ingest_stats s;
    ingest_stats(f.in, &s);
    CHECK_INT(s.retry_queued, 3);
    CHECK_INT(s.retry_dropped, 2);
    CHECK_INT(f.npublished, 0);
    run_until_stats(&f, 2, 3, 0); /* a retry failed too: still waiting, in order */
    sql(&f, "UPDATE settings SET value = '0' WHERE key = 'fail'");
    run_until_stats(&f, 0, 0, 3);
    CHECK_INT(f.npublished, 3);
    CHECK_STR(f.published[0], "e1");
    CHECK_STR(f.published[1], "e2");
    CHECK_STR(f.published[2], "e3");
    ingest_stats(f.in, &s);
    CHECK_INT(s.retried, 3);
    /* the queue is empty: the next event goes straight to the store */
    CHECK(ingest_submit(f.in, follow("e6"), INGEST_WEBSOCKET, NULL, NULL) == 0);
    run_until_stats(&f, 0, 0, 4);
    CHECK_STR(f.published[3], "e6");
    fx_close(&f);
}

static int acked_status = 99;
static void on_acked(void *arg, int status)
{
    acked_status = status;
}

static void test_events_with_a_sender_are_not_retried(void)
{
    struct fx f;
    fx_open(&f, 3);
    sql(&f, "UPDATE settings SET value = '1' WHERE key = 'fail'");
    CHECK(ingest_submit(f.in, follow("w1"), INGEST_WEBHOOK, on_acked, NULL) == 0);
    run_until_stats(&f, 1, 0, 0);
    CHECK(acked_status < 0); /* the sender (Twitch's webhook) redelivers */
    fx_close(&f);
}

static void test_stop_with_events_waiting(void)
{
    struct fx f;
    fx_open(&f, 10);
    sql(&f, "UPDATE settings SET value = '1' WHERE key = 'fail'");
    for (int i = 0; i < 4; i++) {
        char id[16];
        snprintf(id, sizeof id, "s%d", i);
        ingest_submit(f.in, follow(id), INGEST_SEV, NULL, NULL);
    }
    run_until_stats(&f, 1, 4, 0);
    fx_close(&f); /* what waits is dropped (logged), nothing leaks */
}

static int acks, last_ack = 99;
static void on_ack_count(void *arg, int status)
{
    acks++;
    last_ack = status;
}

/* The plain path: stored once and published, a redelivery counted and answered but not
 * published again on a node's own bus, plain chat answered at once and never stored. */
static void test_stored_duplicate_skipped(void)
{
    struct fx f;
    fx_open(&f, 3);
    acks = 0;
    CHECK(ingest_submit(f.in, follow("d1"), INGEST_WEBHOOK, on_ack_count, NULL) == 0);
    CHECK_INT(acks, 0); /* on the loop, once durable */
    run_until_stats(&f, 0, 0, 1);
    CHECK_INT(acks, 1);
    CHECK_INT(last_ack, STORE_STORED);
    CHECK_INT(f.npublished, 1);
    CHECK_STR(f.published[0], "d1");
    CHECK(ingest_submit(f.in, follow("d1"), INGEST_WEBSOCKET, on_ack_count, NULL) == 0);
    int64_t deadline = clock_mono_us() + 30 * 1000000LL;
    while (acks < 2) {
        CHECK(clock_mono_us() < deadline);
        uv_run(&f.loop, UV_RUN_ONCE);
    }
    CHECK_INT(last_ack, STORE_DUPLICATE);
    CHECK_INT(f.npublished, 1); /* the local bus: nobody else could have missed it */
    struct event *chat = follow("c1");
    free(chat->type);
    chat->type = strdup("channel.chat.message");
    CHECK(ingest_submit(f.in, chat, INGEST_WEBSOCKET, on_ack_count, NULL) == 0);
    CHECK_INT(acks, 3); /* answered before ingest_submit returned, as its header says */
    CHECK_INT(last_ack, STORE_DUPLICATE);
    struct ingest_stats st;
    ingest_stats(f.in, &st);
    CHECK_INT(st.stored, 1);
    CHECK_INT(st.duplicates, 1);
    CHECK_INT(st.skipped, 1);
    CHECK_INT(st.by_transport[INGEST_WEBHOOK], 1);
    CHECK_INT(st.by_transport[INGEST_WEBSOCKET], 1);
    CHECK_INT(f.npublished, 1);
    fx_close(&f);
}

static const struct unit_test tests[] = {
    {"events without a sender are retried in order, in a bounded queue",
     test_retried_in_order_bounded},
    {"events with a sender are answered, not retried", test_events_with_a_sender_are_not_retried},
    {"stopping with events waiting frees them", test_stop_with_events_waiting},
    {"stored once and published, a duplicate not republished, plain chat skipped",
     test_stored_duplicate_skipped},
    {0},
};

UNIT_MAIN(tests)
