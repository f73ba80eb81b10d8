/* store_pg_conn.c: one libpq connection on the loop — non-blocking connect, pipeline mode,
 * results matched to units in order, reconnection. The states are drawn in store_pg_int.h. */
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "store/store_pg_int.h"

void pg_unit_queue_init(struct pg_unit_queue *q)
{
    q->head = NULL;
    q->tail = &q->head;
    q->count = 0;
}

static void uq_push(struct pg_unit_queue *q, struct pg_unit *u)
{
    u->next = NULL;
    *q->tail = u;
    q->tail = &u->next;
    q->count++;
}

static struct pg_unit *uq_pop(struct pg_unit_queue *q)
{
    struct pg_unit *u = q->head;
    if (u) {
        q->head = u->next;
        if (!q->head)
            q->tail = &q->head;
        q->count--;
        u->next = NULL;
    }
    return u;
}

/* ---- handles ---- */

void pg_store_kick(struct pg_store *ps)
{
    defer_arm(&ps->kick);
}

void pg_store_handle_closed(uv_handle_t *h)
{
    struct pg_store *ps = h->data;
    if (h->type == UV_POLL)
        free(h);
    ps->handles--;
    if (ps->closed && ps->handles == 0)
        free(ps); /* the last handle: close has run, nothing else refers to ps */
}

static void on_poll(uv_poll_t *h, int status, int events);

/* Watches fd for events (UV_READABLE / UV_WRITABLE); a new fd gets a new handle. */
static int poll_watch(struct pg_conn *pc, int fd, int events)
{
    if (pc->poll && pc->poll_fd != fd) {
        uv_close((uv_handle_t *)pc->poll, pg_store_handle_closed);
        pc->poll = NULL;
    }
    if (!pc->poll) {
        uv_poll_t *p = malloc(sizeof *p);
        if (!p || uv_poll_init(pc->ps->base.loop, p, fd) != 0) {
            free(p);
            return -1;
        }
        p->data = pc->ps;
        pc->ps->handles++;
        pc->poll = p;
        pc->poll_fd = fd;
        pc->poll_events = 0;
    }
    pc->poll->data = pc->ps;
    if (events != pc->poll_events) {
        /* uv_poll's data must point at the store for the close callback; find pc by role */
        if (uv_poll_start(pc->poll, events, on_poll) != 0)
            return -1;
        pc->poll_events = events;
    }
    return 0;
}

static struct pg_conn *conn_of(uv_poll_t *h)
{
    struct pg_store *ps = h->data;
    if (ps->writer.poll == h)
        return &ps->writer;
    if (ps->reader.poll == h)
        return &ps->reader;
    return NULL;
}

/* ---- failure and retry ---- */

static void fail_queue(struct pg_unit_queue *q)
{
    struct pg_unit *u;
    while ((u = uq_pop(q)))
        u->done(u, -1);
}

static void on_timer(uv_timer_t *t);

/* The connection is unusable: everything sent or waiting fails, and a retry is scheduled. */
static void conn_fail(struct pg_conn *pc, const char *why)
{
    if (pc->was_up || pc->state == PG_READY)
        log_warn("store.pg_down", "conn=%s db=%s err=\"%s\"", pc->role, pc->ps->where,
                 why ? why : "");
    pc->was_up = 0;
    if (pc->poll) {
        uv_close((uv_handle_t *)pc->poll, pg_store_handle_closed);
        pc->poll = NULL;
    }
    if (pc->c) {
        PQfinish(pc->c);
        pc->c = NULL;
    }
    pc->state = PG_DOWN;
    fail_queue(&pc->inflight);
    fail_queue(&pc->pending);
    if (!pc->ps->closed)
        uv_timer_start(&pc->timer, on_timer, PG_RETRY_MS, 0);
    pg_store_kick(pc->ps); /* appends queued meanwhile fail at the next turn */
}

static const char *conn_error(struct pg_conn *pc)
{
    static char msg[200];
    const char *m = pc->c ? PQerrorMessage(pc->c) : "no connection";
    size_t n = strcspn(m, "\n");
    if (n >= sizeof msg)
        n = sizeof msg - 1;
    for (size_t i = 0; i < n; i++)
        msg[i] = m[i] == '"' ? '\'' : m[i];
    msg[n] = 0;
    return msg;
}

