/* store_sqlite_write.c: the writer thread and its group commit.
 *
 * store_append only queues. The writer takes everything queued (up to WRITE_BATCH_MAX) as
 * one transaction, so while one COMMIT waits for fsync the next batch gathers: the cost of
 * a durable commit is shared by every event that arrived meanwhile. Results go back to the
 * loop through one uv_async_t; callbacks run there in queue order.
 *
 * A job that fails on its own (out of memory encoding its data) fails alone; an SQLite
 * error fails the whole batch (rolled back: nothing of it is stored), because after an I/O
 * error nothing in the transaction can be trusted.
 *
 * The writer runs struct write_job (store_sqlite_int.h): each job brings its own run and
 * deliver functions. The two kinds defined here are events and streamer puts; account writes
 * are defined in store_sqlite_accounts.c and submitted through sqlite_writer_submit.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "store/store_sqlite_int.h"

/* store_append */
struct event_job {
    struct write_job base; /* first */
    struct event *ev;      /* borrowed until the callback */
    int64_t at_us;         /* received_at */
    int64_t seq;           /* result: written by the writer, read on the loop after */
    int64_t streamer_seq;  /* result likewise */
    store_append_fn cb;
    void *arg;
};

/* store_streamer_put */
struct put_job {
    struct write_job base;  /* first */
    struct streamer_info s; /* copied */
    int64_t at_us;          /* now */
    store_done_fn cb;
    void *arg;
};

enum writer_stmt {
    W_BEGIN,
    W_COMMIT,
    W_ROLLBACK,
    W_INSERT_EVENT,
    W_SEQ_BY_ID,
    W_SEQ_BY_KEY,
    W_UPSERT_STREAMER,
    W_FREE_LOGIN,
    W_PROBE,
    W_BUMP_COUNTER,
    W_COUNTER_GET,
    W_COUNT
};

static const char *const writer_sql[W_COUNT] = {
    [W_BEGIN] = "BEGIN IMMEDIATE",
    [W_COMMIT] = "COMMIT",
    [W_ROLLBACK] = "ROLLBACK",
    /* Nothing happens on a duplicate id or dedupe_key: RETURNING says which. ?13 is the
     * streamer's next number, its counter + 1 (the batch reads the counter once, W_COUNTER_GET,
     * and W_BUMP_COUNTER moves it before the COMMIT: one writer at a time, BEGIN IMMEDIATE). */
    [W_INSERT_EVENT] =
        "INSERT INTO events(id, type, dedupe_key, streamer_id, streamer_login, viewer_id,"
        " viewer_login, viewer_name, created_at_us, received_at_us, summary, data, streamer_seq)"
        " VALUES (?1, ?2, ?3, ?4, lower(?5), ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
        " ON CONFLICT DO NOTHING RETURNING seq",
    [W_SEQ_BY_ID] = "SELECT seq, streamer_seq FROM events WHERE id = ?1",
    [W_SEQ_BY_KEY] = "SELECT seq, streamer_seq FROM events WHERE dedupe_key = ?1",
    /* ?3 display name ('' or NULL keeps the one we have), ?5 last event time (NULL for a
     * put: keeps the one we have; else the later of the two). */
    [W_UPSERT_STREAMER] =
        "INSERT INTO streamers(id, login, display_name, first_seen_us, last_event_us)"
        " VALUES (?1, lower(?2), coalesce(nullif(?3, ''), lower(?2)), ?4, ?5)"
        " ON CONFLICT(id) DO UPDATE SET login = excluded.login,"
        "  display_name = CASE WHEN nullif(?3, '') IS NULL THEN streamers.display_name"
        "                 ELSE excluded.display_name END,"
        "  last_event_us = CASE WHEN excluded.last_event_us > coalesce(streamers.last_event_us, -1)"
        "                  THEN excluded.last_event_us ELSE streamers.last_event_us END",
    /* Twitch logins move between accounts (renames): the newest owner takes it. */
    [W_FREE_LOGIN] = "UPDATE streamers SET login = NULL WHERE login = lower(?1) AND id <> ?2",
    /* A write that must reach the disk, to learn whether writing works again. */
    [W_PROBE] =
        "INSERT INTO settings(key, value) VALUES ('write_probe', strftime('%Y-%m-%dT%H:%M:%fZ'))"
        " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    [W_BUMP_COUNTER] = "INSERT INTO streamer_counters(streamer_id, last_seq) VALUES (?1, ?2)"
                       " ON CONFLICT(streamer_id) DO UPDATE SET last_seq = excluded.last_seq",
    [W_COUNTER_GET] = "SELECT last_seq FROM streamer_counters WHERE streamer_id = ?1",
};

