#include "cluster/leader.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"

#define TICK_MS 250

enum lstate { L_IDLE, L_CONNECTING, L_READY };

struct leader {
    uv_loop_t *loop;
    char *uri; /* owned; NULL for sqlite (always leads) */
    leader_change_fn change;
    void *arg;
    PGconn *conn; /* owned */
    enum lstate state;
    uv_poll_t poll;
    int poll_fd; /* -1: poll not initialised */
    int poll_closing;
    int want; /* the events the connection waits for */
    uv_timer_t timer;
    int leading;
    int busy;              /* a query is in flight */
    int query_is_lock;     /* the query in flight tries the lock */
    int64_t query_sent_us; /* when the query in flight was sent */
    int64_t confirmed_us;  /* send time of the last answered query while leading */
    int64_t next_query_us;
    int64_t next_connect_us;
    int closing, handles_open;
};

static void set_leading(struct leader *l, int leading)
{
    if (l->leading == leading)
        return;
    l->leading = leading;
    log_info(leading ? "cluster.leader_acquired" : "cluster.leader_lost", "lock=%d",
             LEADER_LOCK_KEY);
    l->change(l->arg, leading);
}

static void on_handle_closed(uv_handle_t *h)
{
    struct leader *l = h->data;
    if (--l->handles_open == 0 && l->closing) {
        free(l->uri);
        free(l);
    }
}

static void on_poll_closed(uv_handle_t *h)
{
    struct leader *l = h->data;
    l->poll_closing = 0;
    on_handle_closed(h);
}

static void poll_close(struct leader *l)
{
    if (l->poll_fd < 0)
        return;
    uv_poll_stop(&l->poll);
    l->poll_fd = -1;
    l->poll_closing = 1;
    l->handles_open++;
    uv_close((uv_handle_t *)&l->poll, on_poll_closed);
}

/* Drops the session (the server releases the lock with it) and steps down. */
static void conn_drop(struct leader *l, const char *why)
{
    if (l->conn) {
        if (!l->closing)
            log_warn("cluster.leader_session_lost", "reason=\"%s\"", why);
        poll_close(l);
        PQfinish(l->conn);
        l->conn = NULL;
    }
    l->state = L_IDLE;
    l->busy = 0;
    l->next_connect_us = clock_mono_us() + (int64_t)LEADER_RETRY_MS * 1000 / 2;
    if (!l->closing)
        set_leading(l, 0);
}

static void on_poll(uv_poll_t *p, int status, int events);

static int poll_watch(struct leader *l, int events)
{
    int fd = PQsocket(l->conn);
    l->want = events;
    if (fd < 0)
        return -1;
    if (l->poll_fd != fd) {
        if (l->poll_fd >= 0)
            poll_close(l); /* libpq moved to another socket (another address) */
        if (l->poll_closing)
            return 1; /* the old watcher is closing: the tick carries on */
        if (uv_poll_init(l->loop, &l->poll, fd) != 0)
            return -1;
        l->poll.data = l;
        l->poll_fd = fd;
    }
    return uv_poll_start(&l->poll, events, on_poll) == 0 ? 0 : -1;
}

static void send_query(struct leader *l)
{
    char sql[128];
    int lock = !l->leading;
    if (lock)
        snprintf(sql, sizeof sql, "SELECT pg_try_advisory_lock(%d)", LEADER_LOCK_KEY);
    else
        snprintf(sql, sizeof sql, "SELECT 1"); /* renewal: the session is alive and not idle */
    if (!PQsendQuery(l->conn, sql)) {
        conn_drop(l, PQerrorMessage(l->conn));
        return;
    }
    l->busy = 1;
    l->query_is_lock = lock;
    l->query_sent_us = clock_mono_us();
    int w = PQflush(l->conn) == 1 ? UV_WRITABLE : 0;
    if (poll_watch(l, UV_READABLE | w) < 0)
        conn_drop(l, "cannot watch the socket");
}

static void read_results(struct leader *l)
{
    if (!PQconsumeInput(l->conn)) {
        conn_drop(l, PQerrorMessage(l->conn));
        return;
    }
    while (l->busy && !PQisBusy(l->conn)) {
        PGresult *r = PQgetResult(l->conn);
        if (!r) { /* the query is done */
            l->busy = 0;
            l->next_query_us =
                clock_mono_us() + (int64_t)(l->leading ? LEADER_RENEW_MS : LEADER_RETRY_MS) * 1000;
            break;
        }
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_TUPLES_OK) {
            if (l->query_is_lock) {
                int got = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
                if (got) {
                    l->confirmed_us = l->query_sent_us;
                    set_leading(l, 1);
                }
            } else if (l->leading) {
                l->confirmed_us = l->query_sent_us;
            }
        } else if (st != PGRES_COMMAND_OK) {
            char why[256];
            snprintf(why, sizeof why, "%s", PQresultErrorMessage(r));
            why[strcspn(why, "\n")] = 0;
            PQclear(r);
            conn_drop(l, why);
            return;
        }
        PQclear(r);
    }
    if (PQstatus(l->conn) == CONNECTION_BAD)
        conn_drop(l, PQerrorMessage(l->conn));
}