/* ---- setup after connecting: prepare statements, run setup SQL ---- */

struct setup_unit {
    struct pg_unit u;
    struct pg_conn *pc;
};

static int setup_send(struct pg_unit *u, PGconn *c)
{
    struct pg_conn *pc = ((struct setup_unit *)u)->pc;
    /* the setup first: statements may name the temporary table it creates */
    if (pc->setup_sql && !PQsendQueryParams(c, pc->setup_sql, 0, NULL, NULL, NULL, NULL, 0))
        return -1;
    for (size_t i = 0; i < pc->nstmts; i++)
        if (!PQsendPrepare(c, pc->stmts[i].name, pc->stmts[i].sql, 0, NULL))
            return -1;
    return 0;
}

static void setup_done(struct pg_unit *u, int status)
{
    struct pg_conn *pc = ((struct setup_unit *)u)->pc;
    free(u);
    if (status < 0 && pc->state == PG_READY)
        conn_fail(pc, "preparing statements failed");
}

static void conn_ready(struct pg_conn *pc)
{
    if (!PQenterPipelineMode(pc->c)) {
        conn_fail(pc, conn_error(pc));
        return;
    }
    uv_timer_stop(&pc->timer);
    if (pc->stall_ms)
        uv_timer_start(&pc->timer, on_timer, 1000, 1000);
    pc->state = PG_READY;
    pc->was_up = 1;
    log_info("store.pg_up", "conn=%s db=%s", pc->role, pc->ps->where);
    struct setup_unit *s = calloc(1, sizeof *s);
    if (!s) {
        conn_fail(pc, "out of memory");
        return;
    }
    s->pc = pc;
    s->u.send = setup_send;
    s->u.done = setup_done;
    pg_conn_send(pc, &s->u);
    if (pc->state == PG_READY)
        pg_store_kick(pc->ps);
}

/* ---- connecting ---- */

void pg_conn_connected(struct pg_conn *pc)
{
    if (poll_watch(pc, PQsocket(pc->c), UV_READABLE) < 0) {
        conn_fail(pc, "cannot watch the socket");
        return;
    }
    conn_ready(pc);
}

static void connect_step(struct pg_conn *pc, PostgresPollingStatusType st)
{
    switch (st) {
    case PGRES_POLLING_OK:
        pg_conn_connected(pc);
        return;
    case PGRES_POLLING_READING:
    case PGRES_POLLING_WRITING:
        if (poll_watch(pc, PQsocket(pc->c),
                       st == PGRES_POLLING_READING ? UV_READABLE : UV_WRITABLE) < 0)
            conn_fail(pc, "cannot watch the socket");
        return;
    default:
        conn_fail(pc, conn_error(pc));
        return;
    }
}

/* Server notices: a WARNING (e.g. a partition that could not be made) is logged; the rest
 * ("… already exists, skipping") is not for the user. */
void pg_notice(void *arg, const char *message)
{
    if (strncmp(message, "WARNING", 7) == 0)
        log_warn("store.pg_notice", "msg=\"%.*s\"", (int)strcspn(message, "\n"), message);
}

void pg_conn_start(struct pg_conn *pc)
{
    if (pc->ps->closed || pc->state != PG_DOWN)
        return;
    /* Defaults first: the URI's own parameters (expanded from dbname) override them. */
    static const char *const keys[] = {"connect_timeout",
                                       "keepalives_idle",
                                       "keepalives_interval",
                                       "keepalives_count",
                                       "fallback_application_name",
                                       "dbname",
                                       NULL};
    const char *vals[] = {"5", "10", "3", "3", "sev", pc->ps->uri, NULL};
    pc->c = PQconnectStartParams(keys, vals, 1);
    if (pc->c)
        PQsetNoticeProcessor(pc->c, pg_notice, NULL);
    if (!pc->c || PQstatus(pc->c) == CONNECTION_BAD || PQsetnonblocking(pc->c, 1) != 0) {
        conn_fail(pc, conn_error(pc));
        return;
    }
    pc->state = PG_CONNECTING;
    uv_timer_start(&pc->timer, on_timer, PG_CONNECT_TIMEOUT_MS, 0);
    connect_step(pc, PGRES_POLLING_WRITING);
}

