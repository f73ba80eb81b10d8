/* test_store: the store module against both backends, on a real loop and real files.
 *
 * Every test makes a fresh directory under /tmp (the database goes one level deeper, in a
 * directory the store must create), runs the loop until the callbacks it waits for have
 * run (a timer bounds the wait), and closes everything so LeakSanitizer sees no leak.
 *
 * With SEV_TEST_DATABASE=postgresql://USER@HOST:PORT/DB (scripts/pg-test.sh start gives one;
 * scripts/test.sh's "unit-pg" suite does it all) the same tests run on PostgreSQL, each in a
 * fresh database created from that one; tests of SQLite's own files are left out and the
 * PostgreSQL ones added. SEV_TEST_PG_DIR (the pg-test.sh directory) enables the restart test.
 *
 * `test_store bench` runs only the throughput test; SEV_STORE_BENCH_N sets its size.
 */
#include "unit.h"

#include <ftw.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <uv.h>

#include "base/clock.h"
#include "base/rand.h"
#include "store/store.h"
#include "store/store_pg_int.h"
#include "store/store_sqlite_int.h"

#define DEADLINE_MS 60000
#define HOUR_US INT64_C(3600000000)

struct fx {
    uv_loop_t loop;
    uv_timer_t deadline;
    int timed_out;
    char dir[64];
    char path[160];
    char uri[200];
    char pg_db[64];   /* PostgreSQL: this test's database */
    struct store *st; /* owned, or NULL */
};

static const char *pg_base; /* SEV_TEST_DATABASE, or NULL: SQLite */

/* Runs one SQL command on PostgreSQL database db (NULL: the base one); returns the first
 * value of the first row as a number (0 without rows). */
static long long pg_exec(const char *db, const char *sql)
{
    char uri[300];
    size_t base = (size_t)(strrchr(pg_base, '/') - pg_base);
    snprintf(uri, sizeof uri, "%.*s/%s", (int)base, pg_base, db ? db : pg_base + base + 1);
    PGconn *c = PQconnectdb(uri);
    CHECK(PQstatus(c) == CONNECTION_OK);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        fprintf(stderr, "# %s: %s", sql, PQresultErrorMessage(r));
    CHECK(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK);
    long long v = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0
                      ? strtoll(PQgetvalue(r, 0, 0), NULL, 10)
                      : 0;
    PQclear(r);
    PQfinish(c);
    return v;
}

static void fx_init(struct fx *f)
{
    memset(f, 0, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/sev-test-store-XXXXXX");
    CHECK(mkdtemp(f->dir) != NULL);
    snprintf(f->path, sizeof f->path, "%s/var/sev.db", f->dir);
    snprintf(f->uri, sizeof f->uri, "sqlite:%s", f->path);
    if (pg_base) {
        static int n;
        char sql[128];
        snprintf(f->pg_db, sizeof f->pg_db, "sev_t_%d_%d", (int)getpid(), n++);
        snprintf(sql, sizeof sql, "CREATE DATABASE %s", f->pg_db);
        pg_exec(NULL, sql);
        size_t base = (size_t)(strrchr(pg_base, '/') - pg_base);
        snprintf(f->uri, sizeof f->uri, "%.*s/%s", (int)base, pg_base, f->pg_db);
    }
    CHECK(uv_loop_init(&f->loop) == 0);
    CHECK(uv_timer_init(&f->loop, &f->deadline) == 0);
    f->deadline.data = f;
}

static void fx_open(struct fx *f)
{
    struct err err = {{0}};
    int rc = store_open(&f->loop, f->uri, &f->st, &err);
    if (rc != 0)
        fprintf(stderr, "# store_open: %s\n", err.msg);
    CHECK(rc == 0);
}

/* fx_init and fx_open: a fresh, open store. */
static void fx_start(struct fx *f)
{
    fx_init(f);
    fx_open(f);
}

static void fx_close(struct fx *f)
{
    store_close(f->st);
    f->st = NULL;
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(p);
}

/* Closes the store, lets the loop finish every handle, and removes the directory. */
static void fx_release(struct fx *f)
{
    if (f->st)
        fx_close(f);
    uv_close((uv_handle_t *)&f->deadline, NULL);
    CHECK(uv_run(&f->loop, UV_RUN_DEFAULT) == 0);
    CHECK(uv_loop_close(&f->loop) == 0);
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (f->pg_db[0]) {
        char sql[128];
        snprintf(sql, sizeof sql, "DROP DATABASE %s WITH (FORCE)", f->pg_db);
        pg_exec(NULL, sql);
    }
}

static void on_deadline(uv_timer_t *t)
{
    struct fx *f = t->data;
    f->timed_out = 1;
}

/* Runs the loop until *count reaches want, or fails the test at the deadline. */
static void run_until(struct fx *f, const int *count, int want)
{
    uv_timer_start(&f->deadline, on_deadline, DEADLINE_MS, 0);
    while (*count < want && !f->timed_out)
        uv_run(&f->loop, UV_RUN_ONCE);
    uv_timer_stop(&f->deadline);
    CHECK(!f->timed_out);
}

/* ---- making events ---- */

static char *dup_or_null(const char *s)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    CHECK(d != NULL);
    return d;
}

/* A follow-like event of streamer `login` (id "id-<login>"). */
static struct event *ev_new(const char *id, const char *login, const char *type, int64_t at_us)
{
    struct event *ev = calloc(1, sizeof *ev);
    CHECK(ev != NULL);
    char sid[64], name[64];
    snprintf(sid, sizeof sid, "id-%s", login);
    snprintf(name, sizeof name, "%c%s", login[0] - 32, login + 1);
    ev->id = dup_or_null(id);
    ev->type = dup_or_null(type);
    ev->streamer_id = dup_or_null(sid);
    ev->streamer_login = dup_or_null(login);
    ev->streamer_name = dup_or_null(name);
    ev->viewer_id = dup_or_null("4242");
    ev->viewer_login = dup_or_null("alice");
    ev->viewer_name = dup_or_null("Alice");
    ev->created_at_us = at_us;
    ev->summary = dup_or_null("Alice followed");
    ev->data = json_pack("{s:s, s:s, s:s, s:i}", "user_id", "4242", "user_login", "alice",
                         "followed_at", "2026-11-22T10:00:00.123Z", "n", 7);
    CHECK(ev->data != NULL);
    return ev;
}

/* ---- collecting results ---- */

struct appended {
    int count; /* callbacks so far */
    int status[4096];
    int64_t seq[4096];
    int64_t sseq[4096]; /* streamer_seq */
    int order[4096];    /* the callback's rank for the append at this index */
};

struct append_arg {
    struct appended *a;
    int index;
};

static void on_append(void *arg, struct event *ev, int status)
{
    struct append_arg *p = arg;
    p->a->status[p->index] = status;
    p->a->seq[p->index] = ev->seq;
    p->a->sseq[p->index] = ev->streamer_seq;
    p->a->order[p->index] = p->a->count++;
    event_free(ev);
    free(p);
}

static void append_to(struct store *st, struct appended *a, int index, struct event *ev)
{
    struct append_arg *p = malloc(sizeof *p);
    CHECK(p != NULL);
    p->a = a;
    p->index = index;
    CHECK(store_append(st, ev, on_append, p) == 0);
}

static void append(struct fx *f, struct appended *a, int index, struct event *ev)
{
    append_to(f->st, a, index, ev);
}

/* Appends one event and waits for its callback; returns the status. */
static int append_wait(struct fx *f, struct event *ev, int64_t *seq)
{
    static struct appended a; /* large: not on the stack */
    memset(&a, 0, sizeof a);
    append(f, &a, 0, ev);
    run_until(f, &a.count, 1);
    if (seq)
        *seq = a.seq[0];
    return a.status[0];
}

/* What one or more store calls answered: each callback counts in `done` and keeps the last
 * status, and whatever list or row it was given (the lists are owned: result_release). */
struct result {
    int done;
    int status;
    struct event_list *events; /* owned */
    struct stat_list *stats;   /* owned */
    struct streamer_info streamer;
    struct store_user user;
    struct store_token_list *tokens;       /* owned */
    struct store_favorite_list *favorites; /* owned */
};

static struct result *noted(void *arg, int status)
{
    struct result *r = arg;
    r->done++;
    r->status = status;
    return r;
}

static void on_done(void *arg, int status)
{
    noted(arg, status);
}

static void on_events(void *arg, int status, struct event_list *events)
{
    noted(arg, status)->events = events;
}

static void on_stats(void *arg, int status, struct stat_list *rows)
{
    noted(arg, status)->stats = rows;
}

static void on_streamer(void *arg, int status, const struct streamer_info *s)
{
    struct result *r = noted(arg, status);
    if (s)
        r->streamer = *s;
}

