/* test_alloc_fail: out-of-memory torture, as SQLite's test_malloc.c and curl's torture mode.
 *
 * This binary is linked with -Wl,--wrap=malloc,calloc,realloc,strdup,strndup (Makefile), so
 * every allocation made by SEV's code (libsev.a) and by jansson (json_set_alloc_funcs) goes
 * through the counters below. Each scenario runs a module's main path with allocations
 * counted while "armed"; the torture loop runs it again for N = 1, 2, … making the Nth
 * allocation fail (once; then, second pass, the Nth and every later one), until a run makes
 * fewer than N allocations. Each run must end cleanly: an error returned or a success, no
 * crash, everything freed (the ASan build's LeakSanitizer fails the test on any leak).
 */
#include "unit.h"

#include <dirent.h>
#include <ftw.h>
#include <jansson.h>
#include <stdatomic.h>
#include <uv.h>

#include "api/stats_cache.h"
#include "auth/tokenbox.h"
#include "base/buf.h"
#include "base/clock.h"
#include "bus/bus.h"
#include "config/config.h"
#include "event/event.h"
#include "eventsub/signature.h"
#include "ingest/ingest.h"
#include "store/store.h"
#include "ws/frame.h"

/* ---- the allocation counters ---- */

static atomic_int armed;      /* count and fail only while set */
static atomic_long counted;   /* allocations seen while armed */
static atomic_long fail_at;   /* the allocation that fails (1-based), 0 none */
static atomic_int persistent; /* fail every allocation from fail_at on */
static atomic_long failed;    /* allocations failed on purpose */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

static int should_fail(void)
{
    if (!atomic_load(&armed))
        return 0;
    long k = atomic_fetch_add(&counted, 1) + 1;
    long at = atomic_load(&fail_at);
    if (at && (k == at || (atomic_load(&persistent) && k > at))) {
        atomic_fetch_add(&failed, 1);
        return 1;
    }
    return 0;
}

void *__wrap_malloc(size_t n)
{
    return should_fail() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
    return should_fail() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
    return should_fail() ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
    return should_fail() ? NULL : __real_strdup(s);
}

char *__wrap_strndup(const char *s, size_t n)
{
    return should_fail() ? NULL : __real_strndup(s, n);
}

static void *json_malloc(size_t n)
{
    return __wrap_malloc(n);
}

#define ARM() atomic_store(&armed, 1)
#define DISARM() atomic_store(&armed, 0)

/* Runs scenario with the Nth allocation failing, for every N, in both modes. Returns the
 * number of allocation points the scenario has (its allocations on the success path). */
static long torture(const char *name, void (*scenario)(void *), void *ctx)
{
    json_set_alloc_funcs(json_malloc, free);
    atomic_store(&fail_at, 0);
    atomic_store(&counted, 0);
    scenario(ctx); /* the success path: how many allocations there are */
    long total = atomic_load(&counted);
    for (int mode = 0; mode < 2; mode++) {
        atomic_store(&persistent, mode);
        for (long n = 1; n <= total; n++) {
            atomic_store(&fail_at, n);
            atomic_store(&counted, 0);
            atomic_store(&failed, 0);
            scenario(ctx);
            DISARM();
        }
    }
    atomic_store(&fail_at, 0);
    fprintf(stderr, "# %s: %ld allocation points, each failed once and from there on\n", name,
            total);
    return total;
}

/* ---- scenarios ---- */

/* event decoding and encoding: every sample notification. */
struct decode_ctx {
    json_t *body; /* borrowed */
    const char *file;
};

static void scenario_decode(void *arg)
{
    struct decode_ctx *c = arg;
    struct err err = {{0}};
    struct event *ev = NULL;
    struct buf out;
    ARM();
    int rc = event_decode_notification("11111111-2222-3333-4444-555555555555", clock_wall_us(),
                                       c->body, &ev, &err);
    buf_init(&out, 0);
    if (rc == 0) {
        event_encode_json(ev, &out);
        event_worth_keeping(ev);
    }
    DISARM();
    if (rc < 0 && atomic_load(&failed) == 0) {
        fprintf(stderr, "# %s: decode failed without an injected failure: %s\n", c->file, err.msg);
        exit(1);
    }
    if (rc < 0 && (rc != EVENT_ENOMEM || !strstr(err.msg, "out of memory"))) {
        /* the webhook answers 503 (Twitch redelivers) only for EVENT_ENOMEM; other decode
         * errors are acknowledged and skipped: an allocation failure must never read as one */
        fprintf(stderr, "# %s: allocation %ld failed, but the decoder said %d \"%s\"\n",
                c->file, atomic_load(&fail_at), rc, err.msg);
        exit(1);
    }
    buf_release(&out);
    event_free(ev);
}

