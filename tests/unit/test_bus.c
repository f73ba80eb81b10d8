/* test_bus: the bus's wire format, its URI checks, and bus_order (per-streamer order and gap
 * filling) against a real SQLite store on a real loop. */
#include "unit.h"

#include <ftw.h>
#include <uv.h>

#include "bus/bus.h"
#include "bus/bus_order.h"
#include "bus/bus_wire.h"
#include "store/store.h"

#define DEADLINE_MS 30000

static char *sdup(const char *s)
{
    char *d = s ? strdup(s) : NULL;
    CHECK(!s || d);
    return d;
}

static struct event *ev_new(const char *id, const char *login)
{
    struct event *ev = event_new();
    CHECK(ev != NULL);
    char sid[64];
    snprintf(sid, sizeof sid, "1%zu", strlen(login));
    ev->id = sdup(id);
    ev->type = sdup("channel.follow");
    ev->streamer_id = sdup(sid);
    ev->streamer_login = sdup(login);
    ev->streamer_name = sdup("Name");
    ev->viewer_id = sdup("4242");
    ev->viewer_login = sdup("alice");
    ev->viewer_name = sdup("Alice <3");
    ev->created_at_us = 1700000000123000;
    ev->summary = sdup("Alice followed");
    ev->data = json_pack("{s:s, s:i}", "user_login", "alice", "n", 7);
    return ev;
}

static void test_wire_roundtrip(void)
{
    struct event *ev = ev_new("m-1", "streamer");
    ev->seq = 12;
    ev->streamer_seq = 5;
    size_t len;
    char *msg = bus_wire_encode(ev, &len);
    CHECK(msg && len == strlen(msg));
    struct event *back = bus_wire_decode(msg, len);
    CHECK(back != NULL);
    CHECK(back->seq == 12 && back->streamer_seq == 5);
    CHECK_STR(back->id, "m-1");
    CHECK_STR(back->streamer_login, "streamer");
    CHECK_STR(back->viewer_name, "Alice <3");
    CHECK(back->dedupe_key == NULL);
    CHECK(back->created_at_us == ev->created_at_us);
    CHECK(json_equal(back->data, ev->data));
    free(msg);
    event_free(back);
    event_free(ev);
}