static void on_user(void *arg, int status, const struct store_user *u)
{
    struct result *r = noted(arg, status);
    if (u)
        r->user = *u;
}

static void on_tokens(void *arg, int status, struct store_token_list *l)
{
    noted(arg, status)->tokens = l;
}

static void on_favorites(void *arg, int status, struct store_favorite_list *l)
{
    noted(arg, status)->favorites = l;
}

/* Frees what r holds and empties it for the next call. */
static void result_release(struct result *r)
{
    event_list_free(r->events);
    stat_list_free(r->stats);
    store_token_list_free(r->tokens);
    store_favorite_list_free(r->favorites);
    memset(r, 0, sizeof *r);
}

/* Row i of a stats answer is key with count. */
static void check_row(const struct stat_list *l, size_t i, const char *key, int64_t count)
{
    CHECK(l != NULL && i < l->count);
    CHECK_STR(l->rows[i].key, key);
    CHECK_INT(l->rows[i].count, count);
}

static void recent(struct fx *f, const char *login, const char *before, int limit, struct result *r)
{
    memset(r, 0, sizeof *r);
    CHECK(store_recent(f->st, login, before, limit, on_events, r) == 0);
    run_until(f, &r->done, 1);
    CHECK((r->status == 0) == (r->events != NULL));
}

static void since(struct fx *f, const char *login, const char *since_id, int limit,
                  struct result *r)
{
    memset(r, 0, sizeof *r);
    CHECK(store_since(f->st, login, since_id, limit, on_events, r) == 0);
    run_until(f, &r->done, 1);
    CHECK((r->status == 0) == (r->events != NULL));
}

static void streamer_get(struct fx *f, const char *login, struct result *r)
{
    memset(r, 0, sizeof *r);
    CHECK(store_streamer_get(f->st, login, on_streamer, r) == 0);
    run_until(f, &r->done, 1);
}

/* Stores n events "<prefix>-<i>" of login, one transaction per call, created one second
 * apart from base_us. */
static void store_n(struct fx *f, const char *prefix, const char *login, int n, int64_t base_us)
{
    static struct appended a;
    memset(&a, 0, sizeof a);
    CHECK(n <= 4096);
    for (int i = 0; i < n; i++) {
        char id[64];
        snprintf(id, sizeof id, "%s-%d", prefix, i);
        append(f, &a, i, ev_new(id, login, "channel.follow", base_us + i * INT64_C(1000000)));
    }
    run_until(f, &a.count, n);
    for (int i = 0; i < n; i++)
        CHECK_INT(a.status[i], STORE_STORED);
}

/* ---- writes ---- */

static void test_append_stored(void)
{
    struct fx f;
    fx_start(&f);
    int64_t seq1 = 0, seq2 = 0;
    CHECK_INT(append_wait(&f, ev_new("m-1", "alpha", "channel.follow", 1), &seq1), STORE_STORED);
    CHECK_INT(append_wait(&f, ev_new("m-2", "alpha", "channel.follow", 2), &seq2), STORE_STORED);
    CHECK(seq1 > 0);
    CHECK(seq2 > seq1);
    CHECK_INT(store_ping(f.st), 0);
    struct store_counters k;
    store_counters_get(f.st, &k);
    CHECK_INT(k.stored, 2);
    CHECK_INT(k.duplicates, 0);
    CHECK_INT(k.queued, 0);
    fx_release(&f);
}

static void test_redelivery_is_duplicate(void)
{
    struct fx f;
    fx_start(&f);
    int64_t seq1 = 0, seq2 = 0;
    CHECK_INT(append_wait(&f, ev_new("m-1", "alpha", "channel.follow", 1), &seq1), STORE_STORED);
    CHECK_INT(append_wait(&f, ev_new("m-1", "alpha", "channel.follow", 1), &seq2), STORE_DUPLICATE);
    CHECK_INT(seq2, seq1);
    /* twice in one batch: the second meets the first inside the transaction */
    static struct appended a;
    append(&f, &a, 0, ev_new("m-2", "alpha", "channel.follow", 2));
    append(&f, &a, 1, ev_new("m-2", "alpha", "channel.follow", 2));
    run_until(&f, &a.count, 2);
    CHECK_INT(a.status[0], STORE_STORED);
    CHECK_INT(a.status[1], STORE_DUPLICATE);
    CHECK_INT(a.seq[1], a.seq[0]);
    struct store_counters k;
    store_counters_get(f.st, &k);
    CHECK_INT(k.stored, 2);
    CHECK_INT(k.duplicates, 2);
    fx_release(&f);
}

static void test_dedupe_key_is_duplicate(void)
{
    struct fx f;
    fx_start(&f);
    struct event *e1 =
        ev_new("m-1", "alpha", "channel.channel_points_custom_reward_redemption.add", 1);
    struct event *e2 =
        ev_new("m-2", "alpha", "channel.channel_points_custom_reward_redemption.add", 1);
    e1->dedupe_key = dup_or_null("redemption-17");
    e2->dedupe_key = dup_or_null("redemption-17");
    int64_t seq1 = 0, seq2 = 0;
    CHECK_INT(append_wait(&f, e1, &seq1), STORE_STORED);
    CHECK_INT(append_wait(&f, e2, &seq2), STORE_DUPLICATE);
    CHECK_INT(seq2, seq1);
    /* events without a dedupe key never collide on it (NULLs are distinct) */
    CHECK_INT(append_wait(&f, ev_new("m-3", "alpha", "channel.follow", 1), NULL), STORE_STORED);
    CHECK_INT(append_wait(&f, ev_new("m-4", "alpha", "channel.follow", 1), NULL), STORE_STORED);
    fx_release(&f);
}

static void test_group_commit(void)
{
    struct fx f;
    fx_start(&f);
    static struct appended a;
    const int n = 1000;
    for (int i = 0; i < n; i++) {
        char id[32];
        snprintf(id, sizeof id, "g-%d", i);
        append(&f, &a, i, ev_new(id, i % 2 ? "alpha" : "beta", "channel.follow", i));
    }
    run_until(&f, &a.count, n);
    for (int i = 0; i < n; i++) {
        CHECK_INT(a.status[i], STORE_STORED);
        CHECK_INT(a.order[i], i); /* callbacks in queue order */
        if (i)
            CHECK(a.seq[i] > a.seq[i - 1]);
    }
    struct store_counters k;
    store_counters_get(f.st, &k);
    CHECK_INT(k.stored, n);
    /* one commit per event would be 1000; queued at once they share a few */
    fprintf(stderr, "# %d appends in %llu commits\n", n, (unsigned long long)k.commits);
    CHECK(k.commits >= 1 && k.commits <= 20);
    fx_release(&f);
}