static void test_event_decode(void)
{
    DIR *dir = opendir("tests/data/eventsub");
    CHECK(dir != NULL);
    struct dirent *d;
    int files = 0;
    while ((d = readdir(dir))) {
        size_t n = strlen(d->d_name);
        if (n < 6 || strcmp(d->d_name + n - 5, ".json") != 0 || strstr(d->d_name, ".expected."))
            continue;
        char path[512];
        snprintf(path, sizeof path, "tests/data/eventsub/%s", d->d_name);
        json_error_t jerr;
        json_t *body = json_load_file(path, 0, &jerr);
        CHECK(body != NULL);
        struct decode_ctx c = {body, d->d_name};
        torture(d->d_name, scenario_decode, &c);
        json_decref(body);
        files++;
    }
    closedir(dir);
    CHECK(files > 10);
}

/* WebSocket frame parsing: a fragmented masked text message, a ping, a close. */
static int on_ws_message(void *arg, enum ws_opcode op, const uint8_t *data, size_t len,
                         uint16_t code)
{
    (*(int *)arg)++;
    return 0;
}

static void scenario_ws(void *arg)
{
    const struct buf *wire = arg;
    int messages = 0;
    struct ws_parser p;
    ARM();
    ws_parser_init(&p, WS_SERVER, 4096, on_ws_message, &messages);
    int rc = 0;
    for (size_t off = 0; off < wire->len && rc == 0; off += 7) /* in pieces: input is kept */
        rc = ws_parser_feed(&p, (const uint8_t *)wire->data + off,
                            wire->len - off < 7 ? wire->len - off : 7);
    ws_parser_release(&p);
    DISARM();
    CHECK(rc == 0 || rc == -1);
    if (rc == 0)
        CHECK(messages == 3);
}

static void test_ws_frames(void)
{
    static const uint8_t mask[4] = {1, 2, 3, 4};
    struct buf wire;
    buf_init(&wire, 0);
    uint8_t h[WS_MAX_HEADER];
    /* "hello " (TEXT, not FIN) + "world" (CONTINUATION, FIN) */
    const char *a = "hello ", *b = "world";
    uint8_t tmp[16];
    size_t n = ws_encode_header(h, WS_OP_TEXT, strlen(a), mask);
    h[0] &= 0x7f; /* not FIN: a first fragment */
    CHECK(buf_append(&wire, h, n) == 0);
    memcpy(tmp, a, strlen(a));
    ws_mask(tmp, strlen(a), mask, 0);
    CHECK(buf_append(&wire, tmp, strlen(a)) == 0);
    n = ws_encode_header(h, WS_OP_CONT, strlen(b), mask);
    CHECK(buf_append(&wire, h, n) == 0);
    memcpy(tmp, b, strlen(b));
    ws_mask(tmp, strlen(b), mask, 0);
    CHECK(buf_append(&wire, tmp, strlen(b)) == 0);
    CHECK(ws_encode_frame(&wire, WS_OP_PING, "p", 1, mask) == 0);
    CHECK(ws_encode_close(&wire, 1000, "bye", mask) == 0);
    torture("ws frames", scenario_ws, &wire);
    buf_release(&wire);
}

/* tokenbox: seal and open. */
static void scenario_tokenbox(void *arg)
{
    static const unsigned char key[TOKENBOX_KEY_LEN] = {7};
    struct tokenbox *box = NULL;
    unsigned char *blob = NULL;
    size_t blob_len = 0, plain_len = 0;
    char *plain = NULL;
    ARM();
    if (tokenbox_new_from_key(key, &box, NULL) == 0 &&
        tokenbox_seal(box, "owner", "the-token", 9, &blob, &blob_len) == 0 &&
        tokenbox_open(box, "owner", blob, blob_len, &plain, &plain_len) == 0)
        CHECK(plain_len == 9 && strcmp(plain, "the-token") == 0);
    tokenbox_wipe_free(plain);
    free(blob);
    tokenbox_free(box);
    DISARM();
}

static void test_tokenbox(void)
{
    torture("tokenbox", scenario_tokenbox, NULL);
}

/* config: every setting from the environment and flags. */
static void scenario_config(void *arg)
{
    char *envp[] = {"SEV_LISTEN=127.0.0.1:9999", "SEV_DATABASE=sqlite:/tmp/x.db",
                    "TWITCH_EVENTSUB_SECRET=0123456789abcdef", "SEV_STATS_CACHE_SECONDS=3", NULL};
    char *argv[] = {"sev", "--log-level", "debug", "--public-url", "https://sev.example.com", NULL};
    struct config cfg;
    struct err err = {{0}};
    ARM();
    int rc = config_parse(&cfg, 5, argv, envp, stderr, &err);
    DISARM();
    CHECK(rc == 0 || err.msg[0]);
}

