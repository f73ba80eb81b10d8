/* store_sqlite_read.c: reads on libuv's thread pool.
 *
 * Each read is one uv_work_t: the work function borrows a read-only connection from the
 * pool (opening one if none is idle, so there are at most as many as pool threads), runs
 * its query into plain C values (struct event, stat rows) and gives the connection back;
 * the after-work function, on the loop, hands the values to the caller's callback.
 *
 * Every query is index-backed (the unit test checks the plans): see docs/storage.md.
 */
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "store/store_sqlite_int.h"

enum read_query {
    Q_SEQ_OF,
    Q_RECENT,
    Q_SINCE,
    Q_STREAMER,
    Q_STATS_STREAMERS,
    Q_STATS_TYPES,
    Q_STATS_HOURLY,
    Q_COUNT
};

#define EVENT_COLUMNS                                                                              \
    "e.seq, e.streamer_seq, e.id, e.type, e.dedupe_key, e.streamer_id, e.streamer_login, "         \
    "s.display_name,"                                                                              \
    " e.viewer_id, e.viewer_login, e.viewer_name, e.created_at_us, e.summary, e.data"
enum event_column {
    C_SEQ,
    C_STREAMER_SEQ,
    C_ID,
    C_TYPE,
    C_DEDUPE_KEY,
    C_STREAMER_ID,
    C_STREAMER_LOGIN,
    C_STREAMER_NAME,
    C_VIEWER_ID,
    C_VIEWER_LOGIN,
    C_VIEWER_NAME,
    C_CREATED_AT,
    C_SUMMARY,
    C_DATA
};

#define HOUR_US INT64_C(3600000000)

static const char *const query_names[Q_COUNT] = {
    [Q_SEQ_OF] = "seq_of",
    [Q_RECENT] = "recent",
    [Q_SINCE] = "since",
    [Q_STREAMER] = "streamer",
    [Q_STATS_STREAMERS] = "stats_streamers",
    [Q_STATS_TYPES] = "stats_types",
    [Q_STATS_HOURLY] = "stats_hourly",
};

static const char *const read_sql[Q_COUNT] = {
    /* ?1 id, ?2 login: an id of another streamer's event is unknown here */
    [Q_SEQ_OF] = "SELECT e.streamer_seq FROM events e JOIN streamers s ON s.id = e.streamer_id"
                 " WHERE e.id = ?1 AND s.login = lower(?2)",
    /* ?1 login, ?2 streamer_seq bound, ?3 limit: the streamer's own order */
    [Q_RECENT] = "SELECT " EVENT_COLUMNS " FROM streamers s JOIN events e ON e.streamer_id = s.id"
                 " WHERE s.login = lower(?1) AND e.streamer_seq < ?2"
                 " ORDER BY e.streamer_seq DESC LIMIT ?3",
    [Q_SINCE] =
        "SELECT " EVENT_COLUMNS " FROM streamers s JOIN events e ON e.streamer_id = s.id"
        " WHERE s.login = lower(?1) AND e.streamer_seq > ?2 ORDER BY e.streamer_seq LIMIT ?3",
    [Q_STREAMER] = "SELECT id, login, display_name FROM streamers WHERE login = lower(?1)",
    [Q_STATS_STREAMERS] = "SELECT coalesce(s.login, s.id) AS streamer, coalesce(c.n, 0) AS events"
                          " FROM streamers s LEFT JOIN"
                          "  (SELECT streamer_id, count(*) AS n FROM events GROUP BY streamer_id) c"
                          "  ON c.streamer_id = s.id"
                          " ORDER BY events DESC, streamer",
    [Q_STATS_TYPES] = "SELECT type, count(*) AS events FROM events"
                      " WHERE streamer_id = (SELECT id FROM streamers WHERE login = lower(?1))"
                      " GROUP BY type ORDER BY events DESC, type",
    /* ?2, ?3: the first hour's start and the end of the last hour, in µs */
    [Q_STATS_HOURLY] = "SELECT created_at_us / 3600000000 AS hour, count(*) AS events FROM events"
                       " WHERE streamer_id = (SELECT id FROM streamers WHERE login = lower(?1))"
                       "  AND created_at_us >= ?2 AND created_at_us < ?3 GROUP BY hour",
};

const char *store_sqlite_query(const char *name)
{
    for (size_t i = 0; i < Q_COUNT; i++)
        if (strcmp(query_names[i], name) == 0)
            return read_sql[i];
    return NULL;
}