/* ---- the queue (under w->lock) ---- */

static void queue_init(struct write_queue *q)
{
    q->head = NULL;
    q->tail = &q->head;
    q->count = 0;
}

static void queue_push_list(struct write_queue *q, struct write_job *first, size_t n)
{
    struct write_job *last = first;
    while (last->next)
        last = last->next;
    *q->tail = first;
    q->tail = &last->next;
    q->count += n;
}

/* Detaches up to max jobs from the head. */
static struct write_job *queue_take(struct write_queue *q, size_t max, size_t *n)
{
    struct write_job *first = q->head, *last = first;
    size_t k = 0;
    if (!first)
        goto out;
    for (k = 1; k < max && last->next; k++)
        last = last->next;
    q->head = last->next;
    if (!q->head)
        q->tail = &q->head;
    last->next = NULL;
    q->count -= k;
out:
    *n = k;
    return first;
}

/* ---- one job, inside the transaction (writer thread) ---- */

static int bind_text(sqlite3_stmt *s, int i, const char *v)
{
    return v ? sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(s, i);
}

/* The seq and streamer_seq of the stored event with this id (or dedupe key). 0 ok, -1 SQLite
 * error. */
static int seq_lookup(struct sql_conn *c, enum writer_stmt which, const char *key,
                      struct event_job *j)
{
    sqlite3_stmt *s = sql_stmt(c, which);
    if (!s || bind_text(s, 1, key) != SQLITE_OK)
        goto fail;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        j->seq = sqlite3_column_int64(s, 0);
        j->streamer_seq = sqlite3_column_int64(s, 1);
    } else if (rc != SQLITE_DONE) {
        goto fail;
    }
    sql_done(s);
    return 0;
fail:
    sql_done(s);
    return -1;
}

/* The writer that owns c (c is its first member). */
static struct writer *conn_writer(struct sql_conn *c)
{
    return (struct writer *)((char *)c - offsetof(struct writer, conn));
}

/* Binds and runs the insert with streamer_seq next; *inserted says whether a row was added. */
static int insert_event(struct sql_conn *c, struct event_job *j, const char *data, int64_t next,
                        int *inserted)
{
    const struct event *ev = j->ev;
    sqlite3_stmt *s = sql_stmt(c, W_INSERT_EVENT);
    int rc = !s ? SQLITE_ERROR : SQLITE_OK;
    if (rc == SQLITE_OK) /* SQLITE_OK is 0: the OR of the codes is 0 only if all bound */
        rc = bind_text(s, 1, ev->id) | bind_text(s, 2, ev->type) | bind_text(s, 3, ev->dedupe_key) |
             bind_text(s, 4, ev->streamer_id) | bind_text(s, 5, ev->streamer_login) |
             bind_text(s, 6, ev->viewer_id) | bind_text(s, 7, ev->viewer_login) |
             bind_text(s, 8, ev->viewer_name) | sqlite3_bind_int64(s, 9, ev->created_at_us) |
             sqlite3_bind_int64(s, 10, j->at_us) | bind_text(s, 11, ev->summary) |
             bind_text(s, 12, data) | sqlite3_bind_int64(s, 13, next);
    *inserted = 0;
    if (rc == SQLITE_OK) {
        int step = sqlite3_step(s);
        if (step == SQLITE_ROW) { /* RETURNING: a row was added */
            *inserted = 1;
            j->seq = sqlite3_column_int64(s, 0);
            j->streamer_seq = next;
            step = sqlite3_step(s);
        }
        if (step != SQLITE_DONE)
            rc = SQLITE_ERROR;
    }
    sql_done(s);
    return rc == SQLITE_OK ? 0 : -1;
}