/* An SQLite error fails the whole batch it is in, and nothing of that batch is stored. */
static void test_failed_batch_stores_nothing(void)
{
    struct fx f;
    fx_start(&f);
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(f.path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db,
                       "CREATE TRIGGER poison BEFORE INSERT ON events WHEN NEW.id = 'poison'"
                       " BEGIN SELECT RAISE(ABORT, 'forced failure'); END",
                       NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    static struct appended a;
    const char *ids[] = {"ok-1", "poison", "ok-2"};
    for (int i = 0; i < 3; i++)
        append(&f, &a, i, ev_new(ids[i], "alpha", "channel.follow", i));
    run_until(&f, &a.count, 3);
    CHECK(a.status[1] < 0);
    for (int i = 0; i < 3; i += 2) { /* in the poisoned batch or not: never half-stored */
        CHECK(a.status[i] == STORE_STORED || a.status[i] < 0);
        int again = append_wait(&f, ev_new(ids[i], "alpha", "channel.follow", i), NULL);
        CHECK_INT(again, a.status[i] < 0 ? STORE_STORED : STORE_DUPLICATE);
    }
    struct store_counters k;
    store_counters_get(f.st, &k);
    CHECK(k.failed >= 1);
    fx_release(&f);
}

static void test_append_rejects_bad_events(void)
{
    struct fx f;
    fx_start(&f);
    struct event *ev = ev_new("m-1", "alpha", "channel.follow", 1);
    free(ev->streamer_id);
    ev->streamer_id = NULL;
    static struct appended a;
    struct append_arg arg = {&a, 0};
    CHECK_INT(store_append(f.st, ev, on_append, &arg), STORE_EINVAL);
    CHECK_INT(store_append(f.st, NULL, on_append, &arg), STORE_EINVAL);
    uv_run(&f.loop, UV_RUN_NOWAIT);
    CHECK_INT(a.count, 0); /* a refused call never calls back */
    event_free(ev);
    fx_release(&f);
}

static void test_close_drains_pending_writes(void)
{
    struct fx f;
    fx_start(&f);
    static struct appended a;
    const int n = 500;
    for (int i = 0; i < n; i++) {
        char id[32];
        snprintf(id, sizeof id, "d-%d", i);
        append(&f, &a, i, ev_new(id, "alpha", "channel.follow", i));
    }
    fx_close(&f); /* the loop has not run: every callback runs inside close */
    CHECK_INT(a.count, n);
    for (int i = 0; i < n; i++)
        CHECK_INT(a.status[i], STORE_STORED);
    fx_open(&f);
    struct result r;
    since(&f, "alpha", NULL, 10000, &r);
    CHECK_INT(r.status, 0);
    CHECK_INT(r.events->count, n);
    result_release(&r);
    fx_release(&f);
}

/* A callback that closes the store: the rest of the batch still calls back, in order. */
static struct fx *closing_fx;
static void on_append_close(void *arg, struct event *ev, int status)
{
    on_append(arg, ev, status);
    if (closing_fx->st)
        fx_close(closing_fx);
}

static void test_close_inside_callback(void)
{
    struct fx f;
    fx_start(&f);
    closing_fx = &f;
    static struct appended a;
    struct append_arg *p = malloc(sizeof *p);
    CHECK(p != NULL);
    *p = (struct append_arg){&a, 0};
    CHECK(store_append(f.st, ev_new("c-0", "alpha", "channel.follow", 1), on_append_close, p) == 0);
    for (int i = 1; i < 5; i++) {
        char id[32];
        snprintf(id, sizeof id, "c-%d", i);
        append(&f, &a, i, ev_new(id, "alpha", "channel.follow", i));
    }
    run_until(&f, &a.count, 5);
    for (int i = 0; i < 5; i++) {
        CHECK_INT(a.status[i], STORE_STORED);
        CHECK_INT(a.order[i], i);
    }
    CHECK(f.st == NULL);
    fx_release(&f);
}

/* ---- reads ---- */

static void test_close_with_read_in_flight(void)
{
    struct fx f;
    fx_start(&f);
    store_n(&f, "a", "alpha", 3, 0);
    struct result r = {0};
    CHECK(store_recent(f.st, "alpha", NULL, 10, on_events, &r) == 0);
    fx_close(&f); /* the read still calls back; the store is freed after it */
    run_until(&f, &r.done, 1);
    CHECK_INT(r.status, 0);
    CHECK_INT(r.events->count, 3);
    result_release(&r);
    fx_release(&f);
}

static void test_recent_limit_and_before(void)
{
    struct fx f;
    fx_start(&f);
    store_n(&f, "a", "alpha", 25, 1000000);
    store_n(&f, "b", "beta", 5, 1000000);
    struct result r;
    recent(&f, "alpha", NULL, 10, &r);
    CHECK_INT(r.status, 0);
    CHECK_INT(r.events->count, 10);
    for (int i = 0; i < 10; i++) {
        char id[16];
        snprintf(id, sizeof id, "a-%d", 24 - i);
        CHECK_STR(r.events->items[i]->id, id);
    }
    const struct event *ev = r.events->items[0];
    CHECK_STR(ev->type, "channel.follow");
    CHECK_STR(ev->streamer_id, "id-alpha");
    CHECK_STR(ev->streamer_login, "alpha");
    CHECK_STR(ev->streamer_name, "Alpha");
    CHECK_STR(ev->viewer_login, "alice");
    CHECK_STR(ev->summary, "Alice followed");
    CHECK(ev->dedupe_key == NULL);
    CHECK_INT(ev->created_at_us, 1000000 + 24 * INT64_C(1000000));
    CHECK(ev->seq > r.events->items[1]->seq);
    CHECK_STR(json_string_value(json_object_get(ev->data, "user_login")), "alice");
    CHECK_INT(json_integer_value(json_object_get(ev->data, "n")), 7);
    char before[16];
    snprintf(before, sizeof before, "%s", r.events->items[9]->id); /* a-15 */
    result_release(&r);

    recent(&f, "ALPHA", before, 100, &r); /* logins are case-insensitive */
    CHECK_INT(r.status, 0);
    CHECK_INT(r.events->count, 15);
    CHECK_STR(r.events->items[0]->id, "a-14");
    CHECK_STR(r.events->items[14]->id, "a-0");
    result_release(&r);

    recent(&f, "alpha", "no-such-id", 10, &r);
    CHECK_INT(r.status, 1);
    result_release(&r);
    recent(&f, "nobody", NULL, 10, &r);
    CHECK_INT(r.status, 0);
    CHECK_INT(r.events->count, 0);
    result_release(&r);
    CHECK(store_recent(f.st, "alpha", NULL, 0, on_events, &r) < 0);
    fx_release(&f);
}

static void test_since(void)
{
    struct fx f;
    fx_start(&f);
    store_n(&f, "a", "alpha", 10, 0);
    store_n(&f, "b", "beta", 3, 0);
    store_n(&f, "c", "alpha", 2, 0);
    struct result r;
    since(&f, "alpha", "a-6", 100, &r);
    CHECK_INT(r.status, 0);
    const char *want[] = {"a-7", "a-8", "a-9", "c-0", "c-1"};
    CHECK_INT(r.events->count, 5);
    for (int i = 0; i < 5; i++)
        CHECK_STR(r.events->items[i]->id, want[i]);
    result_release(&r);

    since(&f, "alpha", "a-6", 2, &r); /* at most limit, oldest first */
    CHECK_INT(r.events->count, 2);
    CHECK_STR(r.events->items[1]->id, "a-8");
    result_release(&r);

    since(&f, "alpha", "never-stored", 100, &r);
    CHECK_INT(r.status, 1);
    CHECK(r.events == NULL);
    result_release(&r);

    since(&f, "alpha", "c-1", 100, &r); /* nothing newer */
    CHECK_INT(r.status, 0);
    CHECK_INT(r.events->count, 0);
    result_release(&r);
    fx_release(&f);
}

static void test_streamer_put_and_get(void)
{
    struct fx f;
    fx_start(&f);
    struct result r;
    streamer_get(&f, "shroud", &r);
    CHECK_INT(r.status, 1);

    struct streamer_info s = {.id = "37402112", .login = "shroud", .display_name = "shroud"};
    struct result p = {.status = -9};
    CHECK(store_streamer_put(f.st, &s, on_done, &p) == 0);
    run_until(&f, &p.done, 1);
    CHECK_INT(p.status, 0);
    streamer_get(&f, "Shroud", &r);
    CHECK_INT(r.status, 0);
    CHECK_STR(r.streamer.id, "37402112");
    CHECK_STR(r.streamer.login, "shroud");

    /* an event updates the display name; a later put with no name keeps it */
    struct event *ev = ev_new("m-1", "shroud", "channel.follow", 5);
    free(ev->streamer_id);
    ev->streamer_id = dup_or_null("37402112");
    CHECK_INT(append_wait(&f, ev, NULL), STORE_STORED);
    s.display_name[0] = 0;
    CHECK(store_streamer_put(f.st, &s, on_done, &p) == 0);
    run_until(&f, &p.done, 2);
    CHECK_INT(p.status, 0);
    streamer_get(&f, "shroud", &r);
    CHECK_STR(r.streamer.display_name, "Shroud");

    /* the login moves to another account: the newest owner has it */
    struct streamer_info t = {.id = "99", .login = "shroud", .display_name = "NewShroud"};
    CHECK(store_streamer_put(f.st, &t, on_done, &p) == 0);
    run_until(&f, &p.done, 3);
    CHECK_INT(p.status, 0);
    streamer_get(&f, "shroud", &r);
    CHECK_STR(r.streamer.id, "99");
    CHECK_STR(r.streamer.display_name, "NewShroud");
    struct streamer_info bad = {.id = "", .login = "x"};
    CHECK(store_streamer_put(f.st, &bad, on_done, &p) < 0);
    fx_release(&f);
}

/* ---- stats ---- */

static void stats(struct fx *f, const char *which, const char *login, int hours, struct result *r)
{
    memset(r, 0, sizeof *r);
    int rc = !strcmp(which, "streamers") ? store_stats_streamers(f->st, on_stats, r)
             : !strcmp(which, "types")   ? store_stats_types(f->st, login, on_stats, r)
                                         : store_stats_hourly(f->st, login, hours, on_stats, r);
    CHECK(rc == 0);
    run_until(f, &r->done, 1);
    CHECK_INT(r->status, 0);
    CHECK(r->stats != NULL);
}

static void test_stats(void)
{
    struct fx f;
    fx_start(&f);
    store_n(&f, "a", "alpha", 3, 0);
    store_n(&f, "b", "beta", 8, 0);
    store_n(&f, "c", "gamma", 5, 0);
    static struct appended a;
    const char *types[] = {"channel.cheer", "channel.raid", "channel.cheer", "stream.online"};
    for (int i = 0; i < 4; i++) {
        char id[16];
        snprintf(id, sizeof id, "t-%d", i);
        append(&f, &a, i, ev_new(id, "alpha", types[i], i));
    }
    run_until(&f, &a.count, 4);
    struct result r;
    stats(&f, "streamers", NULL, 0, &r);
    CHECK_INT(r.stats->count, 3);
    check_row(r.stats, 0, "beta", 8);
    check_row(r.stats, 1, "alpha", 7);
    check_row(r.stats, 2, "gamma", 5);
    result_release(&r);

    /* a streamer known before any event counts 0; ties go by login */
    struct streamer_info s = {.id = "id-delta", .login = "delta", .display_name = "Delta"};
    struct result p = {.status = -9};
    CHECK(store_streamer_put(f.st, &s, on_done, &p) == 0);
    run_until(&f, &p.done, 1);
    store_n(&f, "e", "epsilon", 5, 0);
    stats(&f, "streamers", NULL, 0, &r);
    CHECK_INT(r.stats->count, 5);
    CHECK_STR(r.stats->rows[2].key, "epsilon");
    CHECK_STR(r.stats->rows[3].key, "gamma");
    check_row(r.stats, 4, "delta", 0);
    result_release(&r);

    stats(&f, "types", "alpha", 0, &r);
    CHECK_INT(r.stats->count, 4);
    check_row(r.stats, 0, "channel.follow", 3);
    check_row(r.stats, 1, "channel.cheer", 2);
    CHECK_STR(r.stats->rows[2].key, "channel.raid"); /* ties by type */
    CHECK_STR(r.stats->rows[3].key, "stream.online");
    result_release(&r);

    stats(&f, "types", "nobody", 0, &r);
    CHECK_INT(r.stats->count, 0);
    result_release(&r);
    fx_release(&f);
}

static void test_stats_hourly(void)
{
    struct fx f;
    fx_start(&f);
    int64_t cur = clock_wall_us() / HOUR_US;
    static struct appended a;
    const int64_t at[] = {cur * HOUR_US + 1, cur * HOUR_US + 2, (cur - 2) * HOUR_US + 5,
                          (cur - 30) * HOUR_US, (cur - 23) * HOUR_US};
    for (int i = 0; i < 5; i++) {
        char id[16];
        snprintf(id, sizeof id, "h-%d", i);
        append(&f, &a, i, ev_new(id, "alpha", "channel.follow", at[i]));
    }
    run_until(&f, &a.count, 5);
    struct result r;
    stats(&f, "hourly", "alpha", 24, &r);
    CHECK_INT(r.stats->count, 24);
    int64_t last_us = 0;
    CHECK(clock_parse_rfc3339(r.stats->rows[23].key, &last_us) == 0);
    int64_t last = last_us / HOUR_US; /* cur, or cur + 1 if the hour turned meanwhile */
    CHECK(last == cur || last == cur + 1);
    int64_t want[24] = {0};
    for (int i = 0; i < 5; i++) {
        int64_t idx = 23 - (last - at[i] / HOUR_US);
        if (idx >= 0)
            want[idx]++;
    }
    for (int i = 0; i < 24; i++) {
        int64_t key_us = 0;
        CHECK(clock_parse_rfc3339(r.stats->rows[i].key, &key_us) == 0);
        CHECK_INT(key_us, (last - 23 + i) * HOUR_US);
        CHECK_INT(r.stats->rows[i].count, want[i]);
    }
    CHECK_INT(r.stats->rows[23].count + r.stats->rows[22].count, 2);
    result_release(&r);
    CHECK(store_stats_hourly(f.st, "alpha", 0, on_stats, &r) < 0);
    CHECK(store_stats_hourly(f.st, "alpha", 721, on_stats, &r) < 0);
    fx_release(&f);
}

/* ---- schema, files, settings ---- */

static int db_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK);
    CHECK(sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK);
    int rc = sqlite3_step(s), v = rc == SQLITE_ROW ? sqlite3_column_int(s, 0) : -1;
    CHECK(rc == SQLITE_ROW || rc == SQLITE_DONE);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