static void test_config(void)
{
    torture("config", scenario_config, NULL);
}

/* signature check. */
static void scenario_signature(void *arg)
{
    char sig[72];
    ARM();
    int ok = signature_compute("secretabcd", "id", "2026-01-01T00:00:00Z", "{}", 2, sig) == 0 &&
             signature_verify("secretabcd", "id", "2026-01-01T00:00:00Z", "{}", 2, sig) == 1;
    DISARM();
    CHECK(ok);
}

static void test_signature(void)
{
    torture("signature", scenario_signature, NULL);
}

/* The store append path through ingest (decode → store → publish on the local bus), then a
 * stats answer through the stats cache: open, append, read, close. */
struct store_ctx {
    char dir[64];
    char uri[128];
    json_t *body; /* borrowed */
    int runs;
};

struct store_run {
    int appended, status, stats_done, stats_status, published;
};

static void on_bus(void *arg, const struct event *ev)
{
    ((struct store_run *)arg)->published++;
}

static void on_ingested(void *arg, int status)
{
    struct store_run *r = arg;
    r->appended = 1;
    r->status = status;
}

static void on_stats(void *arg, int status, const struct stat_list *rows)
{
    struct store_run *r = arg;
    r->stats_done = 1;
    r->stats_status = status;
    if (status == 0)
        CHECK(rows != NULL);
}

static void run_until(uv_loop_t *loop, const int *flag)
{
    int64_t deadline = clock_mono_us() + 30 * 1000000LL;
    while (!*flag) {
        CHECK(clock_mono_us() < deadline);
        uv_run(loop, UV_RUN_ONCE);
    }
}

static void scenario_store(void *arg)
{
    struct store_ctx *c = arg;
    struct store_run r = {0};
    uv_loop_t loop;
    CHECK(uv_loop_init(&loop) == 0);
    char uri[160];
    snprintf(uri, sizeof uri, "%s/%d.db", c->uri, c->runs++);
    struct err err = {{0}};
    struct store *st = NULL;
    struct bus *bus = NULL;
    struct ingest *in = NULL;
    struct stats_cache *sc = NULL;
    struct event *ev = NULL;
    ARM();
    if (store_open(&loop, uri, &st, &err) < 0) {
        CHECK(err.msg[0] != 0);
        goto out;
    }
    if (bus_open(&loop, "local", on_bus, &r, &bus, &err) < 0)
        goto out;
    in = ingest_new(st, bus);
    if (!in || ingest_retry_start(in, &loop, 10) < 0)
        goto out;
    if (event_decode_notification("aaaaaaaa-2222-3333-4444-555555555555", clock_wall_us(), c->body,
                                  &ev, &err) < 0)
        goto out;
    if (ingest_submit(in, ev, INGEST_WEBHOOK, on_ingested, &r) == 0) {
        run_until(&loop, &r.appended);
        CHECK(r.status == STORE_STORED || r.status < 0);
        CHECK(r.published == (r.status == STORE_STORED));
    }
    struct stats_cache_options o = {5, 1};
    sc = stats_cache_new(st, &o);
    if (sc && stats_cache_get(sc, STATS_TYPES, "cozystreamer", 0, on_stats, &r) == 0) {
        run_until(&loop, &r.stats_done);
        CHECK(r.stats_status <= 0);
    }
out:
    stats_cache_free(sc);
    ingest_retry_stop(in);
    store_close(st);
    uv_run(&loop, UV_RUN_DEFAULT);
    ingest_free(in);
    bus_free(bus);
    DISARM();
    CHECK(uv_loop_close(&loop) == 0);
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(p);
}

static void test_store_append(void)
{
    struct store_ctx c = {0};
    snprintf(c.dir, sizeof c.dir, "/tmp/sev-test-oom-XXXXXX");
    CHECK(mkdtemp(c.dir) != NULL);
    snprintf(c.uri, sizeof c.uri, "sqlite:%s", c.dir);
    json_error_t jerr;
    c.body = json_load_file("tests/data/eventsub/channel.chat.notification.resub.json", 0, &jerr);
    CHECK(c.body != NULL);
    torture("store append", scenario_store, &c);
    json_decref(c.body);
    nftw(c.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static const struct unit_test tests[] = {
    {"out of memory at every allocation: event decoding and encoding (every sample)",
     test_event_decode},
    {"out of memory at every allocation: WebSocket frame parsing", test_ws_frames},
    {"out of memory at every allocation: tokenbox seal and open", test_tokenbox},
    {"out of memory at every allocation: config", test_config},
    {"out of memory at every allocation: signature check", test_signature},
    {"out of memory at every allocation: ingest → store append → bus, stats cache",
     test_store_append},
    {0},
};

UNIT_MAIN(tests)
