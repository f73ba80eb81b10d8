/* store_sqlite_int.h: the SQLite backend's shared state. Only src/store/store_sqlite*.c (and
 * the store's unit test) include this.
 *
 *   loop thread                     writer thread                 libuv thread pool
 *   -----------                     -------------                 -----------------
 *   store_append ──▶ pending ─────▶ take ≤ WRITE_BATCH_MAX
 *     (mutex + cond)                BEGIN IMMEDIATE
 *                                   INSERT … / upsert streamer
 *                                   COMMIT (fsync: durable)
 *   on_done ◀── uv_async ◀─ done ◀─ push the batch
 *   (callbacks, queue order)
 *
 *   store_recent … ──uv_queue_work──────────────────────────────▶ a read-only connection
 *   after_work (callback) ◀──────────────────────────────────────  from the pool
 *
 *   settings, ping: the "main" connection, on the loop thread (start-up only, or cheap).
 *
 * Connections: main (loop thread), writer (writer thread only, once started), readers (one
 * per busy pool thread, kept in an idle list between jobs). All are opened NOMUTEX: SQLite
 * does no locking of its own, because each connection is used by one thread at a time.
 *
 * Lifetime: the struct outlives store_close until the writer's async handle is closed and
 * every submitted read has called back (reads_inflight): ss->maybe_free decides.
 *
 * Files, lowest first (each calls only those before it; upward only through a pointer):
 *   store_sqlite_conn.c      connections and statements
 *   store_sqlite_schema.c    migrations
 *   store_sqlite_write.c     the writer thread: runs write jobs, knows no job kind but its own
 *                            (events, streamer puts); others bring their run function
 *   store_sqlite_read.c      the read pool and the event/stats reads
 *   store_sqlite_accounts.c  account reads (pool) and writes (jobs for the writer)
 *   store_sqlite.c           open, close, settings, ping; the backend table
 */
#ifndef SEV_STORE_SQLITE_INT_H
#define SEV_STORE_SQLITE_INT_H

#include <sqlite3.h>

#include "store/store_int.h"

/* The most jobs one write transaction takes. */
#define WRITE_BATCH_MAX 2000
/* How long a connection waits for another's lock before SQLITE_BUSY. */
#define SQL_BUSY_TIMEOUT_MS 5000

/* One connection and its prepared statements, prepared on first use and kept. */
struct sql_conn {
    sqlite3 *db;            /* owned */
    sqlite3_stmt **stmt;    /* owned array of count, entries NULL until first use */
    const char *const *sql; /* borrowed: a static table of count statements */
    size_t count;
    struct sql_conn *next; /* the read pool's idle list */
};

/* store_sqlite_conn.c */

/* Opens path (flags: SQLITE_OPEN_*; NOMUTEX is added) with a busy timeout. */
int sql_conn_open(struct sql_conn *c, const char *path, int flags, const char *const *sql,
                  size_t count, struct err *err);
void sql_conn_release(struct sql_conn *c);
/* The i-th statement (ready: the last user called sql_done), or NULL (message in
 * sqlite3_errmsg(c->db)). */
sqlite3_stmt *sql_stmt(struct sql_conn *c, size_t i);
/* Resets a statement and clears its bindings (NULL is fine). Every use of a statement ends
 * with this: a statement left mid-step keeps its read transaction open. */
void sql_done(sqlite3_stmt *s);
/* Steps a statement with no result rows (BEGIN, COMMIT…); resets it. SQLite result code. */
int sql_run(struct sql_conn *c, size_t i);
/* For a read-write connection: refuses a read-only file, sets WAL and synchronous=FULL. */
int sql_conn_writable(struct sql_conn *c, const char *path, struct err *err);

/* A job for the writer thread. Each kind embeds this first (allocated with malloc: the writer
 * frees a refused job with free) and brings its own run and deliver functions, so the writer
 * calls no kind by name. */
struct write_job;
/* Writer thread, inside the batch's transaction: sets j->status (< 0: this job failed
 * alone). Returns -1 for an SQLite error, which rolls the whole batch back, else 0. */
typedef int (*write_run_fn)(struct sql_conn *c, struct write_job *j);
/* Loop thread, after the batch, in queue order: j->status is -1 when the batch failed.
 * Hands the result on and frees j. */
typedef void (*write_deliver_fn)(struct write_job *j);

struct write_job {
    struct write_job *next; /* queue link */
    write_run_fn run;
    write_deliver_fn deliver;
    int status;   /* result: written by the writer, read on the loop after */
    int is_event; /* counted in stored / duplicates */
};