struct read_job {
    uv_work_t work;
    struct sqlite_store *ss;      /* borrowed: counted in ss->reads_inflight */
    struct store_read req;        /* login and ref_id point at the copies below */
    char *login;                  /* owned */
    char *ref_id;                 /* owned, or NULL */
    int status;                   /* 0, 1 (not found), -1 */
    enum read_query failed_query; /* for the log, when status < 0 */
    struct event_list *events;    /* owned until delivered */
    struct stat_list *stats;      /* owned until delivered */
    struct streamer_info streamer;
};

/* ---- the pool of read-only connections ---- */

int sqlite_pool_init(struct read_pool *p, const char *path, struct err *err)
{
    p->idle = NULL;
    p->path = path;
    if (uv_mutex_init(&p->lock) != 0)
        return err_set(err, "database %s: cannot create a mutex", path);
    return 0;
}

void sqlite_pool_close_idle(struct read_pool *p)
{
    uv_mutex_lock(&p->lock);
    struct sql_conn *c = p->idle;
    p->idle = NULL;
    uv_mutex_unlock(&p->lock);
    while (c) {
        struct sql_conn *next = c->next;
        sql_conn_release(c);
        free(c);
        c = next;
    }
}

void sqlite_pool_release(struct read_pool *p)
{
    sqlite_pool_close_idle(p);
    uv_mutex_destroy(&p->lock);
}

/* An idle connection, or a new one. NULL on failure (logged: no caller sees the cause). */
struct sql_conn *sqlite_pool_take(struct read_pool *p)
{
    uv_mutex_lock(&p->lock);
    struct sql_conn *c = p->idle;
    if (c)
        p->idle = c->next;
    uv_mutex_unlock(&p->lock);
    if (c)
        return c;
    struct err err;
    if (!(c = malloc(sizeof *c))) {
        log_error("store.read_failed", "err=\"out of memory\"");
        return NULL;
    }
    if (sql_conn_open(c, p->path, SQLITE_OPEN_READONLY, read_sql, Q_COUNT, &err) < 0) {
        log_error("store.read_failed", "err=\"%s\"", err.msg);
        free(c);
        return NULL;
    }
    return c;
}

void sqlite_pool_give(struct read_pool *p, struct sql_conn *c)
{
    uv_mutex_lock(&p->lock);
    c->next = p->idle;
    p->idle = c;
    uv_mutex_unlock(&p->lock);
}

/* ---- rows to values ---- */

/* A copy of a text column; NULL for SQL NULL. Sets *bad when out of memory. */
static char *col_dup(sqlite3_stmt *s, int i, int *bad)
{
    const unsigned char *v = sqlite3_column_text(s, i);
    if (!v)
        return NULL;
    char *copy = strdup((const char *)v);
    if (!copy)
        *bad = 1;
    return copy;
}

static json_t *col_json(sqlite3_stmt *s, int i, int *bad)
{
    const char *v = (const char *)sqlite3_column_text(s, i);
    if (!v)
        return NULL;
    json_t *j = json_loadb(v, (size_t)sqlite3_column_bytes(s, i), JSON_DECODE_ANY, NULL);
    if (!j)
        *bad = 1; /* we wrote it: only out of memory or a damaged file gets here */
    return j;
}

static struct event *event_from_row(sqlite3_stmt *s)
{
    struct event *ev = calloc(1, sizeof *ev);
    if (!ev)
        return NULL;
    int bad = 0;
    ev->seq = sqlite3_column_int64(s, C_SEQ);
    ev->streamer_seq = sqlite3_column_int64(s, C_STREAMER_SEQ);
    ev->id = col_dup(s, C_ID, &bad);
    ev->type = col_dup(s, C_TYPE, &bad);
    ev->dedupe_key = col_dup(s, C_DEDUPE_KEY, &bad);
    ev->streamer_id = col_dup(s, C_STREAMER_ID, &bad);
    ev->streamer_login = col_dup(s, C_STREAMER_LOGIN, &bad);
    ev->streamer_name = col_dup(s, C_STREAMER_NAME, &bad);
    ev->viewer_id = col_dup(s, C_VIEWER_ID, &bad);
    ev->viewer_login = col_dup(s, C_VIEWER_LOGIN, &bad);
    ev->viewer_name = col_dup(s, C_VIEWER_NAME, &bad);
    ev->created_at_us = sqlite3_column_int64(s, C_CREATED_AT);
    ev->summary = col_dup(s, C_SUMMARY, &bad);
    ev->data = col_json(s, C_DATA, &bad);
    if (bad) {
        event_free(ev);
        return NULL;
    }
    return ev;
}

static int events_push(struct event_list *l, size_t *cap, struct event *ev)
{
    if (l->count == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        struct event **items = realloc(l->items, ncap * sizeof *items);
        if (!items)
            return -1;
        l->items = items;
        *cap = ncap;
    }
    l->items[l->count++] = ev;
    return 0;
}