static void test_migrations_idempotent(void)
{
    struct fx f;
    fx_init(&f);
    fx_open(&f); /* creates var/ and the schema */
    CHECK_INT(append_wait(&f, ev_new("m-1", "alpha", "channel.follow", 1), NULL), STORE_STORED);
    fx_close(&f);
    char wal[200];
    snprintf(wal, sizeof wal, "%s-wal", f.path);
    CHECK(access(wal, F_OK) != 0); /* a clean close leaves one self-contained file */
    snprintf(wal, sizeof wal, "%s-shm", f.path);
    CHECK(access(wal, F_OK) != 0);
    CHECK_INT(db_int(f.path, "PRAGMA user_version"), sqlite_schema_latest());
    fx_open(&f); /* nothing to apply; the data is still there */
    CHECK_INT(append_wait(&f, ev_new("m-1", "alpha", "channel.follow", 1), NULL), STORE_DUPLICATE);
    fx_close(&f);
    CHECK_INT(db_int(f.path, "PRAGMA user_version"), sqlite_schema_latest());
    CHECK_INT(db_int(f.path, "SELECT count(*) FROM events"), 1);
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(f.path, &db) == SQLITE_OK);
    sqlite3_stmt *s = NULL;
    CHECK(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(s) == SQLITE_ROW);
    CHECK_STR((const char *)sqlite3_column_text(s, 0), "wal");
    sqlite3_finalize(s);
    sqlite3_close(db);
    fx_release(&f);
}

static void test_future_schema_refused(void)
{
    struct fx f;
    fx_start(&f);
    fx_close(&f);
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", sqlite_schema_latest() + 1);
    db_int(f.path, sql);
    struct err err = {{0}};
    CHECK(store_open(&f.loop, f.uri, &f.st, &err) == -1);
    CHECK(f.st == NULL);
    fprintf(stderr, "# %s\n", err.msg);
    CHECK(strstr(err.msg, f.path) != NULL);
    CHECK(strstr(err.msg, "newer") != NULL);
    fx_release(&f);
}

static void test_open_errors(void)
{
    struct fx f;
    fx_init(&f);
    struct err err = {{0}};
    char file[200], uri[260];
    snprintf(file, sizeof file, "%s/plain-file", f.dir);
    FILE *fp = fopen(file, "w");
    CHECK(fp != NULL);
    fclose(fp);
    snprintf(uri, sizeof uri, "sqlite:%s/sub/sev.db", file); /* a directory under a file */
    CHECK(store_open(&f.loop, uri, &f.st, &err) == -1);
    fprintf(stderr, "# %s\n", err.msg);
    CHECK(strstr(err.msg, file) != NULL);
    snprintf(uri, sizeof uri, "sqlite:%s", f.dir); /* a directory, not a file */
    CHECK(store_open(&f.loop, uri, &f.st, &err) == -1);
    fprintf(stderr, "# %s\n", err.msg);
    CHECK(strstr(err.msg, f.dir) != NULL);
    /* nothing listens on port 1: an error naming the server, never the password */
    CHECK(store_open(&f.loop, "postgres://sev:hunter2@127.0.0.1:1/sev", &f.st, &err) == -1);
    CHECK(strstr(err.msg, "127.0.0.1:1") && !strstr(err.msg, "hunter2"));
    CHECK(store_open(&f.loop, "mysql://sev:hunter2@db/sev", &f.st, &err) == -1);
    CHECK(strstr(err.msg, "mysql") != NULL);
    CHECK(strstr(err.msg, "hunter2") == NULL);
    CHECK(store_open(&f.loop, "sqlite:", &f.st, &err) == -1);
    CHECK(f.st == NULL);
    fx_release(&f);
}

static void test_settings(void)
{
    struct fx f;
    fx_start(&f);
    struct err err = {{0}};
    char *v = NULL;
    CHECK_INT(store_setting_get(f.st, "eventsub_secret", &v, &err), 1);
    CHECK(v == NULL);
    CHECK_INT(store_setting_set(f.st, "eventsub_secret", "first", &err), 0);
    CHECK_INT(store_setting_set(f.st, "eventsub_secret", "s3cr'et\"value", &err), 0);
    fx_close(&f);
    fx_open(&f);
    CHECK_INT(store_setting_get(f.st, "eventsub_secret", &v, &err), 0);
    CHECK_STR(v, "s3cr'et\"value");
    free(v);
    CHECK(store_setting_get(f.st, "", &v, &err) < 0);
    fx_release(&f);
}

/* ---- the plans ---- */

