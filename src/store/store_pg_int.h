/* store_pg_int.h: the PostgreSQL backend's shared state. Only src/store/store_pg*.c (and the
 * store's unit test) include this.
 *
 * No threads: two libpq connections in non-blocking pipeline mode, their sockets watched by
 * uv_poll on the loop. A "unit" is one implicit transaction: the queries it sends followed by
 * one Sync, whose result (PGRES_PIPELINE_SYNC) arrives after the COMMIT is durable.
 *
 *   store_append ──▶ jobs ──(defer "kick": ≤ PG_BATCH_MAX jobs)────▶ one batch unit
 *                                                                   │ lock counters
 *   writer conn:  pending units ─send─▶ in flight (FIFO) ──results──▶ │ insert keys+events
 *                 (account writes,                                  │ streamers
 *                  streamer puts)                                   │ results, Sync
 *   reader conn:  read units (store_recent, stats, account reads)   ▼
 *                                                    done(unit, 0 | -1) on the loop
 *
 * Connection states: DOWN ──retry timer──▶ CONNECTING (PQconnectPoll) ──▶ READY (pipeline,
 * statements prepared) ──error──▶ DOWN: every unit in flight or pending fails (-1) and the
 * timer tries again every PG_RETRY_MS. While DOWN, new work fails at the next loop turn.
 *
 * Start-up work (store_open: migrations, partitions; settings) uses short blocking
 * connections, as store.h allows.
 *
 * Files, lowest first (each calls only those before it; upward only through a pointer):
 * store_pg_sql.c (libpq helpers), store_pg_schema.c, store_pg_conn.c (connections, units,
 * the kick), store_pg_write.c (append batches), store_pg_read.c (reads, accounts),
 * store_pg.c (open, close, settings, ping, on_kick; the backend table).
 */
#ifndef SEV_STORE_PG_INT_H
#define SEV_STORE_PG_INT_H

#include <libpq-fe.h>

#include "base/defer.h"
#include "store/store_int.h"

/* The most events one batch (one transaction) takes, and batches in flight at once: one, so
 * that everything arriving while a batch commits forms the next one (closed-loop webhooks:
 * twice the events/s of two in flight, whose batches were half the size). */
#define PG_BATCH_MAX 2000
#define PG_WRITER_INFLIGHT 1
/* How often a lost connection is retried, and how long one attempt may take. */
#define PG_RETRY_MS 1000
#define PG_CONNECT_TIMEOUT_MS 5000
/* A write transaction not answered within this is taken as a lost server (a stopped
 * process, a partition: TCP alone may not say so for minutes): the connection is reset and
 * its writes fail (answered 503, so Twitch retries; dedupe covers one that did commit). */
#define PG_WRITE_STALL_MS 10000
#define PG_READ_STALL_MS 60000

struct pg_conn;
struct pg_unit;

/* Sends the unit's queries (not the Sync). 0, or -1 when libpq refused (the connection is
 * then considered broken). */
typedef int (*pg_send_fn)(struct pg_unit *u, PGconn *c);
/* One successful result (TUPLES_OK or COMMAND_OK) of query number index. */
typedef void (*pg_result_fn)(struct pg_unit *u, int index, const PGresult *r);
/* The unit is over: status 0 (committed) or -1. Owns u: frees it. */
typedef void (*pg_done_fn)(struct pg_unit *u, int status);

struct pg_unit {
    struct pg_unit *next;
    pg_send_fn send;
    pg_result_fn result; /* may be NULL */
    pg_done_fn done;
    int nres;         /* results seen */
    int failed;       /* an error result was seen */
    uint64_t sent_ms; /* uv_now when sent */
};

struct pg_unit_queue {
    struct pg_unit *head; /* owned list */
    struct pg_unit **tail;
    size_t count;
};

enum pg_state { PG_DOWN, PG_CONNECTING, PG_READY };

/* A statement prepared on every (re)connection. */
struct pg_stmt {
    const char *name;
    const char *sql;
};

struct pg_store;

struct pg_conn {
    struct pg_store *ps; /* borrowed: the owner */
    const char *role;    /* "writer" or "reader", for the log */
    PGconn *c;           /* owned, or NULL while DOWN */
    enum pg_state state;
    uv_poll_t *poll; /* owned (closed asynchronously), or NULL */
    int poll_fd;
    int poll_events;
    uv_timer_t timer;            /* retry while DOWN, connect deadline while CONNECTING */
    const struct pg_stmt *stmts; /* borrowed: static table */
    size_t nstmts;
    const char *setup_sql; /* borrowed: run once per connection after the statements, or NULL */
    struct pg_unit_queue pending;  /* not sent yet */
    struct pg_unit_queue inflight; /* sent, FIFO */
    struct pg_unit_queue finished; /* answered during store_close: called back later */
    int defer_done;                /* store_close: finished units wait for the kick */
    size_t max_inflight;           /* 0: no limit */
    unsigned stall_ms;             /* 0: no watchdog; else the oldest unit's deadline */
    int was_up;                    /* for logging transitions once */
};