static void on_timer(uv_timer_t *t)
{
    struct pg_conn *pc = t->data;
    if (pc->state == PG_READY) { /* the watchdog */
        struct pg_unit *u = pc->inflight.head;
        if (u && uv_now(pc->ps->base.loop) - u->sent_ms > pc->stall_ms)
            conn_fail(pc, "no answer in time");
        return;
    }
    if (pc->state == PG_CONNECTING)
        conn_fail(pc, "connecting timed out");
    else if (pc->state == PG_DOWN)
        pg_conn_start(pc);
}

/* ---- results ---- */

/* Handles one result of the unit at the head of the in-flight queue. */
static void on_result(struct pg_conn *pc, PGresult *r)
{
    struct pg_unit *u = pc->inflight.head;
    ExecStatusType st = PQresultStatus(r);
    if (!u) { /* a result nobody asked for: the pipeline is out of step */
        PQclear(r);
        conn_fail(pc, "unexpected result");
        return;
    }
    if (st == PGRES_PIPELINE_SYNC) {
        PQclear(r);
        uq_pop(&pc->inflight);
        if (pc->defer_done)
            uq_push(&pc->finished, u);
        else
            u->done(u, u->failed ? -1 : 0);
        return;
    }
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
        if (!u->failed && u->result)
            u->result(u, u->nres, r);
    } else {
        if (!u->failed && st != PGRES_PIPELINE_ABORTED) {
            const char *m = PQresultErrorMessage(r);
            log_error("store.pg_query_failed", "conn=%s db=%s query=%d err=\"%.*s\"", pc->role,
                      pc->ps->where, u->nres, (int)strcspn(m, "\n"), m);
        }
        u->failed = 1;
    }
    u->nres++;
    PQclear(r);
}

/* Reads every result that has arrived. */
static void read_results(struct pg_conn *pc)
{
    int nulls = 0;
    while (pc->state == PG_READY && pc->inflight.head && !PQisBusy(pc->c)) {
        PGresult *r = PQgetResult(pc->c);
        if (!r) {
            if (++nulls > 1) /* libpq has nothing queued: we are ahead of it */
                break;
            continue;
        }
        nulls = 0;
        on_result(pc, r);
    }
    if (pc->state == PG_READY && PQstatus(pc->c) == CONNECTION_BAD)
        conn_fail(pc, conn_error(pc));
}

static void want_write(struct pg_conn *pc, int on)
{
    int ev = UV_READABLE | (on ? UV_WRITABLE : 0);
    if (poll_watch(pc, pc->poll_fd, ev) < 0)
        conn_fail(pc, "cannot watch the socket");
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    struct pg_conn *pc = conn_of(h);
    if (!pc)
        return;
    if (pc->state == PG_CONNECTING) {
        connect_step(pc, PQconnectPoll(pc->c));
        return;
    }
    if (pc->state != PG_READY)
        return;
    if (status < 0) {
        conn_fail(pc, uv_strerror(status));
        return;
    }
    if (events & UV_WRITABLE) {
        int f = PQflush(pc->c);
        if (f < 0) {
            conn_fail(pc, conn_error(pc));
            return;
        }
        if (f == 0)
            want_write(pc, 0);
    }
    if (pc->state == PG_READY && (events & UV_READABLE)) {
        if (!PQconsumeInput(pc->c)) {
            conn_fail(pc, conn_error(pc));
            return;
        }
        read_results(pc);
    }
    if (pc->state == PG_READY)
        pg_store_kick(pc->ps); /* room for more in flight */
}

/* ---- sending ---- */