/* The plan of sql, one detail per line, each line a TAP comment. */
static void query_plan(sqlite3 *db, const char *sql, char *out, size_t size)
{
    char explain[2048];
    snprintf(explain, sizeof explain, "EXPLAIN QUERY PLAN %s", sql);
    sqlite3_stmt *s = NULL;
    CHECK(sqlite3_prepare_v2(db, explain, -1, &s, NULL) == SQLITE_OK);
    size_t len = 0;
    out[0] = 0;
    while (sqlite3_step(s) == SQLITE_ROW)
        len += (size_t)snprintf(out + len, size - len, "#   %s\n", sqlite3_column_text(s, 3));
    sqlite3_finalize(s);
    CHECK(len < size);
}

/* No full scan of the events table: "SCAN events" (or its alias e) only through a covering
 * index, whose entries are a few bytes each. */
static int has_full_scan(const char *plan)
{
    for (const char *p = plan; (p = strstr(p, "SCAN e")); p++) {
        const char *eol = strchr(p, '\n');
        const char *cov = strstr(p, "COVERING INDEX");
        if (!cov || cov > eol)
            return 1;
    }
    return 0;
}

static void test_reads_use_indexes(void)
{
    struct fx f;
    fx_start(&f);
    sqlite3 *db = NULL;
    CHECK(sqlite3_open_v2(f.path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    static const struct {
        const char *query, *must, *must_not;
    } cases[] = {
        {"recent", "SEARCH e USING INDEX events_streamer_order (streamer_id=? AND streamer_seq<?)",
         "TEMP B-TREE"},
        {"since", "SEARCH e USING INDEX events_streamer_order (streamer_id=? AND streamer_seq>?)",
         "TEMP B-TREE"},
        {"seq_of", "SEARCH e USING INDEX sqlite_autoindex_events_1 (id=?)", NULL},
        {"streamer", "(login=?)", NULL},
        {"stats_types", "SEARCH events USING COVERING INDEX events_streamer_type (streamer_id=?)",
         NULL},
        {"stats_hourly",
         "SEARCH events USING COVERING INDEX events_streamer_time (streamer_id=? AND "
         "created_at_us>? AND created_at_us<?)",
         NULL},
        {"stats_streamers", "SCAN events USING COVERING INDEX", NULL},
    };
    char plan[4096];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *sql = store_sqlite_query(cases[i].query);
        CHECK(sql != NULL);
        query_plan(db, sql, plan, sizeof plan);
        fprintf(stderr, "# %s:\n%s", cases[i].query, plan);
        CHECK(strstr(plan, cases[i].must) != NULL);
        CHECK(!cases[i].must_not || !strstr(plan, cases[i].must_not));
        CHECK(!has_full_scan(plan));
    }
    CHECK(store_sqlite_query("no such query") == NULL);
    sqlite3_close(db);
    fx_release(&f);
}

/* ---- hostile strings ---- */

static void test_hostile_strings_round_trip(void)
{
    struct fx f;
    fx_start(&f);
    static const char *odd[] = {
        "Robert'); DROP TABLE events;--",
        "\"quoted\" and 'single' and `back`",
        "emoji \xF0\x9F\x98\x80 zwj \xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x92\xBB",
        "rtl \xE2\x80\xAE override, bom \xEF\xBB\xBF, ls \xE2\x80\xA8 ps \xE2\x80\xA9",
        "combining e\xCC\x81\xCC\x81\xCC\x81 and nonchar \xEF\xBF\xBF",
        "%s %n %% \\ backslash \x01\x1F control",
        "not utf-8: \xC3\x28 \xFF\xFE",
    };
    const size_t n = sizeof odd / sizeof odd[0];
    for (size_t i = 0; i < n; i++) {
        char id[64];
        snprintf(id, sizeof id, "%s#%zu", odd[1], i); /* quotes in the id too */
        struct event *ev = ev_new(id, "alpha", "channel.chat.message", (int64_t)i);
        free(ev->summary);
        free(ev->viewer_name);
        ev->summary = dup_or_null(odd[i]);
        ev->viewer_name = dup_or_null(odd[i]);
        json_t *msg = json_string(odd[i]); /* NULL for the invalid UTF-8 one: jansson refuses */
        if (msg)
            json_object_set_new(ev->data, "message", msg);
        CHECK_INT(append_wait(&f, ev, NULL), STORE_STORED);
    }
    struct result r;
    since(&f, "alpha", NULL, 100, &r);
    CHECK_INT(r.status, 0);
    CHECK_INT(r.events->count, n);
    for (size_t i = 0; i < n; i++) {
        const struct event *ev = r.events->items[i];
        /* PostgreSQL keeps only UTF-8: each bad byte is stored as U+FFFD */
        const char *want =
            pg_base && i == n - 1 ? "not utf-8: \xEF\xBF\xBD( \xEF\xBF\xBD\xEF\xBF\xBD" : odd[i];
        CHECK_STR(ev->summary, want);
        CHECK_STR(ev->viewer_name, want);
        json_t *msg = json_object_get(ev->data, "message");
        if (msg)
            CHECK_STR(json_string_value(msg), odd[i]);
    }
    CHECK_STR(json_string_value(json_object_get(r.events->items[0]->data, "message")), odd[0]);
    result_release(&r);
    fx_release(&f);
}

/* ---- throughput ---- */

/* A realistic follow: a UUID message id, one of 20 streamers, Twitch's event object. */
static struct event *bench_event(int i)
{
    char id[37], login[16];
    CHECK(rand_uuid(id) == 0);
    snprintf(login, sizeof login, "streamer%02d", i % 20);
    struct event *ev = ev_new(id, login, "channel.follow", clock_wall_us());
    json_object_set_new(ev->data, "broadcaster_user_login", json_string(login));
    json_object_set_new(ev->data, "broadcaster_user_name", json_string(login));
    json_object_set_new(ev->data, "broadcaster_user_id", json_string("12826"));
    return ev;
}

/* Sustained load: keeps BENCH_WINDOW appends in flight (as a busy ingest would) until n are
 * stored; events are made on the loop meanwhile, the writer being the bottleneck. */
#define BENCH_WINDOW 20000

static void test_bench_group_commit(void)
{
    const char *env = getenv("SEV_STORE_BENCH_N");
    int n = env && atoi(env) > 0 ? atoi(env) : 20000;
    struct fx f;
    fx_start(&f);
    struct appended *a = calloc(1, sizeof *a);
    CHECK(a != NULL);
    int next = 0;
    int64_t t0 = clock_mono_us();
    while (a->count < n) {
        /* the callback slots are reused modulo 4096: only the count matters here */
        for (; next < n && next - a->count < BENCH_WINDOW; next++)
            append(&f, a, next % 4096, bench_event(next));
        run_until(&f, &a->count, a->count + 1);
    }
    int64_t dt = clock_mono_us() - t0;
    struct store_counters k;
    store_counters_get(f.st, &k);
    CHECK_INT(k.stored, n);
    printf("# bench: %d events in %.3f s = %.0f events/s, %llu commits\n", n, dt / 1e6,
           n / (dt / 1e6), (unsigned long long)k.commits);
    free(a);
    fx_release(&f);
}

/* ---- the per-streamer order ---- */

static void test_streamer_seq_dense(void)
{
    struct fx f;
    fx_start(&f);
    static struct appended a;
    const char *logins[] = {"alpha", "beta", "alpha", "alpha", "beta"};
    for (int i = 0; i < 5; i++) {
        char id[32];
        snprintf(id, sizeof id, "m-%d", i);
        append(&f, &a, i, ev_new(id, logins[i], "channel.follow", 1000 + i));
    }
    run_until(&f, &a.count, 5);
    static const int64_t want[] = {1, 1, 2, 3, 2};
    for (int i = 0; i < 5; i++) {
        CHECK_INT(a.status[i], STORE_STORED);
        CHECK_INT(a.sseq[i], want[i]);
    }
    /* a redelivery gets the stored event's numbers */
    struct appended *d = calloc(1, sizeof *d);
    CHECK(d != NULL);
    append(&f, d, 0, ev_new("m-2", "alpha", "channel.follow", 1));
    struct event *k1 = ev_new("k-1", "alpha", "channel.follow", 1);
    k1->dedupe_key = strdup("channel.follow:id-alpha:x");
    append(&f, d, 1, k1);
    struct event *k2 = ev_new("k-2", "alpha", "channel.follow", 1);
    k2->dedupe_key = strdup("channel.follow:id-alpha:x");
    append(&f, d, 2, k2);
    run_until(&f, &d->count, 3);
    CHECK_INT(d->status[0], STORE_DUPLICATE);
    CHECK_INT(d->seq[0], a.seq[2]);
    CHECK_INT(d->sseq[0], 2);
    CHECK_INT(d->status[1], STORE_STORED);
    CHECK_INT(d->sseq[1], 4);
    CHECK_INT(d->status[2], STORE_DUPLICATE);
    CHECK_INT(d->sseq[2], 4);
    CHECK_INT(d->seq[2], d->seq[1]);
    free(d);
    /* reads carry it, in its order */
    struct result r;
    since(&f, "alpha", "m-0", 10, &r);
    CHECK_INT(r.status, 0);
    CHECK_INT(r.events->count, 3);
    for (size_t i = 0; i < 3; i++)
        CHECK_INT(r.events->items[i]->streamer_seq, (int64_t)i + 2);
    CHECK_STR(r.events->items[2]->id, "k-1");
    result_release(&r);
    recent(&f, "alpha", "k-1", 10, &r);
    CHECK_INT(r.events->count, 3);
    CHECK_INT(r.events->items[0]->streamer_seq, 3);
    result_release(&r);
    since(&f, "beta", "m-0", 10, &r); /* an id of another streamer is unknown here */
    CHECK_INT(r.status, 1);
    result_release(&r);
    fx_release(&f);
}

/* The writer keeps a streamer's counter and row for a run of its events in one batch and
 * writes them once: the rows must be what an upsert and a bump per event, in queue order,
 * would leave — across other streamers' events, a rename inside the run, a put between
 * events, an older event after a newer one and an event that names no display name. */
static void test_streamer_rows_after_runs(void)
{
    struct fx f;
    fx_start(&f);
    static struct appended a;
    static const struct {
        const char *login, *name;
        int64_t at;
    } evs[] = {{"alpha", "Alpha", 50}, {"alpha", "Alpha", 100}, {"beta", "Beta", 10},
               {"alpha", "AlphaNew", 70}, {"alpha", "", 60}, {"alpha", "", 40}};
    struct result p = {.status = -9};
    for (int i = 0; i < 6; i++) {
        char id[32];
        snprintf(id, sizeof id, "r-%d", i);
        struct event *ev = ev_new(id, evs[i].login, "channel.follow", evs[i].at);
        free(ev->streamer_name);
        ev->streamer_name = strdup(evs[i].name);
        append(&f, &a, i, ev);
        if (i == 3) { /* queued between two events of the run */
            struct streamer_info put = {.id = "id-alpha", .login = "alpha", .display_name = "Put"};
            CHECK(store_streamer_put(f.st, &put, on_done, &p) == 0);
        }
    }
    run_until(&f, &a.count, 6);
    run_until(&f, &p.done, 1);
    CHECK_INT(p.status, 0);
    static const int64_t want[] = {1, 2, 1, 3, 4, 5};
    for (int i = 0; i < 6; i++) {
        CHECK_INT(a.status[i], STORE_STORED);
        CHECK_INT(a.sseq[i], want[i]);
    }
    struct result r;
    streamer_get(&f, "alpha", &r);
    CHECK_INT(r.status, 0);
    CHECK_STR(r.streamer.display_name, "Put"); /* the put came after AlphaNew; "" keeps it */
    streamer_get(&f, "beta", &r);
    CHECK_STR(r.streamer.display_name, "Beta");
    {
        sqlite3 *db = NULL;
        sqlite3_stmt *s = NULL;
        CHECK(sqlite3_open(f.path, &db) == SQLITE_OK);
        CHECK(sqlite3_prepare_v2(db,
                                 "SELECT (SELECT last_event_us FROM streamers WHERE id = 'id-alpha'),"
                                 " (SELECT last_seq FROM streamer_counters WHERE streamer_id = 'id-alpha'),"
                                 " (SELECT last_seq FROM streamer_counters WHERE streamer_id = 'id-beta')",
                                 -1, &s, NULL) == SQLITE_OK);
        CHECK(sqlite3_step(s) == SQLITE_ROW);
        CHECK_INT(sqlite3_column_int64(s, 0), 100); /* the latest, neither the first nor the last */
        CHECK_INT(sqlite3_column_int64(s, 1), 5);
        CHECK_INT(sqlite3_column_int64(s, 2), 1);
        sqlite3_finalize(s);
        sqlite3_close(db);
    }
    fx_release(&f);
}

#define TW_N 400

static int cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return a < b ? -1 : a > b;
}

