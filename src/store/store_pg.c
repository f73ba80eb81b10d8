/* store_pg.c: the PostgreSQL backend — open, close, settings, ping, and what the loop's kick
 * runs (the libpq helpers are in store_pg_sql.c). The design is drawn in store_pg_int.h; the
 * schema, partitioning, dedupe and the per-streamer order are explained in docs/storage.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "store/store_pg_int.h"

#define UPKEEP_MS (3600 * 1000)

/* ---- the kick: queued work goes out at the next loop turn ---- */

static void close_handles(struct pg_store *ps)
{
    defer_release(&ps->kick, pg_store_handle_closed);
    uv_close((uv_handle_t *)&ps->upkeep, pg_store_handle_closed);
}

static void on_kick(void *arg)
{
    struct pg_store *ps = arg;
    pg_jobs_flush(ps);
    pg_conn_flush(&ps->writer);
    pg_conn_flush(&ps->reader);
    if (ps->closed)
        close_handles(ps); /* never again: a released kick is not armed */
}


/* ---- partitions ahead ---- */

struct upkeep_unit {
    struct pg_unit u;
};

static int upkeep_send(struct pg_unit *u, PGconn *c)
{
    return PQsendQueryParams(c, pg_partitions_sql, 0, NULL, NULL, NULL, NULL, 0) ? 0 : -1;
}

static void upkeep_done(struct pg_unit *u, int status)
{
    free(u);
}

static void on_upkeep(uv_timer_t *t)
{
    struct pg_store *ps = t->data;
    struct upkeep_unit *u = calloc(1, sizeof *u);
    if (!u || ps->writer.state != PG_READY) {
        free(u);
        return;
    }
    u->u.send = upkeep_send;
    u->u.done = upkeep_done;
    pg_conn_submit(&ps->writer, &u->u);
}

/* ---- open ---- */

/* libpq's message without anything quoted (a quoted part may be a piece of the URI, and the
 * URI may hold a password), first line only. */
static void safe_message(const char *m, char *out, size_t size)
{
    size_t o = 0;
    int quoted = 0;
    for (; *m && *m != '\n' && o + 4 < size; m++) {
        if (*m == '"') {
            if (!quoted)
                out[o++] = '"', out[o++] = '.', out[o++] = '.', out[o++] = '.';
            else
                out[o++] = '"';
            quoted = !quoted;
            continue;
        }
        if (!quoted)
            out[o++] = *m;
    }
    while (o && (out[o - 1] == ' ' || out[o - 1] == '.'))
        o--;
    out[o] = 0;
}

/* "user@host:port/db" from the URI's parts (never the password). */
static int describe(const char *uri, char *where, size_t size, struct err *err)
{
    char *msg = NULL;
    PQconninfoOption *opts = PQconninfoParse(uri, &msg);
    if (!opts) {
        char why[200];
        safe_message(msg ? msg : "out of memory", why, sizeof why);
        PQfreemem(msg);
        return err_set(err, "not a valid PostgreSQL URI: %s", why);
    }
    const char *host = "", *port = "", *db = "", *user = "";
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (!o->val)
            continue;
        if (!strcmp(o->keyword, "host"))
            host = o->val;
        else if (!strcmp(o->keyword, "port"))
            port = o->val;
        else if (!strcmp(o->keyword, "dbname"))
            db = o->val;
        else if (!strcmp(o->keyword, "user"))
            user = o->val;
    }
    snprintf(where, size, "postgresql://%s%s%s%s%s/%s", user, *user ? "@" : "",
             *host ? host : "localhost", *port ? ":" : "", port, db);
    PQconninfoFree(opts);
    return 0;
}

/* Whether the URI's password (if any) appears in text. */
static int password_in(const char *uri, const char *text)
{
    PQconninfoOption *opts = PQconninfoParse(uri, NULL);
    int found = !opts; /* cannot tell: assume it does */
    for (PQconninfoOption *o = opts; o && o->keyword; o++)
        if (!strcmp(o->keyword, "password") && o->val && *o->val && strstr(text, o->val))
            found = 1;
    PQconninfoFree(opts);
    return found;
}