/* Steps s to the end, every row an event. */
static int collect_events(sqlite3_stmt *s, struct event_list **out)
{
    struct event_list *l = calloc(1, sizeof *l);
    size_t cap = 0;
    int rc;
    if (!l)
        return -1;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct event *ev = event_from_row(s);
        if (!ev)
            goto free_list;
        if (events_push(l, &cap, ev) < 0) {
            event_free(ev);
            goto free_list;
        }
    }
    if (rc != SQLITE_DONE)
        goto free_list;
    *out = l;
    return 0;
free_list:
    event_list_free(l);
    return -1;
}

/* Steps s to the end, every row (text key, integer count). */
static int collect_stats(sqlite3_stmt *s, struct stat_list **out)
{
    struct stat_list *l = calloc(1, sizeof *l);
    size_t cap = 0;
    int rc;
    if (!l)
        return -1;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        if (stats_push(l, &cap, (const char *)sqlite3_column_text(s, 0),
                       sqlite3_column_int64(s, 1)) < 0)
            goto free_list;
    if (rc != SQLITE_DONE)
        goto free_list;
    *out = l;
    return 0;
free_list:
    stat_list_free(l);
    return -1;
}

/* ---- the queries (pool thread); each returns the job's status ---- */

static sqlite3_stmt *job_stmt(struct sql_conn *c, struct read_job *j, enum read_query q)
{
    j->failed_query = q;
    return sql_stmt(c, q);
}

/* The seq of the event named by ref_id into *seq (left alone without one): 0, 1 unknown id,
 * -1 error. */