/* Two stores (two writer connections, or two SQLite writers on one file) write one streamer
 * at once: the numbers are 1..N with no gap and no repeat, and since= from any event gives
 * exactly the events numbered after it, in that order, on either store. */
static void test_two_writers_one_streamer(void)
{
    struct fx f;
    fx_start(&f);
    struct store *st2 = NULL;
    struct err err = {{0}};
    CHECK(store_open(&f.loop, f.uri, &st2, &err) == 0);
    static struct appended a;
    for (int round = 0; round < 4; round++) { /* several batches each, interleaved */
        int base = a.count;
        for (int i = 0; i < TW_N / 4; i++) {
            int k = base + i;
            char id[32];
            snprintf(id, sizeof id, "tw-%d", k);
            append_to(k % 2 ? st2 : f.st, &a, k, ev_new(id, "gamma", "channel.follow", k));
        }
        run_until(&f, &a.count, base + TW_N / 4);
    }
    /* the same message delivered to both: stored once, same number on both */
    append_to(f.st, &a, TW_N, ev_new("tw-dup", "gamma", "channel.follow", 1));
    append_to(st2, &a, TW_N + 1, ev_new("tw-dup", "gamma", "channel.follow", 1));
    run_until(&f, &a.count, TW_N + 2);
    CHECK((a.status[TW_N] == STORE_STORED) != (a.status[TW_N + 1] == STORE_STORED));
    CHECK_INT(a.sseq[TW_N], a.sseq[TW_N + 1]);
    static int64_t sorted[TW_N + 1];
    for (int i = 0; i < TW_N; i++) {
        CHECK_INT(a.status[i], STORE_STORED);
        sorted[i] = a.sseq[i];
    }
    sorted[TW_N] = a.sseq[TW_N];
    qsort(sorted, TW_N + 1, sizeof sorted[0], cmp_i64);
    for (int i = 0; i <= TW_N; i++)
        CHECK_INT(sorted[i], i + 1);
    /* since= from every 37th event, on both stores */
    for (int from = 0; from < TW_N; from += 37) {
        struct store *which = from % 2 ? st2 : f.st;
        struct result r;
        memset(&r, 0, sizeof r);
        char id[32];
        snprintf(id, sizeof id, "tw-%d", from);
        CHECK(store_since(which, "gamma", id, 10000, on_events, &r) == 0);
        run_until(&f, &r.done, 1);
        CHECK_INT(r.status, 0);
        CHECK_INT(r.events->count, TW_N + 1 - a.sseq[from]);
        for (size_t i = 0; i < r.events->count; i++)
            CHECK_INT(r.events->items[i]->streamer_seq, a.sseq[from] + 1 + (int64_t)i);
        result_release(&r);
    }
    store_close(st2);
    fx_release(&f);
}

/* ---- accounts ---- */

static void test_accounts_round_trip(void)
{
    struct fx f;
    fx_start(&f);
    struct result r = {0};
    struct store_user u = {.id = "77",
                           .login = "Carol",
                           .display_name = "Carol",
                           .profile_image_url = "https://x/c.png"};
    CHECK(store_user_put(f.st, &u, on_done, &r) == 0);
    unsigned char key[STORE_SESSION_KEY_LEN];
    for (int i = 0; i < STORE_SESSION_KEY_LEN; i++)
        key[i] = (unsigned char)(i * 37); /* with a 0 byte and high bytes */
    CHECK(store_session_put(f.st, key, "77", clock_wall_us() + INT64_C(3600000000), on_done, &r) ==
          0);
    struct store_token t = {.owner = "77", .scopes = "user:read:email", .expires_at_us = 42};
    unsigned char sealed[5] = {0, 1, 0xff, '\\', 0};
    t.sealed = sealed;
    t.sealed_len = sizeof sealed;
    CHECK(store_token_put(f.st, &t, on_done, &r) == 0);
    struct streamer_info fav = {.id = "id-alpha", .login = "alpha", .display_name = "Alpha"};
    CHECK(store_favorite_set(f.st, "77", &fav, on_done, &r) == 0);
    run_until(&f, &r.done, 4);
    CHECK_INT(r.status, 0);

    memset(&r, 0, sizeof r);
    CHECK(store_session_get(f.st, key, on_user, &r) == 0);
    run_until(&f, &r.done, 1);
    CHECK_INT(r.status, 0);
    CHECK_STR(r.user.login, "carol");
    CHECK_STR(r.user.profile_image_url, "https://x/c.png");
    CHECK(r.user.has_favorite);
    CHECK_STR(r.user.favorite.login, "alpha");

    memset(&r, 0, sizeof r);
    CHECK(store_tokens_all(f.st, on_tokens, &r) == 0);
    CHECK(store_favorites_all(f.st, on_favorites, &r) == 0);
    run_until(&f, &r.done, 2);
    CHECK_INT(r.tokens->count, 1);
    CHECK_INT(r.tokens->items[0].sealed_len, sizeof sealed);
    CHECK(memcmp(r.tokens->items[0].sealed, sealed, sizeof sealed) == 0);
    CHECK_STR(r.tokens->items[0].scopes, "user:read:email");
    CHECK_INT(r.tokens->items[0].expires_at_us, 42);
    CHECK_INT(r.favorites->count, 1);
    CHECK_STR(r.favorites->items[0].streamer.display_name, "Alpha");
    store_token_list_free(r.tokens);
    store_favorite_list_free(r.favorites);

    memset(&r, 0, sizeof r);
    CHECK(store_user_delete(f.st, "77", on_done, &r) == 0);
    run_until(&f, &r.done, 1);
    CHECK_INT(r.status, 0);
    memset(&r, 0, sizeof r);
    CHECK(store_session_get(f.st, key, on_user, &r) == 0);
    CHECK(store_user_get(f.st, "77", on_user, &r) == 0);
    run_until(&f, &r.done, 2);
    CHECK_INT(r.status, 1);
    memset(&r, 0, sizeof r);
    CHECK(store_tokens_all(f.st, on_tokens, &r) == 0);
    run_until(&f, &r.done, 1);
    CHECK_INT(r.tokens->count, 0);
    store_token_list_free(r.tokens);
    fx_release(&f);
}