static void test_wire_rejects(void)
{
    const char *bad[] = {"",
                         "[]",
                         "{}",
                         "nonsense",
                         "{\"seq\":1,\"sseq\":1,\"at\":1,\"data\":{}}",
                         "{\"seq\":\"1\",\"sseq\":1,\"id\":\"a\",\"type\":\"t\",\"sid\":\"1\","
                         "\"slogin\":\"x\",\"at\":1,\"data\":null}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(bus_wire_decode(bad[i], strlen(bad[i])) == NULL);
}

static void on_nothing(void *arg, const struct event *ev) {}

static void test_bus_uris(void)
{
    uv_loop_t loop;
    CHECK(uv_loop_init(&loop) == 0);
    const char *bad[] = {"redis://",        "redis://:6379", "redis://h:0", "redis://h:70000",
                         "redis://h:1/2?x", "amqp://h:1",    "locally"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct bus *b = NULL;
        struct err err = {{0}};
        if (strcmp(bad[i], "locally") == 0)
            continue; /* config.c refuses it; bus_open matches the scheme prefix only */
        CHECK(bus_open(&loop, bad[i], on_nothing, NULL, &b, &err) < 0);
        CHECK(strncmp(err.msg, "SEV_BUS:", 8) == 0);
    }
    CHECK(uv_run(&loop, UV_RUN_DEFAULT) == 0);
    CHECK(uv_loop_close(&loop) == 0);
}

/* ---- bus_order against a store ---- */

struct fx {
    uv_loop_t loop;
    uv_timer_t deadline;
    int timed_out;
    char dir[64], uri[200];
    struct store *st;
    struct event *stored[16]; /* owned: what the store numbered */
    int nstored, appended;
    char delivered[64][64]; /* ids, in delivery order */
    int64_t dseq[64];
    int ndelivered;
    int active;
    int append_at; /* when e<append_at> is delivered, append stored[nstored…] (then 0) */
    int nlater;
};

static void on_deadline(uv_timer_t *t)
{
    ((struct fx *)t->data)->timed_out = 1;
}

static void run_until(struct fx *f, const int *count, int want)
{
    uv_timer_start(&f->deadline, on_deadline, DEADLINE_MS, 0);
    while (*count < want && !f->timed_out)
        uv_run(&f->loop, UV_RUN_ONCE);
    uv_timer_stop(&f->deadline);
    CHECK(!f->timed_out);
}

static void on_appended(void *arg, struct event *ev, int status)
{
    struct fx *f = arg;
    CHECK(status == STORE_STORED);
    f->appended++;
}

static void on_deliver(void *arg, const struct event *ev)
{
    struct fx *f = arg;
    CHECK(f->ndelivered < 64);
    snprintf(f->delivered[f->ndelivered], 64, "%s", ev->id);
    f->dseq[f->ndelivered++] = ev->streamer_seq;
    if (f->append_at && ev->streamer_seq == f->append_at) {
        f->append_at = 0;
        for (int i = 0; i < f->nlater; i++) {
            CHECK(store_append(f->st, f->stored[f->nstored], on_appended, f) == 0);
            f->nstored++;
        }
    }
}

static int is_active(void *arg, const char *login)
{
    return ((struct fx *)arg)->active;
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(p);
}

/* Stores n events of "orderly" (ids e1…en), numbered 1…n by the store. */
static void fx_setup(struct fx *f, int n)
{
    memset(f, 0, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/sev-test-bus-XXXXXX");
    CHECK(mkdtemp(f->dir) != NULL);
    snprintf(f->uri, sizeof f->uri, "sqlite:%s/sev.db", f->dir);
    CHECK(uv_loop_init(&f->loop) == 0);
    uv_timer_init(&f->loop, &f->deadline);
    f->deadline.data = f;
    struct err err = {{0}};
    CHECK(store_open(&f->loop, f->uri, &f->st, &err) == 0);
    for (int i = 0; i < n; i++) {
        char id[16];
        snprintf(id, sizeof id, "e%d", i + 1);
        f->stored[i] = ev_new(id, "orderly");
        CHECK(store_append(f->st, f->stored[i], on_appended, f) == 0);
    }
    f->nstored = n;
    run_until(f, &f->appended, n);
    for (int i = 0; i < n; i++)
        CHECK(f->stored[i]->streamer_seq == i + 1);
}

static void fx_release(struct fx *f)
{
    store_close(f->st);
    for (int i = 0; i < f->nstored; i++)
        event_free(f->stored[i]);
    uv_close((uv_handle_t *)&f->deadline, NULL);
    CHECK(uv_run(&f->loop, UV_RUN_DEFAULT) == 0);
    CHECK(uv_loop_close(&f->loop) == 0);
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void check_delivered_in_order(struct fx *f, int n)
{
    CHECK(f->ndelivered == n);
    for (int i = 0; i < n; i++) {
        char id[16];
        snprintf(id, sizeof id, "e%d", i + 1);
        CHECK_STR(f->delivered[i], id);
        CHECK(f->dseq[i] == i + 1);
    }
}

static void test_order_fills_gaps_and_drops_repeats(void)
{
    struct fx f;
    fx_setup(&f, 6);
    struct bus_order *o = bus_order_new(&f.loop, f.st, on_deliver, is_active, &f);
    CHECK(o != NULL);
    bus_order_event(o, f.stored[0]); /* first sight: on at once */
    CHECK(f.ndelivered == 1);
    bus_order_event(o, f.stored[1]); /* the next: on at once */
    CHECK(f.ndelivered == 2);
    bus_order_event(o, f.stored[1]); /* a repeat: dropped */
    bus_order_event(o, f.stored[4]); /* a jump 2 → 5: held, 3 and 4 read from the store */
    CHECK(f.ndelivered == 2);
    bus_order_event(o, f.stored[3]); /* 4 arrives while the fill runs: held too */
    run_until(&f, &f.ndelivered, 5);
    bus_order_event(o, f.stored[2]); /* 3, late: a repeat now */
    bus_order_event(o, f.stored[5]);
    check_delivered_in_order(&f, 6);
    struct bus_order_stats s;
    bus_order_stats(o, &s);
    CHECK(s.repeats >= 2); /* e2 again, e3 late (and what the fill had already brought) */
    CHECK(s.filled >= 2);  /* e3 and e4 at least came from the store */
    bus_order_free(o);
    fx_release(&f);
}

/* The race of the kill -9 cluster test: a fill reads the store before e4 commits; e5 (so e4
 * too) commits and e5 reaches this node while the read is under way. Handing e5 on after the
 * fill would lose e4 for good (it would come later as a repeat): the fill is made again. */
static void test_order_refills_a_gap_left_below_a_late_event(void)
{
    struct fx f;
    fx_setup(&f, 3);
    f.stored[3] = ev_new("e4", "orderly");
    f.stored[4] = ev_new("e5", "orderly");
    f.append_at = 3; /* e4, e5 are committed once the first fill has read e2, e3 */
    f.nlater = 2;
    struct event *e5 = ev_new("e5", "orderly"); /* e5 as the bus brings it */
    e5->streamer_seq = 5;
    struct bus_order *o = bus_order_new(&f.loop, f.st, on_deliver, is_active, &f);
    bus_order_event(o, f.stored[0]);
    bus_order_event(o, f.stored[2]); /* a jump 1 → 3: held, fill from e1 */
    bus_order_event(o, e5);          /* arrives while the fill reads */
    run_until(&f, &f.ndelivered, 5);
    check_delivered_in_order(&f, 5);
    event_free(e5);
    bus_order_free(o);
    fx_release(&f);
}

static void test_order_resync_fills_active_streamers(void)
{
    struct fx f;
    fx_setup(&f, 4);
    f.active = 1;
    struct bus_order *o = bus_order_new(&f.loop, f.st, on_deliver, is_active, &f);
    bus_order_event(o, f.stored[0]);
    bus_order_event(o, f.stored[1]);
    bus_order_resync(o); /* e3, e4 were lost with the bus: read from the store */
    run_until(&f, &f.ndelivered, 4);
    check_delivered_in_order(&f, 4);
    bus_order_free(o);
    fx_release(&f);
}

static void test_order_stale_streamer_fills_before_next(void)
{
    struct fx f;
    fx_setup(&f, 4);
    f.active = 0; /* not shown here: no read at resync, but the next event waits for one */
    struct bus_order *o = bus_order_new(&f.loop, f.st, on_deliver, is_active, &f);
    bus_order_event(o, f.stored[0]);
    bus_order_resync(o);
    bus_order_event(o, f.stored[1]); /* the next one, but the bus may have lost some: fill */
    CHECK(f.ndelivered == 1);
    run_until(&f, &f.ndelivered, 2);
    bus_order_event(o, f.stored[3]); /* 3 lost: jump */
    run_until(&f, &f.ndelivered, 4);
    check_delivered_in_order(&f, 4);
    bus_order_free(o);
    fx_release(&f);
}

static void test_order_first_sight_waits_for_earlier(void)
{
    struct fx f;
    fx_setup(&f, 5);
    struct bus_order *o = bus_order_new(&f.loop, f.st, on_deliver, is_active, &f);
    /* this node's own copy of e3 overtakes e2 from another node: nothing goes on at once */
    bus_order_event(o, f.stored[2]);
    bus_order_event(o, f.stored[1]);
    bus_order_event(o, f.stored[4]); /* and e4 is lost: filled from the store */
    CHECK(f.ndelivered == 0);
    run_until(&f, &f.ndelivered, 4);
    CHECK(f.ndelivered == 4);
    for (int i = 0; i < 4; i++) {
        char id[16];
        snprintf(id, sizeof id, "e%d", i + 2);
        CHECK_STR(f.delivered[i], id);
    }
    bus_order_event(o, f.stored[0]); /* e1, long after: older than what went on */
    CHECK(f.ndelivered == 4);
    bus_order_free(o);
    fx_release(&f);
}

static void test_order_periodic_check_finds_a_lost_newest_event(void)
{
    struct fx f;
    fx_setup(&f, 2);
    f.active = 1;
    struct bus_order *o = bus_order_new(&f.loop, f.st, on_deliver, is_active, &f);
    bus_order_event(o, f.stored[0]);
    /* e2 is lost on the bus and nothing follows it: the check reads it from the store */
    run_until(&f, &f.ndelivered, 2);
    check_delivered_in_order(&f, 2);
    bus_order_free(o);
    fx_release(&f);
}

/* A streamer whose events flow in order needs no store read: the periodic check leaves it
 * out (it read every busy streamer every 3 s, one store read per streamer per node). */
struct feed {
    struct fx *f;
    struct bus_order *o;
    int next;
};

static void on_feed(uv_timer_t *t)
{
    struct feed *fd = t->data;
    bus_order_event(fd->o, fd->f->stored[fd->next++]);
    if (fd->next == fd->f->nstored)
        uv_timer_stop(t);
}

static void test_order_check_leaves_flowing_streamers_alone(void)
{
    struct fx f;
    fx_setup(&f, 15);
    f.active = 1;
    struct bus_order *o = bus_order_new(&f.loop, f.st, on_deliver, is_active, &f);
    struct feed fd = {&f, o, 0};
    uv_timer_t feed;
    uv_timer_init(&f.loop, &feed);
    feed.data = &fd;
    /* one event every 250 ms: 3.75 s, past the first check at 3 s */
    uv_timer_start(&feed, on_feed, 0, 250);
    run_until(&f, &f.ndelivered, 15);
    check_delivered_in_order(&f, 15);
    struct bus_order_stats st;
    bus_order_stats(o, &st);
    CHECK(st.fills == 0);
    CHECK(st.delivered == 15);
    uv_close((uv_handle_t *)&feed, NULL);
    bus_order_free(o);
    fx_release(&f);
}

static void test_order_passes_unnumbered(void)
{
    struct fx f;
    fx_setup(&f, 0);
    struct bus_order *o = bus_order_new(&f.loop, f.st, on_deliver, is_active, &f);
    struct event *ev = ev_new("plain", "orderly");
    bus_order_event(o, ev);
    bus_order_event(o, ev); /* without a streamer_seq nothing can be told apart */
    CHECK(f.ndelivered == 2);
    event_free(ev);
    bus_order_free(o);
    fx_release(&f);
}

static const struct unit_test tests[] = {
    {"wire: an event survives encode and decode", test_wire_roundtrip},
    {"wire: what encode does not make is rejected", test_wire_rejects},
    {"bus: bad SEV_BUS URIs are refused with the variable named", test_bus_uris},
    {"order: a jump is filled from the store, repeats are dropped",
     test_order_fills_gaps_and_drops_repeats},
    {"order: a gap left below an event held during the fill is read again",
     test_order_refills_a_gap_left_below_a_late_event},
    {"order: after a resync shown streamers are filled at once",
     test_order_resync_fills_active_streamers},
    {"order: after a resync other streamers fill before their next event",
     test_order_stale_streamer_fills_before_next},
    {"order: a first sight gathers earlier events before handing on",
     test_order_first_sight_waits_for_earlier},
    {"order: the periodic check finds a lost newest event",
     test_order_periodic_check_finds_a_lost_newest_event},
    {"order: the periodic check leaves streamers whose events flow alone",
     test_order_check_leaves_flowing_streamers_alone},
    {"order: events without a streamer_seq pass straight through", test_order_passes_unnumbered},
    {0},
};

UNIT_MAIN(tests)