void pg_conn_send(struct pg_conn *pc, struct pg_unit *u)
{
    if (u->send(u, pc->c) < 0 || !PQpipelineSync(pc->c)) {
        u->done(u, -1);
        conn_fail(pc, conn_error(pc));
        return;
    }
    u->sent_ms = uv_now(pc->ps->base.loop);
    uq_push(&pc->inflight, u);
    int f = PQflush(pc->c);
    if (f < 0)
        conn_fail(pc, conn_error(pc));
    else if (f > 0)
        want_write(pc, 1);
}

int pg_conn_can_send(const struct pg_conn *pc)
{
    return pc->state == PG_READY && (!pc->max_inflight || pc->inflight.count < pc->max_inflight);
}

void pg_conn_submit(struct pg_conn *pc, struct pg_unit *u)
{
    uq_push(&pc->pending, u);
    pg_store_kick(pc->ps);
}

void pg_conn_flush(struct pg_conn *pc)
{
    struct pg_unit *u;
    while ((u = uq_pop(&pc->finished)))
        u->done(u, u->failed ? -1 : 0);
    if (pc->state != PG_READY) {
        fail_queue(&pc->pending);
        return;
    }
    /* Not limited: account writes and streamer puts are rare and must not wait behind a
     * steady stream of event batches (the limit is for those, in pg_jobs_flush). */
    while (pc->pending.head && pc->state == PG_READY)
        pg_conn_send(pc, uq_pop(&pc->pending));
}

void pg_conn_init(struct pg_store *ps, struct pg_conn *pc, const char *role,
                  const struct pg_stmt *stmts, size_t nstmts, const char *setup_sql,
                  size_t max_inflight)
{
    memset(pc, 0, sizeof *pc);
    pc->ps = ps;
    pc->role = role;
    pc->stmts = stmts;
    pc->nstmts = nstmts;
    pc->setup_sql = setup_sql;
    pc->max_inflight = max_inflight;
    pc->poll_fd = -1;
    pg_unit_queue_init(&pc->pending);
    pg_unit_queue_init(&pc->inflight);
    pg_unit_queue_init(&pc->finished);
    uv_timer_init(ps->base.loop, &pc->timer);
    pc->timer.data = pc;
    ps->handles++;
}

/* Blocking: sends what is pending and waits for every result (store_close). */
void pg_conn_drain(struct pg_conn *pc)
{
    if (pc->state != PG_READY)
        return;
    while (pc->pending.head && pc->state == PG_READY)
        pg_conn_send(pc, uq_pop(&pc->pending));
    if (pc->state != PG_READY || PQsetnonblocking(pc->c, 0) != 0 || PQflush(pc->c) != 0) {
        if (pc->state == PG_READY)
            conn_fail(pc, conn_error(pc));
        return;
    }
    int nulls = 0;
    while (pc->state == PG_READY && pc->inflight.head) {
        PGresult *r = PQgetResult(pc->c);
        if (!r) {
            if (PQstatus(pc->c) == CONNECTION_BAD || ++nulls > 1) {
                conn_fail(pc, conn_error(pc));
                return;
            }
            continue;
        }
        nulls = 0;
        on_result(pc, r);
    }
}

/* Closes the connection; units still queued fail (their callbacks run at the next kick). */
void pg_conn_stop(struct pg_conn *pc)
{
    if (pc->poll) {
        uv_close((uv_handle_t *)pc->poll, pg_store_handle_closed);
        pc->poll = NULL;
    }
    if (pc->c) {
        PQfinish(pc->c);
        pc->c = NULL;
    }
    pc->state = PG_DOWN;
    uv_timer_stop(&pc->timer);
    /* what was in flight can no longer be answered: it waits, first, with the pending ones */
    struct pg_unit *u;
    struct pg_unit_queue rest;
    pg_unit_queue_init(&rest);
    while ((u = uq_pop(&pc->inflight)))
        uq_push(&rest, u);
    while ((u = uq_pop(&pc->pending)))
        uq_push(&rest, u);
    while ((u = uq_pop(&rest)))
        uq_push(&pc->pending, u);
    pc->timer.data = pc->ps; /* what pg_store_handle_closed expects */
    uv_close((uv_handle_t *)&pc->timer, pg_store_handle_closed);
}