static int ref_seq(struct sql_conn *c, struct read_job *j, int64_t *seq)
{
    if (!j->ref_id)
        return 0;
    sqlite3_stmt *s = job_stmt(c, j, Q_SEQ_OF);
    if (!s || sqlite3_bind_text(s, 1, j->ref_id, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text(s, 2, j->login, -1, SQLITE_STATIC) != SQLITE_OK)
        goto fail;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *seq = sqlite3_column_int64(s, 0);
    else if (rc != SQLITE_DONE)
        goto fail;
    sql_done(s);
    return rc == SQLITE_ROW ? 0 : 1;
fail:
    sql_done(s);
    return -1;
}

static int query_events(struct sql_conn *c, struct read_job *j, enum read_query q, int64_t bound)
{
    sqlite3_stmt *s = job_stmt(c, j, q);
    int rc = -1;
    if (s && sqlite3_bind_text(s, 1, j->login, -1, SQLITE_STATIC) == SQLITE_OK &&
        sqlite3_bind_int64(s, 2, bound) == SQLITE_OK &&
        sqlite3_bind_int(s, 3, j->req.limit) == SQLITE_OK)
        rc = collect_events(s, &j->events);
    sql_done(s);
    return rc;
}

static int run_recent(struct sql_conn *c, struct read_job *j)
{
    int64_t bound = INT64_MAX; /* seq < bound */
    int rc = ref_seq(c, j, &bound);
    return rc ? rc : query_events(c, j, Q_RECENT, bound);
}

static int run_since(struct sql_conn *c, struct read_job *j)
{
    int64_t bound = 0; /* seq > bound; seqs start at 1 */
    int rc = ref_seq(c, j, &bound);
    return rc ? rc : query_events(c, j, Q_SINCE, bound);
}

static int run_streamer(struct sql_conn *c, struct read_job *j)
{
    sqlite3_stmt *s = job_stmt(c, j, Q_STREAMER);
    int rc = -1;
    if (!s || sqlite3_bind_text(s, 1, j->login, -1, SQLITE_STATIC) != SQLITE_OK)
        goto done;
    int step = sqlite3_step(s);
    if (step == SQLITE_ROW) {
        struct streamer_info *si = &j->streamer;
        utf8_copy(si->id, sizeof si->id, (const char *)sqlite3_column_text(s, 0));
        utf8_copy(si->login, sizeof si->login, (const char *)sqlite3_column_text(s, 1));
        utf8_copy(si->display_name, sizeof si->display_name,
                  (const char *)sqlite3_column_text(s, 2));
        rc = 0;
    } else if (step == SQLITE_DONE) {
        rc = 1;
    }
done:
    sql_done(s);
    return rc;
}

static int run_stats_streamers(struct sql_conn *c, struct read_job *j)
{
    sqlite3_stmt *s = job_stmt(c, j, Q_STATS_STREAMERS);
    int rc = s ? collect_stats(s, &j->stats) : -1;
    sql_done(s);
    return rc;
}

static int run_stats_types(struct sql_conn *c, struct read_job *j)
{
    sqlite3_stmt *s = job_stmt(c, j, Q_STATS_TYPES);
    int rc = -1;
    if (s && sqlite3_bind_text(s, 1, j->login, -1, SQLITE_STATIC) == SQLITE_OK)
        rc = collect_stats(s, &j->stats);
    sql_done(s);
    return rc;
}

static int run_stats_hourly(struct sql_conn *c, struct read_job *j)
{
    int hours = j->req.limit;
    int64_t first = j->req.now_us / HOUR_US - (hours - 1); /* the current hour is the last */
    sqlite3_stmt *s = job_stmt(c, j, Q_STATS_HOURLY);
    int rc = -1, step;
    if (!s || !(j->stats = stats_hours_new(first, hours)))
        goto done;
    if (sqlite3_bind_text(s, 1, j->login, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_int64(s, 2, first * HOUR_US) != SQLITE_OK ||
        sqlite3_bind_int64(s, 3, (first + hours) * HOUR_US) != SQLITE_OK)
        goto done;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t i = sqlite3_column_int64(s, 0) - first;
        if (i >= 0 && i < hours)
            j->stats->rows[i].count = sqlite3_column_int64(s, 1);
    }
    rc = step == SQLITE_DONE ? 0 : -1;
done:
    sql_done(s);
    return rc;
}

/* ---- delivery (loop thread) ---- */

static void deliver_events(struct read_job *j)
{
    struct event_list *l = j->status == 0 ? j->events : NULL;
    if (l)
        j->events = NULL; /* the callback steals it */
    j->req.cb.events(j->req.arg, j->status, l);
}

static void deliver_stats(struct read_job *j)
{
    struct stat_list *l = j->status == 0 ? j->stats : NULL;
    if (l)
        j->stats = NULL;
    j->req.cb.stats(j->req.arg, j->status, l);
}

static void deliver_streamer(struct read_job *j)
{
    j->req.cb.streamer(j->req.arg, j->status, j->status == 0 ? &j->streamer : NULL);
}

/* The registry of reads: how each runs, and how its result is handed over. */
static const struct read_op {
    int (*run)(struct sql_conn *c, struct read_job *j);
    void (*deliver)(struct read_job *j);
} read_ops[STORE_READ_KINDS] = {
    [STORE_READ_RECENT] = {run_recent, deliver_events},
    [STORE_READ_SINCE] = {run_since, deliver_events},
    [STORE_READ_STREAMER] = {run_streamer, deliver_streamer},
    [STORE_READ_STATS_STREAMERS] = {run_stats_streamers, deliver_stats},
    [STORE_READ_STATS_TYPES] = {run_stats_types, deliver_stats},
    [STORE_READ_STATS_HOURLY] = {run_stats_hourly, deliver_stats},
};

/* ---- the job ---- */

static void job_free(struct read_job *j)
{
    event_list_free(j->events);
    stat_list_free(j->stats);
    free(j->login);
    free(j->ref_id);
    free(j);
}

static void read_work(uv_work_t *w)
{
    struct read_job *j = w->data;
    struct sql_conn *c = sqlite_pool_take(&j->ss->pool);
    if (!c) {
        j->status = -1;
        return;
    }
    j->status = read_ops[j->req.kind].run(c, j);
    if (j->status < 0) /* SQLite's message, or ours when SQLite had no error (memory) */
        log_error("store.read_failed", "query=%s err=\"%s\"", query_names[j->failed_query],
                  sqlite3_errcode(c->db) != SQLITE_OK ? sqlite3_errmsg(c->db) : "out of memory");
    sqlite_pool_give(&j->ss->pool, c);
}

static void read_after(uv_work_t *w, int status)
{
    struct read_job *j = w->data;
    struct sqlite_store *ss = j->ss;
    if (status == UV_ECANCELED)
        j->status = -1;
    read_ops[j->req.kind].deliver(j);
    job_free(j);
    /* Only now: the callback may have called store_close, which must not free ss yet. */
    ss->reads_inflight--;
    ss->maybe_free(ss);
}

int sqlite_read(struct store *st, const struct store_read *req)
{
    struct sqlite_store *ss = (struct sqlite_store *)st;
    if (ss->closed)
        return -1;
    struct read_job *j = calloc(1, sizeof *j);
    if (!j)
        return -1;
    j->ss = ss;
    j->req = *req;
    j->work.data = j;
    j->login = strdup(req->login);
    if (!j->login || (req->ref_id && !(j->ref_id = strdup(req->ref_id))))
        goto free_job;
    j->req.login = j->login;
    j->req.ref_id = j->ref_id;
    if (uv_queue_work(st->loop, &j->work, read_work, read_after) != 0)
        goto free_job;
    ss->reads_inflight++;
    return 0;
free_job:
    job_free(j);
    return -1;
}