struct write_queue {
    struct write_job *head;  /* owned list */
    struct write_job **tail; /* &last->next, or &head */
    size_t count;
};

/* Writer thread, within one batch's transaction: the streamer of the run of events being
 * written. Its counter is read once and written once per run (not per event), and its row
 * upserted once per run of equal names (last_event_us the latest of the run): the same rows
 * at COMMIT as one upsert and one bump per event. Flushed when the streamer or its names
 * change, before any job that is not an event, and before the COMMIT. */
struct write_run {
    int active;              /* a streamer is loaded: counter read */
    int counter_dirty;       /* last_seq moved: to be written */
    int row_pending;         /* si, first_us, last_event_us: an upsert to be written */
    int64_t last_seq;        /* the streamer's counter as the run has moved it */
    struct streamer_info si; /* as the run's events name it (utf8_copy'd) */
    int64_t first_us;        /* received_at of the run's first stored event */
    int64_t last_event_us;   /* the latest created_at of the run */
};

struct writer {
    struct sql_conn conn; /* first; writer thread only once started */
    struct write_run run; /* writer thread: the current batch's streamer run */
    uv_thread_t thread;
    uv_mutex_t lock; /* guards pending, done, stopping, counters */
    uv_cond_t wake;  /* pending got a job, or stopping */
    struct write_queue pending;
    struct write_queue done; /* written, waiting for the loop */
    int stopping;
    struct store_counters counters;
    int wal_pages;    /* writer thread: WAL size after the last commit */
    uv_async_t async; /* loop thread: done is not empty */
};

struct read_pool {
    uv_mutex_t lock;       /* guards idle */
    struct sql_conn *idle; /* owned list */
    const char *path;      /* borrowed from the store */
};

struct sqlite_store {
    struct store base; /* first: the public handle */
    char *path;        /* owned */
    struct sql_conn main;
    struct writer w;
    struct read_pool pool;
    unsigned reads_inflight; /* loop thread */
    /* Set by store_sqlite.c at open; called (loop thread) when a read has called back or the
     * writer's handle has closed: frees the store once closed and nothing is left. */
    void (*maybe_free)(struct sqlite_store *ss);
    int closed;              /* loop thread: store_close has run */
    int async_open;          /* loop thread: w.async not yet closed */
};

/* store_sqlite_schema.c */
int sqlite_schema_latest(void);
int sqlite_migrate(sqlite3 *db, const char *path, struct err *err);

/* store_sqlite_write.c */
int sqlite_writer_start(struct sqlite_store *ss, struct err *err);
/* Queues j (the writer owns it from here; a refused job is freed, not delivered). 0,
 * STORE_EINVAL (stopping) or STORE_EFULL. */
int sqlite_writer_submit(struct writer *w, struct write_job *j);
/* Drains (callbacks run here), joins, closes the connection and the async handle (then
 * ss->maybe_free). */
void sqlite_writer_stop(struct sqlite_store *ss);
/* After stop, once the async handle is closed: frees the rest. */
void sqlite_writer_release(struct sqlite_store *ss);
int sqlite_append(struct store *st, struct event *ev, int64_t received_at_us, store_append_fn cb,
                  void *arg);
int sqlite_streamer_put(struct store *st, const struct streamer_info *s, int64_t now_us,
                        store_done_fn cb, void *arg);
void sqlite_counters(struct store *st, struct store_counters *out);

/* store_sqlite_read.c */
int sqlite_pool_init(struct read_pool *p, const char *path, struct err *err);
/* Closes the idle connections (busy ones come back and stay open until release). */
void sqlite_pool_close_idle(struct read_pool *p);
void sqlite_pool_release(struct read_pool *p);
int sqlite_read(struct store *st, const struct store_read *req);
/* A read-only connection for one job on a pool thread (NULL on failure, logged), and back. */
struct sql_conn *sqlite_pool_take(struct read_pool *p);
void sqlite_pool_give(struct read_pool *p, struct sql_conn *c);

/* store_sqlite_accounts.c: account operations. Writes are write jobs for the writer, run
 * inside its batch transaction (in a savepoint); reads run on the pool. */
int sqlite_account(struct store *st, struct store_acct_op *op);

/* The SQL of a read query by name ("recent", "since", "streamer", "stats_streamers",
 * "stats_types", "stats_hourly", "seq_of"), or NULL: for tests that check query plans. */
const char *store_sqlite_query(const char *name);

#endif