static int upsert_once(struct sql_conn *c, const struct streamer_info *si, int64_t first_us,
                       const int64_t *last_us)
{
    sqlite3_stmt *s = sql_stmt(c, W_UPSERT_STREAMER);
    if (!s)
        return SQLITE_ERROR;
    int rc = bind_text(s, 1, si->id) | bind_text(s, 2, si->login) |
             bind_text(s, 3, si->display_name) | sqlite3_bind_int64(s, 4, first_us) |
             (last_us ? sqlite3_bind_int64(s, 5, *last_us) : sqlite3_bind_null(s, 5));
    if (rc == SQLITE_OK)
        rc = sqlite3_step(s) == SQLITE_DONE ? SQLITE_OK : sqlite3_extended_errcode(c->db);
    sql_done(s);
    return rc;
}

/* Records a streamer; when another account holds the login, it gives it up first. */
static int upsert_streamer(struct sql_conn *c, const struct streamer_info *si, int64_t first_us,
                           const int64_t *last_us)
{
    int rc = upsert_once(c, si, first_us, last_us);
    if (rc != SQLITE_CONSTRAINT_UNIQUE && rc != SQLITE_CONSTRAINT_PRIMARYKEY)
        return rc == SQLITE_OK ? 0 : -1;
    sqlite3_stmt *s = sql_stmt(c, W_FREE_LOGIN);
    if (!s)
        return -1;
    rc = bind_text(s, 1, si->login) | bind_text(s, 2, si->id);
    if (rc == SQLITE_OK && sqlite3_step(s) != SQLITE_DONE)
        rc = SQLITE_ERROR;
    sql_done(s);
    if (rc != SQLITE_OK)
        return -1;
    return upsert_once(c, si, first_us, last_us) == SQLITE_OK ? 0 : -1;
}

/* ---- the batch's streamer run (struct write_run) ---- */

/* Writes the run's pending streamer row. */
static int run_flush_row(struct sql_conn *c, struct write_run *r)
{
    if (!r->row_pending)
        return 0;
    r->row_pending = 0;
    return upsert_streamer(c, &r->si, r->first_us, &r->last_event_us);
}

/* Writes what the run holds (row, counter) and forgets it. */
static int run_flush(struct sql_conn *c, struct write_run *r)
{
    int rc = run_flush_row(c, r);
    if (rc == 0 && r->counter_dirty) {
        sqlite3_stmt *b = sql_stmt(c, W_BUMP_COUNTER);
        if (!b || bind_text(b, 1, r->si.id) != SQLITE_OK ||
            sqlite3_bind_int64(b, 2, r->last_seq) != SQLITE_OK || sqlite3_step(b) != SQLITE_DONE)
            rc = -1;
        sql_done(b);
    }
    memset(r, 0, sizeof *r);
    return rc;
}