/* ---- SQLite only ---- */

static void sql_exec(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fprintf(stderr, "# %s\n", msg);
    CHECK(msg == NULL);
    sqlite3_close(db);
}

/* A database of schema version 2 (no streamer_seq) gets its events numbered in the order
 * they were stored, and the counters continue from there. */
static void test_sqlite_streamer_seq_backfill(void)
{
    struct fx f;
    fx_start(&f);
    static struct appended a;
    const char *logins[] = {"alpha", "beta", "alpha", "beta", "alpha"};
    for (int i = 0; i < 5; i++) {
        char id[32];
        snprintf(id, sizeof id, "b-%d", i);
        append(&f, &a, i, ev_new(id, logins[i], "channel.follow", 1000 + i));
    }
    run_until(&f, &a.count, 5);
    fx_close(&f);
    /* back to version 2, as an older sev left it */
    sql_exec(f.path, "DROP INDEX events_streamer_order;"
                     "ALTER TABLE events DROP COLUMN streamer_seq;"
                     "DROP TABLE streamer_counters;"
                     "CREATE INDEX events_streamer_seq ON events(streamer_id, seq);"
                     "PRAGMA user_version = 2;");
    fx_open(&f);
    struct result r;
    since(&f, "alpha", NULL, 10, &r);
    CHECK_INT(r.events->count, 3);
    for (size_t i = 0; i < 3; i++)
        CHECK_INT(r.events->items[i]->streamer_seq, (int64_t)i + 1);
    CHECK_STR(r.events->items[2]->id, "b-4");
    result_release(&r);
    memset(&a, 0, sizeof a);
    append(&f, &a, 0, ev_new("b-5", "beta", "channel.follow", 1));
    run_until(&f, &a.count, 1);
    CHECK_INT(a.sseq[0], 3);
    fx_release(&f);
}

/* ---- PostgreSQL only ---- */

static void test_pg_migrations(void)
{
    struct fx f;
    fx_init(&f);
    enum { OPENERS = 4 };
    pid_t kids[OPENERS];
    for (int i = 0; i < OPENERS; i++) {
        kids[i] = fork();
        CHECK(kids[i] >= 0);
        if (kids[i] == 0) {
            uv_loop_t loop;
            struct store *st = NULL;
            struct err err = {{0}};
            uv_loop_init(&loop);
            int rc = store_open(&loop, f.uri, &st, &err);
            if (rc < 0)
                fprintf(stderr, "# opener %d: %s\n", i, err.msg);
            if (st)
                store_close(st);
            uv_run(&loop, UV_RUN_DEFAULT);
            uv_loop_close(&loop);
            _exit(rc == 0 ? 0 : 1);
        }
    }
    for (int i = 0; i < OPENERS; i++) {
        int status = 0;
        CHECK(waitpid(kids[i], &status, 0) == kids[i]);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    CHECK_INT(pg_exec(f.pg_db, "SELECT max(version) FROM sev_schema"), pg_schema_latest());
    CHECK_INT(pg_exec(f.pg_db, "SELECT count(*) FROM sev_schema"), pg_schema_latest());
    fx_open(&f); /* and once more, with nothing to do */
    fx_release(&f);
}

/* The writer's statements are prepared once and PostgreSQL caches a generic plan costed on
 * the tables of that moment — empty at a first start. No statement may then reach a table
 * that grows (events, their keys, streamers, counters) by a sequential scan: that cost
 * O(rows) per batch (docs/storage.md "Plans that stay right as the tables grow"). */
static void test_pg_generic_plans_use_indexes(void)
{
    struct fx f;
    fx_start(&f);
    char uri[300];
    size_t base = (size_t)(strrchr(pg_base, '/') - pg_base);
    snprintf(uri, sizeof uri, "%.*s/%s", (int)base, pg_base, f.pg_db);
    PGconn *c = PQconnectdb(uri);
    CHECK(PQstatus(c) == CONNECTION_OK);
    PQclear(PQexec(c, pg_writer_setup));
    PQclear(PQexec(c, "SET plan_cache_mode = force_generic_plan"));
    for (size_t i = 0; i < pg_writer_nstmts; i++) {
        const struct pg_stmt *st = &pg_writer_stmts[i];
        PGresult *r = PQprepare(c, st->name, st->sql, 0, NULL);
        CHECK(PQresultStatus(r) == PGRES_COMMAND_OK);
        PQclear(r);
        r = PQdescribePrepared(c, st->name);
        int n = PQnparams(r);
        PQclear(r);
        char sql[512];
        int len = snprintf(sql, sizeof sql, "EXPLAIN EXECUTE %s", st->name);
        for (int k = 0; k < n; k++)
            len += snprintf(sql + len, sizeof sql - (size_t)len, "%sNULL", k ? ", " : "(");
        snprintf(sql + len, sizeof sql - (size_t)len, "%s", n ? ")" : "");
        r = PQexec(c, sql);
        CHECK(PQresultStatus(r) == PGRES_TUPLES_OK);
        for (int row = 0; row < PQntuples(r); row++) {
            const char *line = PQgetvalue(r, row, 0);
            if (strstr(line, "Seq Scan on event") || strstr(line, "Seq Scan on streamer"))
                fprintf(stderr, "# %s: %s\n", st->name, line);
            CHECK(!strstr(line, "Seq Scan on event") && !strstr(line, "Seq Scan on streamer"));
        }
        PQclear(r);
    }
    PQfinish(c);
    fx_release(&f);
}

static void test_pg_future_schema_refused(void)
{
    struct fx f;
    fx_start(&f);
    fx_close(&f);
    char sql[96];
    snprintf(sql, sizeof sql, "INSERT INTO sev_schema VALUES (%d)", pg_schema_latest() + 1);
    pg_exec(f.pg_db, sql);
    struct err err = {{0}};
    CHECK(store_open(&f.loop, f.uri, &f.st, &err) == -1);
    fprintf(stderr, "# %s\n", err.msg);
    CHECK(strstr(err.msg, "newer than this build") != NULL);
    fx_release(&f);
}

static void test_pg_open_errors(void)
{
    struct fx f;
    fx_init(&f);
    struct err err = {{0}};
    /* nothing listens on port 1 */
    CHECK(store_open(&f.loop, "postgresql://sev:hunter2@127.0.0.1:1/sev", &f.st, &err) == -1);
    fprintf(stderr, "# %s\n", err.msg);
    CHECK(strstr(err.msg, "cannot connect") && strstr(err.msg, "127.0.0.1:1"));
    CHECK(!strstr(err.msg, "hunter2"));
    CHECK(store_open(&f.loop, "postgres://sev:hunter2@127.0.0.1/sev?hunter2=1", &f.st, &err) == -1);
    fprintf(stderr, "# %s\n", err.msg);
    CHECK(strstr(err.msg, "not a valid PostgreSQL URI") && !strstr(err.msg, "hunter2"));
    CHECK(store_open(&f.loop, "postgresql://sev:hunter2@[::1/sev", &f.st, &err) == -1);
    fprintf(stderr, "# %s\n", err.msg);
    CHECK(!strstr(err.msg, "hunter2"));
    fx_release(&f);
}

static void test_pg_partitions(void)
{
    struct fx f;
    fx_start(&f);
    CHECK_INT(append_wait(&f, ev_new("p-1", "alpha", "channel.follow", 1), NULL), STORE_STORED);
    /* the default partition and this month and the next two */
    CHECK(pg_exec(f.pg_db, "SELECT count(*) FROM pg_inherits"
                           " WHERE inhparent = 'events'::regclass") >= 4);
    CHECK_INT(pg_exec(f.pg_db, "SELECT count(*) FROM events_default"), 0);
    CHECK_INT(pg_exec(f.pg_db, "SELECT count(*) FROM events WHERE tableoid = to_regclass("
                               "'events_' || to_char(now() AT TIME ZONE 'UTC', 'YYYY_MM'))"),
              1);
    /* dedupe across partitions: the key table is not partitioned, so an id stored in one
     * month is a duplicate in any other (move the row to the default partition's range) */
    pg_exec(f.pg_db, "UPDATE events SET received_at_us = 0");
    CHECK_INT(pg_exec(f.pg_db, "SELECT count(*) FROM events_default"), 1);
    int64_t seq = 0;
    CHECK_INT(append_wait(&f, ev_new("p-1", "alpha", "channel.follow", 1), &seq), STORE_DUPLICATE);
    CHECK(seq > 0);
    fx_release(&f);
}

static int wait_ping(struct fx *f, int want_ok, int ms)
{
    for (int i = 0; i < ms / 10; i++) {
        uv_run(&f->loop, UV_RUN_NOWAIT);
        if ((store_ping(f->st) == 0) == want_ok)
            return 1;
        usleep(10000);
    }
    return 0;
}

/* The pg-test.sh directory (SEV_TEST_PG_DIR) for the tests that restart the server, or NULL
 * (the test is skipped, which it says). */
static const char *pg_test_dir(void)
{
    const char *dir = getenv("SEV_TEST_PG_DIR");
    if (dir && *dir)
        return dir;
    printf("# skipped: SEV_TEST_PG_DIR not set\n");
    return NULL;
}

static void test_pg_reconnect(void)
{
    const char *dir = pg_test_dir();
    if (!dir)
        return;
    struct fx f;
    fx_start(&f);
    CHECK(store_ping(f.st) == 0);
    CHECK_INT(append_wait(&f, ev_new("r-1", "alpha", "channel.follow", 1), NULL), STORE_STORED);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "scripts/pg-test.sh stop %s immediate", dir);
    CHECK(system(cmd) == 0);
    CHECK(wait_ping(&f, 0, 10000));
    int64_t t0 = clock_mono_us();
    CHECK(append_wait(&f, ev_new("r-2", "alpha", "channel.follow", 1), NULL) < 0);
    CHECK(clock_mono_us() - t0 < 2000000); /* fails fast, not after a timeout */
    snprintf(cmd, sizeof cmd, "scripts/pg-test.sh restart %s", dir);
    CHECK(system(cmd) == 0);
    CHECK(wait_ping(&f, 1, 10000)); /* back by itself within 10 s */
    int64_t sseq = 0;
    static struct appended a;
    append(&f, &a, 0, ev_new("r-2", "alpha", "channel.follow", 1));
    run_until(&f, &a.count, 1);
    CHECK_INT(a.status[0], STORE_STORED);
    sseq = a.sseq[0];
    CHECK_INT(sseq, 2); /* the failed attempt left no gap */
    fx_release(&f);
}