static void connect_step(struct leader *l)
{
    PostgresPollingStatusType s = PQconnectPoll(l->conn);
    if (s == PGRES_POLLING_FAILED) {
        char why[256];
        snprintf(why, sizeof why, "%s", PQerrorMessage(l->conn));
        why[strcspn(why, "\n")] = 0;
        log_debug("cluster.leader_connect_failed", "error=\"%s\"", why);
        conn_drop(l, why);
        return;
    }
    if (s == PGRES_POLLING_OK) {
        PQsetnonblocking(l->conn, 1);
        l->state = L_READY;
        /* the stall guard (see leader.h), then the first try for the lock */
        char sql[160];
        snprintf(sql, sizeof sql, "SET idle_session_timeout = %d; SELECT pg_try_advisory_lock(%d)",
                 LEADER_IDLE_TIMEOUT_MS, LEADER_LOCK_KEY);
        if (!PQsendQuery(l->conn, sql)) {
            conn_drop(l, PQerrorMessage(l->conn));
            return;
        }
        l->busy = 1;
        l->query_is_lock = 1;
        l->query_sent_us = clock_mono_us();
        PQflush(l->conn);
        if (poll_watch(l, UV_READABLE) < 0)
            conn_drop(l, "cannot watch the socket");
        return;
    }
    int ev = s == PGRES_POLLING_READING ? UV_READABLE : UV_WRITABLE;
    if (poll_watch(l, ev) < 0)
        conn_drop(l, "cannot watch the socket");
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    struct leader *l = p->data;
    if (!l->conn)
        return;
    if (l->state == L_CONNECTING) {
        connect_step(l);
        return;
    }
    if (events & UV_WRITABLE) {
        int f = PQflush(l->conn);
        if (f < 0) {
            conn_drop(l, PQerrorMessage(l->conn));
            return;
        }
        if (f == 0 && poll_watch(l, UV_READABLE) < 0) {
            conn_drop(l, "cannot watch the socket");
            return;
        }
    }
    if (status < 0 || (events & UV_READABLE))
        read_results(l);
}

static void connect_start(struct leader *l)
{
    /* the URI first, then what must hold whatever it says: TCP keepalives, a connect timeout */
    const char *keys[] = {
        "dbname",           "keepalives",      "keepalives_idle",  "keepalives_interval",
        "keepalives_count", "connect_timeout", "application_name", NULL};
    const char *vals[] = {l->uri, "1", "2", "1", "3", "3", "sev-leader", NULL};
    l->conn = PQconnectStartParams(keys, vals, 1);
    if (!l->conn || PQstatus(l->conn) == CONNECTION_BAD) {
        conn_drop(l, l->conn ? PQerrorMessage(l->conn) : "out of memory");
        return;
    }
    l->state = L_CONNECTING;
    if (poll_watch(l, UV_WRITABLE) < 0)
        conn_drop(l, "cannot watch the socket");
}

static void on_tick(uv_timer_t *t)
{
    struct leader *l = t->data;
    int64_t now = clock_mono_us();
    if (l->leading && now - l->confirmed_us > (int64_t)LEADER_VALID_MS * 1000) {
        conn_drop(l, "no renewal answered in time"); /* the server may give the lock away */
        return;
    }
    if (l->state == L_IDLE && now >= l->next_connect_us) {
        connect_start(l);
        return;
    }
    if (l->conn && l->state != L_IDLE && l->poll_fd < 0 && !l->poll_closing &&
        poll_watch(l, l->want) < 0) /* the socket changed while the old watcher closed */
        conn_drop(l, "cannot watch the socket");
    if (l->state == L_READY && !l->busy && now >= l->next_query_us)
        send_query(l);
    if (l->state == L_READY && l->busy &&
        now - l->query_sent_us > (int64_t)LEADER_IDLE_TIMEOUT_MS * 1000)
        conn_drop(l, "no answer from PostgreSQL");
}

int leader_new(uv_loop_t *loop, const char *database, leader_change_fn change, void *arg,
               struct leader **out, struct err *err)
{
    struct leader *l = calloc(1, sizeof *l);
    if (!l)
        return err_set(err, "out of memory");
    l->loop = loop;
    l->change = change;
    l->arg = arg;
    l->poll_fd = -1;
    *out = l;
    if (strncmp(database, "postgres://", 11) != 0 && strncmp(database, "postgresql://", 13) != 0) {
        l->leading = 1; /* one node on one file: it leads */
        change(arg, 1);
        return 0;
    }
    if (!(l->uri = strdup(database))) {
        free(l);
        *out = NULL;
        return err_set(err, "out of memory");
    }
    uv_timer_init(loop, &l->timer);
    l->timer.data = l;
    l->handles_open = 1;
    uv_timer_start(&l->timer, on_tick, TICK_MS, TICK_MS);
    connect_start(l);
    return 0;
}

void leader_free(struct leader *l)
{
    if (!l)
        return;
    l->closing = 1;
    if (!l->uri) {
        free(l);
        return;
    }
    conn_drop(l, "stopping");
    uv_close((uv_handle_t *)&l->timer, on_handle_closed);
}

int leader_is(const struct leader *l)
{
    if (!l || !l->leading)
        return 0;
    /* after a stall (SIGSTOP) this is false before the tick has noticed */
    return !l->uri || clock_mono_us() - l->confirmed_us <= (int64_t)LEADER_VALID_MS * 1000;
}