/* Makes ev's streamer the run's (flushing another's first), its counter read. */
static int run_enter(struct sql_conn *c, struct write_run *r, const struct event *ev)
{
    char id[sizeof r->si.id];
    utf8_copy(id, sizeof id, ev->streamer_id);
    if (r->active && ev->streamer_id && strcmp(ev->streamer_id, r->si.id) == 0)
        return 0;
    if (run_flush(c, r) < 0)
        return -1;
    /* the id as stored: an id too long for streamer_info would not compare equal above */
    if (!ev->streamer_id || strcmp(id, ev->streamer_id) != 0)
        return 1; /* not kept in a run: the caller writes this event alone */
    sqlite3_stmt *s = sql_stmt(c, W_COUNTER_GET);
    int rc = !s || bind_text(s, 1, ev->streamer_id) != SQLITE_OK ? SQLITE_ERROR : sqlite3_step(s);
    if (rc == SQLITE_ROW)
        r->last_seq = sqlite3_column_int64(s, 0);
    sql_done(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return -1;
    memcpy(r->si.id, id, sizeof id);
    r->active = 1;
    return 0;
}

/* A stored event of the run: its streamer row joins the pending upsert when the names are
 * the same, else the pending one is written first. */
static int run_stored(struct sql_conn *c, struct write_run *r, const struct event_job *j)
{
    const struct event *ev = j->ev;
    struct streamer_info si;
    memcpy(si.id, r->si.id, sizeof si.id);
    utf8_copy(si.login, sizeof si.login, ev->streamer_login);
    utf8_copy(si.display_name, sizeof si.display_name, ev->streamer_name);
    r->counter_dirty = 1;
    if (r->row_pending && strcmp(si.login, r->si.login) == 0 &&
        strcmp(si.display_name, r->si.display_name) == 0) {
        if (ev->created_at_us > r->last_event_us)
            r->last_event_us = ev->created_at_us;
        return 0;
    }
    if (run_flush_row(c, r) < 0)
        return -1;
    r->si = si;
    r->first_us = j->at_us;
    r->last_event_us = ev->created_at_us;
    r->row_pending = 1;
    return 0;
}

/* An event alone (its streamer id does not fit struct streamer_info: no run can hold it). */
static int event_alone(struct sql_conn *c, struct event_job *j, const char *data, int *inserted)
{
    const struct event *ev = j->ev;
    int64_t last = 0;
    sqlite3_stmt *s = sql_stmt(c, W_COUNTER_GET);
    int rc = !s || bind_text(s, 1, ev->streamer_id) != SQLITE_OK ? SQLITE_ERROR : sqlite3_step(s);
    if (rc == SQLITE_ROW)
        last = sqlite3_column_int64(s, 0);
    sql_done(s);
    if ((rc != SQLITE_ROW && rc != SQLITE_DONE) || insert_event(c, j, data, last + 1, inserted) < 0)
        return -1;
    if (!*inserted)
        return 0;
    sqlite3_stmt *b = sql_stmt(c, W_BUMP_COUNTER);
    rc = !b || bind_text(b, 1, ev->streamer_id) != SQLITE_OK ||
                 sqlite3_bind_int64(b, 2, j->streamer_seq) != SQLITE_OK ||
                 sqlite3_step(b) != SQLITE_DONE
             ? -1
             : 0;
    sql_done(b);
    struct streamer_info si;
    utf8_copy(si.id, sizeof si.id, ev->streamer_id);
    utf8_copy(si.login, sizeof si.login, ev->streamer_login);
    utf8_copy(si.display_name, sizeof si.display_name, ev->streamer_name);
    return rc < 0 ? -1 : upsert_streamer(c, &si, j->at_us, &ev->created_at_us);
}

static int event_run(struct sql_conn *c, struct write_job *base)
{
    struct event_job *j = (struct event_job *)base;
    struct write_run *r = &conn_writer(c)->run;
    const struct event *ev = j->ev;
    char *dumped = NULL; /* owned */
    int inserted = 0, rc = -1;
    if (ev->data && !ev->data_json &&
        !(dumped = json_dumps(ev->data, JSON_COMPACT | JSON_ENCODE_ANY))) {
        j->base.status = -1; /* this job alone: not an SQLite error */
        return 0;
    }
    const char *data = ev->data_json ? ev->data_json : dumped; /* the same text */
    int in_run = run_enter(c, r, ev);
    if (in_run < 0)
        goto free_data;
    if (in_run == 1) {
        if (event_alone(c, j, data, &inserted) < 0)
            goto free_data;
    } else {
        if (insert_event(c, j, data, r->last_seq + 1, &inserted) < 0)
            goto free_data;
        if (inserted) {
            r->last_seq = j->streamer_seq;
            if (run_stored(c, r, j) < 0)
                goto free_data;
        }
    }
    if (inserted) {
        j->base.status = STORE_STORED;
        rc = 0;
        goto free_data;
    }
    j->base.status = STORE_DUPLICATE;
    rc = seq_lookup(c, W_SEQ_BY_ID, ev->id, j);
    if (rc == 0 && j->seq == 0 && ev->dedupe_key)
        rc = seq_lookup(c, W_SEQ_BY_KEY, ev->dedupe_key, j);
free_data:
    free(dumped);
    return rc;
}

static int put_run(struct sql_conn *c, struct write_job *base)
{
    struct put_job *j = (struct put_job *)base;
    j->base.status = 0;
    return upsert_streamer(c, &j->s, j->at_us, NULL);
}

/* ---- one batch (writer thread) ---- */

static void batch_fail(struct write_job *jobs)
{
    for (struct write_job *j = jobs; j; j = j->next)
        j->status = -1; /* deliver reads no other result then */
}

/* Writes the batch in one transaction. Returns 1 when committed, 0 when it failed (every
 * job then has status -1). */
static int batch_write(struct sql_conn *c, struct write_job *jobs, size_t n)
{
    const char *step = "begin";
    struct write_run *r = &conn_writer(c)->run;
    if (sql_run(c, W_BEGIN) != SQLITE_OK)
        goto rollback;
    step = "insert";
    memset(r, 0, sizeof *r);
    for (struct write_job *j = jobs; j; j = j->next) {
        /* another kind of job may read or write the streamer rows: they are current first */
        if (!j->is_event && run_flush(c, r) < 0)
            goto rollback;
        if (j->run(c, j) < 0)
            goto rollback;
    }
    if (run_flush(c, r) < 0)
        goto rollback;
    step = "commit";
    if (sql_run(c, W_COMMIT) != SQLITE_OK)
        goto rollback;
    return 1;
rollback:
    memset(r, 0, sizeof *r);
    log_error("store.write_failed", "step=%s events=%zu err=\"%s\"", step, n,
              sqlite3_errmsg(c->db));
    if (!sqlite3_get_autocommit(c->db)) /* some errors have rolled back already */
        sql_run(c, W_ROLLBACK);
    batch_fail(jobs);
    return 0;
}

static void count_results(struct store_counters *k, const struct write_job *jobs, int committed)
{
    k->commits += committed;
    for (const struct write_job *j = jobs; j; j = j->next) {
        if (j->status < 0)
            k->failed++;
        else if (j->is_event && j->status == STORE_STORED)
            k->stored++;
        else if (j->is_event && j->status == STORE_DUPLICATE)
            k->duplicates++;
    }
}

/* Checkpoints (copying the WAL back into the database file, with its own fsync) are ours,
 * not SQLite's automatic ones inside COMMIT: the writer runs one after it has handed a batch
 * back, so no acknowledgement waits for it, preferably when nothing is queued. */
#define WAL_CHECKPOINT_IDLE_PAGES 1000
#define WAL_CHECKPOINT_BUSY_PAGES 10000

static int on_wal_commit(void *arg, sqlite3 *db, const char *name, int pages)
{
    struct writer *w = arg;
    w->wal_pages = pages;
    return SQLITE_OK;
}

static void writer_checkpoint(struct writer *w, int idle)
{
    if (w->wal_pages < (idle ? WAL_CHECKPOINT_IDLE_PAGES : WAL_CHECKPOINT_BUSY_PAGES))
        return;
    int log = 0, copied = 0;
    int rc = sqlite3_wal_checkpoint_v2(w->conn.db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
    if (rc != SQLITE_OK)
        log_warn("store.checkpoint_failed", "err=\"%s\"", sqlite3_errmsg(w->conn.db));
    else if (copied == log)
        w->wal_pages = 0; /* else readers hold old frames: try again after the next batch */
}

/* While writes fail (disk full, I/O errors, a lock held past the busy timeout), the writer
 * tries this small transaction when idle, so /healthz recovers once writing works again even
 * if nothing else is written meanwhile. 1 when it committed. */
static int writer_probe(struct sql_conn *c)
{
    if (sql_run(c, W_BEGIN) != SQLITE_OK)
        return 0;
    if (sql_run(c, W_PROBE) == SQLITE_OK && sql_run(c, W_COMMIT) == SQLITE_OK)
        return 1;
    if (!sqlite3_get_autocommit(c->db))
        sql_run(c, W_ROLLBACK);
    return 0;
}

#define WRITER_PROBE_INTERVAL_NS 1000000000ULL

static void writer_main(void *p)
{
    struct writer *w = p;
    for (;;) {
        size_t n = 0;
        uv_mutex_lock(&w->lock);
        while (!w->pending.head && !w->stopping) {
            if (!w->counters.failing) {
                uv_cond_wait(&w->wake, &w->lock);
                continue;
            }
            if (uv_cond_timedwait(&w->wake, &w->lock, WRITER_PROBE_INTERVAL_NS) == 0 ||
                w->pending.head || w->stopping)
                continue;
            uv_mutex_unlock(&w->lock);
            int ok = writer_probe(&w->conn);
            uv_mutex_lock(&w->lock);
            if (ok) {
                w->counters.failing = 0;
                log_info("store.write_recovered", "%s", "how=probe");
            }
        }
        struct write_job *batch = queue_take(&w->pending, WRITE_BATCH_MAX, &n);
        uv_mutex_unlock(&w->lock);
        if (!batch)
            return; /* stopping, and nothing left */
        int committed = batch_write(&w->conn, batch, n);
        uv_mutex_lock(&w->lock);
        count_results(&w->counters, batch, committed);
        if (committed && w->counters.failing)
            log_info("store.write_recovered", "%s", "how=commit");
        w->counters.failing = committed ? 0 : w->counters.failing + 1;
        queue_push_list(&w->done, batch, n);
        int idle = !w->pending.head;
        uv_mutex_unlock(&w->lock);
        uv_async_send(&w->async);
        writer_checkpoint(w, idle);
    }
}

/* ---- the loop side ---- */

static void event_deliver(struct write_job *base)
{
    struct event_job *j = (struct event_job *)base;
    if (j->base.status >= 0) {
        j->ev->seq = j->seq;
        j->ev->streamer_seq = j->streamer_seq;
    }
    j->cb(j->arg, j->ev, j->base.status);
    free(j);
}

static void put_deliver(struct write_job *base)
{
    struct put_job *j = (struct put_job *)base;
    j->cb(j->arg, j->base.status);
    free(j);
}

/* One job at a time: a callback may call store_close, which delivers the rest itself, and
 * the order must hold either way. */
static void deliver_done(struct writer *w)
{
    for (;;) {
        size_t n;
        uv_mutex_lock(&w->lock);
        struct write_job *j = queue_take(&w->done, 1, &n);
        uv_mutex_unlock(&w->lock);
        if (!j)
            return;
        j->deliver(j);
    }
}

static void on_async(uv_async_t *h)
{
    struct sqlite_store *ss = h->data;
    deliver_done(&ss->w);
}

static void on_async_closed(uv_handle_t *h)
{
    struct sqlite_store *ss = h->data;
    ss->async_open = 0;
    ss->maybe_free(ss);
}

int sqlite_writer_submit(struct writer *w, struct write_job *j)
{
    int rc = 0;
    uv_mutex_lock(&w->lock);
    if (w->stopping)
        rc = STORE_EINVAL;
    else if (w->pending.count >= STORE_QUEUE_MAX)
        rc = STORE_EFULL;
    else
        queue_push_list(&w->pending, j, 1);
    if (rc == 0)
        uv_cond_signal(&w->wake);
    uv_mutex_unlock(&w->lock);
    if (rc < 0)
        free(j);
    return rc;
}

int sqlite_append(struct store *st, struct event *ev, int64_t received_at_us, store_append_fn cb,
                  void *arg)
{
    struct sqlite_store *ss = (struct sqlite_store *)st;
    struct event_job *j = calloc(1, sizeof *j);
    if (!j)
        return STORE_EFULL;
    j->base.run = event_run;
    j->base.deliver = event_deliver;
    j->base.is_event = 1;
    j->ev = ev;
    j->at_us = received_at_us;
    j->cb = cb;
    j->arg = arg;
    return sqlite_writer_submit(&ss->w, &j->base);
}

int sqlite_streamer_put(struct store *st, const struct streamer_info *s, int64_t now_us,
                        store_done_fn cb, void *arg)
{
    struct sqlite_store *ss = (struct sqlite_store *)st;
    struct put_job *j = calloc(1, sizeof *j);
    if (!j)
        return STORE_EFULL;
    j->base.run = put_run;
    j->base.deliver = put_deliver;
    j->s = *s;
    j->at_us = now_us;
    j->cb = cb;
    j->arg = arg;
    return sqlite_writer_submit(&ss->w, &j->base);
}

void sqlite_counters(struct store *st, struct store_counters *out)
{
    struct sqlite_store *ss = (struct sqlite_store *)st;
    uv_mutex_lock(&ss->w.lock);
    *out = ss->w.counters;
    out->queued = ss->w.pending.count;
    uv_mutex_unlock(&ss->w.lock);
}

/* ---- start and stop ---- */

static int writer_open(struct sqlite_store *ss, struct err *err)
{
    struct writer *w = &ss->w;
    if (sql_conn_open(&w->conn, ss->path, SQLITE_OPEN_READWRITE, writer_sql, W_COUNT, err) < 0)
        return -1;
    if (sql_conn_writable(&w->conn, ss->path, err) < 0)
        goto release_conn;
    /* Index pages stay cached between batches: message ids are random UUIDs, so their
     * index is written all over; 64 MiB holds it up to about a million events (the default
     * 2 MiB made inserts ~20% slower already at 100k). */
    if (sqlite3_exec(w->conn.db, "PRAGMA cache_size = -65536", NULL, NULL, NULL) != SQLITE_OK) {
        err_set(err, "database %s: %s", ss->path, sqlite3_errmsg(w->conn.db));
        goto release_conn;
    }
    sqlite3_wal_hook(w->conn.db, on_wal_commit, w); /* replaces the automatic checkpoints */
    /* Prepare everything now: a broken statement is an error at start-up, not at the first
     * event. */
    for (size_t i = 0; i < W_COUNT; i++) {
        if (!sql_stmt(&w->conn, i)) {
            err_set(err, "database %s: %s", ss->path, sqlite3_errmsg(w->conn.db));
            goto release_conn;
        }
    }
    return 0;
release_conn:
    sql_conn_release(&w->conn);
    return -1;
}

/* Tells the thread to stop and waits: it writes everything queued before it returns. */
static void writer_join(struct writer *w)
{
    uv_mutex_lock(&w->lock);
    w->stopping = 1;
    uv_cond_signal(&w->wake);
    uv_mutex_unlock(&w->lock);
    uv_thread_join(&w->thread);
}

int sqlite_writer_start(struct sqlite_store *ss, struct err *err)
{
    struct writer *w = &ss->w;
    queue_init(&w->pending);
    queue_init(&w->done);
    if (writer_open(ss, err) < 0)
        return -1;
    if (uv_mutex_init(&w->lock) != 0) {
        err_set(err, "database %s: cannot create a mutex", ss->path);
        goto release_conn;
    }
    if (uv_cond_init(&w->wake) != 0) {
        err_set(err, "database %s: cannot create a condition variable", ss->path);
        goto destroy_mutex;
    }
    if (uv_thread_create(&w->thread, writer_main, w) != 0) {
        err_set(err, "database %s: cannot start the writer thread", ss->path);
        goto destroy_cond;
    }
    /* The thread touches the async handle only after a batch, and no batch exists before
     * store_open returns: so the handle comes second and a failure needs no loop turn. */
    if (uv_async_init(ss->base.loop, &w->async, on_async) != 0) {
        err_set(err, "database %s: cannot create the writer's wake-up handle", ss->path);
        goto stop_thread;
    }
    w->async.data = ss;
    ss->async_open = 1;
    return 0;
stop_thread:
    writer_join(w);
destroy_cond:
    uv_cond_destroy(&w->wake);
destroy_mutex:
    uv_mutex_destroy(&w->lock);
release_conn:
    sql_conn_release(&w->conn);
    return -1;
}

void sqlite_writer_stop(struct sqlite_store *ss)
{
    struct writer *w = &ss->w;
    writer_join(w);
    deliver_done(w);
    sql_conn_release(&w->conn);
    uv_close((uv_handle_t *)&w->async, on_async_closed);
}

void sqlite_writer_release(struct sqlite_store *ss)
{
    /* Here, not in stop: stop may run inside on_async, whose loop still takes the lock. */
    uv_cond_destroy(&ss->w.wake);
    uv_mutex_destroy(&ss->w.lock);
}