/* A server that stops answering (its processes stopped: no socket error ever comes): the
 * writer gives up after PG_WRITE_STALL_MS, the append fails, ping says unhealthy, and new
 * connections (to new server processes) bring it back. */
static void test_pg_stall(void)
{
    const char *dir = pg_test_dir();
    if (!dir)
        return;
    struct fx f;
    fx_start(&f);
    CHECK_INT(append_wait(&f, ev_new("s-1", "alpha", "channel.follow", 1), NULL), STORE_STORED);
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM pg_stat_activity WHERE datname = '%s'"
             " AND application_name = 'sev'",
             f.pg_db);
    CHECK_INT(pg_exec(NULL, sql), 2); /* the writer and the reader */
    /* stop both server processes of this store (their pids kept to let them go after) */
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "psql -At -d '%.*s/%s' -c \"SELECT pid FROM pg_stat_activity WHERE datname = '%s'"
             " AND application_name = 'sev'\" > %s/pids && kill -STOP $(cat %s/pids)",
             (int)(strrchr(pg_base, '/') - pg_base), pg_base, f.pg_db, f.pg_db, f.dir, f.dir);
    CHECK(system(cmd) == 0);
    static struct appended a;
    int64_t t0 = clock_mono_us();
    append(&f, &a, 0, ev_new("s-2", "alpha", "channel.follow", 1));
    run_until(&f, &a.count, 1);
    CHECK(a.status[0] < 0);
    CHECK(clock_mono_us() - t0 >= (PG_WRITE_STALL_MS - 1000) * INT64_C(1000));
    CHECK(store_ping(f.st) != 0);
    CHECK(wait_ping(&f, 1, 15000)); /* new connections, new server processes */
    memset(&a, 0, sizeof a);
    append(&f, &a, 0, ev_new("s-2", "alpha", "channel.follow", 1));
    run_until(&f, &a.count, 1);
    CHECK_INT(a.status[0], STORE_STORED);
    CHECK_INT(a.sseq[0], 2);
    /* let the stopped ones go (they find their clients gone and exit) */
    snprintf(cmd, sizeof cmd, "kill -CONT $(cat %s/pids)", f.dir);
    CHECK(system(cmd) == 0);
    fx_release(&f);
}

/* Tests of SQLite's own files and plans. */
static const struct unit_test sqlite_tests[] = {
    {"a failed batch stores nothing", test_failed_batch_stores_nothing},
    {"migrations are idempotent on reopen", test_migrations_idempotent},
    {"a newer schema version is refused", test_future_schema_refused},
    {"open errors name the path", test_open_errors},
    {"reads use their indexes (EXPLAIN QUERY PLAN)", test_reads_use_indexes},
    {"migration 3 numbers existing events per streamer", test_sqlite_streamer_seq_backfill},
    {"the writer's streamer runs leave the rows of one upsert and bump per event",
     test_streamer_rows_after_runs},
    {0},
};

static const struct unit_test pg_tests[] = {
    {"pg: migrations are idempotent, several openers at once", test_pg_migrations},
    {"pg: a newer schema version is refused", test_pg_future_schema_refused},
    {"pg: the writer's cached plans reach growing tables only through indexes",
     test_pg_generic_plans_use_indexes},
    {"pg: bad URI and unreachable server are clear errors without the password",
     test_pg_open_errors},
    {"pg: events go to this month's partition; partitions exist ahead", test_pg_partitions},
    {"pg: down: appends fail fast, ping unhealthy; back by itself", test_pg_reconnect},
    {"pg: a server that stops answering: writes fail after the stall limit, then recover",
     test_pg_stall},
    {0},
};

/* Both backends. */
static const struct unit_test tests[] = {
    {"append stores with a seq", test_append_stored},
    {"redelivery of an id is a duplicate with the same seq", test_redelivery_is_duplicate},
    {"same dedupe_key, other id is a duplicate", test_dedupe_key_is_duplicate},
    {"1000 queued appends share a few commits", test_group_commit},
    {"streamer_seq: dense per streamer, duplicates get the stored one", test_streamer_seq_dense},
    {"two writers on one streamer: dense, unique, since= exact", test_two_writers_one_streamer},
    {"accounts: users, sessions, tokens, favorites round-trip", test_accounts_round_trip},
    {"append refuses an event without streamer", test_append_rejects_bad_events},
    {"close drains pending writes", test_close_drains_pending_writes},
    {"close inside a write callback", test_close_inside_callback},
    {"close with a read in flight", test_close_with_read_in_flight},
    {"recent: newest first, limit, before", test_recent_limit_and_before},
    {"since: oldest first, unknown id", test_since},
    {"streamer put and get", test_streamer_put_and_get},
    {"stats per streamer and per type", test_stats},
    {"stats per hour", test_stats_hourly},
    {"settings", test_settings},
    {"hostile strings round-trip", test_hostile_strings_round_trip},
    {"bench: group-committed appends per second", test_bench_group_commit},
    {0},
};

int main(int argc, char **argv)
{
    static struct unit_test all[64];
    size_t n = 0;
    pg_base = getenv("SEV_TEST_DATABASE");
    if (pg_base && !*pg_base)
        pg_base = NULL;
    const struct unit_test *extra = pg_base ? pg_tests : sqlite_tests;
    for (const struct unit_test *t = tests; t->name; t++)
        all[n++] = *t;
    for (const struct unit_test *t = extra; t->name; t++)
        all[n++] = *t;
    if (pg_base)
        printf("# backend: PostgreSQL\n");
    return unit_run(all, argc, argv);
}