struct pg_job; /* an append waiting for a batch (store_pg_write.c) */

struct pg_job_queue {
    struct pg_job *head; /* owned list */
    struct pg_job **tail;
    size_t count;
};

struct pg_store {
    struct store base; /* first: the public handle */
    char *uri;         /* owned; holds the password: never logged */
    char where[160];   /* "host:port/db" for messages */
    struct pg_conn writer, reader;
    struct defer kick; /* runs queued work (store_pg.c's on_kick, set at open) on a later turn */
    uv_timer_t upkeep; /* partitions ahead, hourly */
    struct pg_job_queue jobs;
    struct store_counters counters;
    int closed;
    int handles; /* open uv handles (timers, idle, polls) */
};

/* store_pg_conn.c */
void pg_conn_init(struct pg_store *ps, struct pg_conn *pc, const char *role,
                  const struct pg_stmt *stmts, size_t nstmts, const char *setup_sql,
                  size_t max_inflight);
void pg_conn_start(struct pg_conn *pc);
/* libpq notice processor: logs server WARNINGs, drops the rest. */
void pg_notice(void *arg, const char *message);
/* pc->c has just connected (CONNECTION_OK): pipeline mode, statements, READY. */
void pg_conn_connected(struct pg_conn *pc);
/* Queues u (sent at the next kick). */
void pg_conn_submit(struct pg_conn *pc, struct pg_unit *u);
/* Sends pending units while the in-flight limit allows; fails them when not READY. */
void pg_conn_flush(struct pg_conn *pc);
int pg_conn_can_send(const struct pg_conn *pc);
/* Sends u now (the connection is READY). */
void pg_conn_send(struct pg_conn *pc, struct pg_unit *u);
/* store_close: drains the writer blocking, fails the rest, closes handles. */
void pg_conn_drain(struct pg_conn *pc);
void pg_conn_stop(struct pg_conn *pc);
/* Runs on_kick (store_pg.c) on a later turn, once however often it is called. */
void pg_store_kick(struct pg_store *ps);
void pg_store_handle_closed(uv_handle_t *h);
void pg_unit_queue_init(struct pg_unit_queue *q);

/* store_pg_write.c */
int pg_append(struct store *st, struct event *ev, int64_t received_at_us, store_append_fn cb,
              void *arg);
int pg_streamer_put(struct store *st, const struct streamer_info *s, int64_t now_us,
                    store_done_fn cb, void *arg);
/* Turns queued jobs into batch units while the writer can take them (or fails them). */
void pg_jobs_flush(struct pg_store *ps);
extern const struct pg_stmt pg_writer_stmts[];
extern const size_t pg_writer_nstmts;
extern const char pg_writer_setup[];

/* store_pg_read.c */
int pg_read(struct store *st, const struct store_read *req);
int pg_account(struct store *st, struct store_acct_op *op);
extern const struct pg_stmt pg_reader_stmts[];
extern const size_t pg_reader_nstmts;

/* store_pg_schema.c */
int pg_migrate(PGconn *c, const char *where, struct err *err);
int pg_schema_latest(void);
/* The SQL that creates this month's and the next months' partitions (idempotent). */
extern const char pg_partitions_sql[];

/* store_pg_sql.c: helpers (they call nothing else of the store). A PostgreSQL array literal of strings ({"a",NULL,...}), built
 * into a growing buffer. */
struct pg_array {
    char *buf; /* owned */
    size_t len, cap;
    int n;
    int oom;
};
void pg_array_begin(struct pg_array *a);
void pg_array_text(struct pg_array *a, const char *s); /* NULL: SQL NULL */
void pg_array_int(struct pg_array *a, int64_t v);
const char *pg_array_end(struct pg_array *a); /* NULL when out of memory */
void pg_array_release(struct pg_array *a);
int64_t pg_int(const PGresult *r, int row, int col);
/* A copy of a text value, NULL for SQL NULL; *bad = 1 when out of memory. */
char *pg_dup(const PGresult *r, int row, int col, int *bad);

#endif