static PGconn *connect_blocking(struct pg_store *ps, struct err *err)
{
    static const char *const keys[] = {"connect_timeout", "fallback_application_name", "dbname",
                                       NULL};
    const char *vals[] = {"5", "sev", ps->uri, NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (c)
        PQsetNoticeProcessor(c, pg_notice, NULL);
    if (!c || PQstatus(c) != CONNECTION_OK) {
        char why[300];
        const char *m = c ? PQerrorMessage(c) : "out of memory";
        if (password_in(ps->uri, m)) /* never the password; else libpq's words as they are */
            safe_message(m, why, sizeof why);
        else
            snprintf(why, sizeof why, "%.*s", (int)strcspn(m, "\n"), m);
        err_set(err, "cannot connect to PostgreSQL at %s: %s", ps->where, why);
        PQfinish(c);
        return NULL;
    }
    return c;
}

/* The first connection of pc: blocking (store_open may block), then on the loop. */
static int conn_first(struct pg_store *ps, struct pg_conn *pc, struct err *err)
{
    PGconn *c = connect_blocking(ps, err);
    if (!c)
        return -1;
    if (PQsetnonblocking(c, 1) != 0) {
        PQfinish(c);
        return err_set(err, "database %s: cannot make the connection non-blocking", ps->where);
    }
    pc->c = c;
    pc->state = PG_CONNECTING;
    return 0;
}

static int pg_open(uv_loop_t *loop, const char *uri, struct store **out, struct err *err)
{
    struct pg_store *ps = calloc(1, sizeof *ps);
    if (!ps)
        return err_set(err, "database: out of memory");
    ps->base.be = &store_pg_backend;
    ps->base.loop = loop;
    ps->jobs.tail = &ps->jobs.head;
    if (describe(uri, ps->where, sizeof ps->where, err) < 0)
        goto free_store;
    if (!(ps->uri = strdup(uri))) {
        err_set(err, "database: out of memory");
        goto free_store;
    }
    PGconn *c = connect_blocking(ps, err);
    if (!c)
        goto free_uri;
    int rc = pg_migrate(c, ps->where, err);
    PQfinish(c);
    if (rc < 0)
        goto free_uri;
    /* From here on the handles exist: failures close them and let the loop free ps. */
    defer_init(&ps->kick, loop, on_kick, ps);
    uv_timer_init(loop, &ps->upkeep);
    ps->upkeep.data = ps;
    ps->handles += 2;
    pg_conn_init(ps, &ps->writer, "writer", pg_writer_stmts, pg_writer_nstmts, pg_writer_setup,
                 PG_WRITER_INFLIGHT);
    pg_conn_init(ps, &ps->reader, "reader", pg_reader_stmts, pg_reader_nstmts, NULL, 0);
    ps->writer.stall_ms = PG_WRITE_STALL_MS;
    ps->reader.stall_ms = PG_READ_STALL_MS;
    if (conn_first(ps, &ps->writer, err) < 0 || conn_first(ps, &ps->reader, err) < 0) {
        ps->closed = 1;
        pg_conn_stop(&ps->writer);
        pg_conn_stop(&ps->reader);
        close_handles(ps); /* the last one frees ps */
        free(ps->uri);
        ps->uri = NULL;
        return -1;
    }
    pg_conn_connected(&ps->writer);
    pg_conn_connected(&ps->reader);
    uv_timer_start(&ps->upkeep, on_upkeep, UPKEEP_MS, UPKEEP_MS);
    uv_unref((uv_handle_t *)&ps->upkeep);
    *out = &ps->base;
    return 0;
free_uri:
    free(ps->uri);
free_store:
    free(ps);
    return -1;
}

/* ---- close ---- */

static void pg_close(struct store *st)
{
    struct pg_store *ps = (struct pg_store *)st;
    ps->closed = 1;             /* no new work; jobs go out without the in-flight limit */
    pg_jobs_flush(ps);          /* every queued append into a batch (or failed) */
    pg_conn_drain(&ps->writer); /* blocking: their callbacks run here */
    pg_conn_stop(&ps->writer);
    ps->reader.defer_done = 1; /* reads in flight: answered now, called back at the next turn */
    pg_conn_drain(&ps->reader);
    pg_conn_stop(&ps->reader);
    uv_timer_stop(&ps->upkeep);
    free(ps->uri);
    ps->uri = NULL;
    pg_store_kick(ps);
}

/* ---- settings, ping, counters ---- */

static int pg_setting_get(struct store *st, const char *key, char **value, struct err *err)
{
    struct pg_store *ps = (struct pg_store *)st;
    PGconn *c = connect_blocking(ps, err);
    if (!c)
        return -1;
    const char *v[1] = {key};
    PGresult *r =
        PQexecParams(c, "SELECT value FROM settings WHERE key = $1", 1, NULL, v, NULL, NULL, 0);
    int rc;
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        rc = err_set(err, "setting %s: %s", key, PQresultErrorMessage(r));
    else if (PQntuples(r) == 0)
        rc = 1;
    else if (!(*value = strdup(PQgetvalue(r, 0, 0))))
        rc = err_set(err, "setting %s: out of memory", key);
    else
        rc = 0;
    PQclear(r);
    PQfinish(c);
    return rc;
}

static int pg_setting_set(struct store *st, const char *key, const char *value, struct err *err)
{
    struct pg_store *ps = (struct pg_store *)st;
    PGconn *c = connect_blocking(ps, err);
    if (!c)
        return -1;
    const char *v[2] = {key, value};
    PGresult *r = PQexecParams(c,
                               "INSERT INTO settings(key, value) VALUES ($1, $2)"
                               " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                               2, NULL, v, NULL, NULL, 0);
    int rc = PQresultStatus(r) == PGRES_COMMAND_OK
                 ? 0
                 : err_set(err, "setting %s: %s", key, PQresultErrorMessage(r));
    PQclear(r);
    PQfinish(c);
    return rc;
}

/* The connections' known state: no round trip. */
static int pg_ping(struct store *st)
{
    struct pg_store *ps = (struct pg_store *)st;
    return ps->writer.state == PG_READY && ps->reader.state == PG_READY ? 0 : -1;
}

static void pg_counters(struct store *st, struct store_counters *out)
{
    struct pg_store *ps = (struct pg_store *)st;
    *out = ps->counters;
    out->queued = ps->jobs.count;
}

const struct store_backend store_pg_backend = {
    .name = "postgres",
    .open = pg_open,
    .close = pg_close,
    .append = pg_append,
    .streamer_put = pg_streamer_put,
    .read = pg_read,
    .setting_get = pg_setting_get,
    .setting_set = pg_setting_set,
    .ping = pg_ping,
    .counters = pg_counters,
    .account = pg_account,
};
