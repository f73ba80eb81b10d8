/* store_pg_write.c: appends, streamer puts and account writes on the writer connection.
 *
 * Group commit: appends wait in ps->jobs until the next loop turn (the kick), then up to
 * PG_BATCH_MAX of them become one unit — one implicit transaction, one round trip:
 *
 *   W_LOCK     lock the counter row of every streamer of the batch, in one order (no
 *              deadlock between nodes); creates missing rows
 *   W_INSERT   event_keys (ON CONFLICT DO NOTHING: dedupe by id and by dedupe_key), then for
 *              the new ones streamer_seq = counter + rank within the batch, the counter moves,
 *              the events rows, and a note of each in the temporary table batch_new
 *   W_FREE_LOGIN, W_NEW_STREAMER, W_SET_STREAMER   the streamers rows, from batch_new
 *   W_RESULTS  for every job: stored or not, seq and streamer_seq (of the stored event for
 *              a duplicate), read after the insert so it sees this transaction's rows
 *
 * Holding the streamer's counter row from W_LOCK to COMMIT orders the writers of one
 * streamer: streamer_seq is dense and in commit order on every node. The callbacks run when
 * the Sync's result arrives, which is after the COMMIT is durable.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "store/store_pg_int.h"

struct pg_job {
    struct pg_job *next;
    struct event *ev; /* borrowed until the callback */
    int64_t at_us;
    store_append_fn cb;
    void *arg;
    int64_t seq, streamer_seq;
    int status;
};

const char pg_writer_setup[] =
    "CREATE TEMPORARY TABLE IF NOT EXISTS batch_new (ord bigint, seq bigint, streamer_seq bigint,"
    " streamer_id text, login text, name text, created_at_us bigint, at_us bigint)"
    " ON COMMIT DELETE ROWS";

#define AGG_STREAMERS                                                                              \
    "(SELECT DISTINCT ON (streamer_id) streamer_id, lower(login) AS login, name, at_us,"           \
    "  max(created_at_us) OVER (PARTITION BY streamer_id) AS last"                                 \
    " FROM batch_new ORDER BY streamer_id, ord DESC)"

enum { W_LOCK, W_INSERT, W_FREE_LOGIN, W_NEW_STREAMER, W_SET_STREAMER, W_RESULTS, W_PUT, W_COUNT };

const struct pg_stmt pg_writer_stmts[W_COUNT] = {
    [W_LOCK] = {"w_lock", "INSERT INTO streamer_counters(streamer_id, last_seq)"
                          " SELECT DISTINCT s, 0 FROM unnest($1::text[]) s ORDER BY 1"
                          " ON CONFLICT (streamer_id) DO UPDATE"
                          " SET last_seq = streamer_counters.last_seq"},
    [W_INSERT] =
        {"w_insert",
         "WITH input AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[],"
         "   $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::bigint[],"
         "   $11::bigint[], $12::text[], $13::text[]) WITH ORDINALITY AS t(id, type, dedupe_key,"
         "   streamer_id, login, name, viewer_id, viewer_login, viewer_name, created_at_us,"
         "   received_at_us, summary, data, ord)),"
         " keys AS (INSERT INTO event_keys(id, dedupe_key, seq)"
         "   SELECT id, dedupe_key, nextval('events_seq') FROM input ORDER BY ord"
         "   ON CONFLICT DO NOTHING RETURNING id, seq),"
         " fresh AS (SELECT i.*, k.seq,"
         "   row_number() OVER (PARTITION BY i.streamer_id ORDER BY i.ord) AS rn"
         "   FROM keys k JOIN (SELECT DISTINCT ON (id) * FROM input ORDER BY id, ord) i"
         "   ON i.id = k.id),"
         " bump AS (UPDATE streamer_counters c SET last_seq = c.last_seq + n.n"
         "   FROM (SELECT streamer_id, count(*) AS n FROM fresh GROUP BY streamer_id) n"
         "   WHERE c.streamer_id = n.streamer_id AND c.streamer_id = ANY($4::text[])"
         "   RETURNING c.streamer_id, c.last_seq - n.n AS base),"
         " ins AS (INSERT INTO events(seq, streamer_seq, id, type, dedupe_key, streamer_id,"
         "   streamer_login, viewer_id, viewer_login, viewer_name, created_at_us, received_at_us,"
         "   summary, data)"
         "   SELECT f.seq, b.base + f.rn, f.id, f.type, f.dedupe_key, f.streamer_id, "
         "lower(f.login),"
         "   f.viewer_id, f.viewer_login, f.viewer_name, f.created_at_us, f.received_at_us,"
         "   f.summary, f.data FROM fresh f JOIN bump b ON b.streamer_id = f.streamer_id"
         "   RETURNING seq)"
         " INSERT INTO batch_new(ord, seq, streamer_seq, streamer_id, login, name, created_at_us,"
         "  at_us)"
         " SELECT f.ord, f.seq, b.base + f.rn, f.streamer_id, f.login, f.name, f.created_at_us,"
         "  f.received_at_us FROM fresh f JOIN bump b ON b.streamer_id = f.streamer_id"},
    /* Twitch logins move between accounts (renames): the newest owner takes it. $1: the
     * batch's logins as an array literal (lowered as text: the same as lowering each). */
    [W_FREE_LOGIN] = {"w_free_login", "UPDATE streamers s SET login = NULL FROM " AGG_STREAMERS
                                      " n WHERE s.login = n.login AND s.id <> n.streamer_id"
                                      " AND s.login = ANY(lower($1::text)::text[])"},
    [W_NEW_STREAMER] = {"w_new_streamer",
                        "INSERT INTO streamers(id, login, display_name, first_seen_us,"
                        " last_event_us) SELECT streamer_id, login,"
                        " coalesce(nullif(name, ''), login), at_us, last FROM " AGG_STREAMERS
                        " n ON CONFLICT (id) DO NOTHING"},
    /* a display name '' keeps the one we have; the last event time only grows. $1: the
     * batch's streamer ids. */
    [W_SET_STREAMER] = {"w_set_streamer",
                        "UPDATE streamers s SET login = n.login,"
                        " display_name = coalesce(nullif(n.name, ''), s.display_name),"
                        " last_event_us = greatest(s.last_event_us, n.last) FROM " AGG_STREAMERS
                        " n WHERE s.id = n.streamer_id AND s.id = ANY($1::text[])"},
    /* Per-row subqueries (index lookups whatever the plan cache decided: a join here was
     * planned once, when the tables were empty, as two sequential scans of event_keys per
     * batch), run only for the duplicates. */
    [W_RESULTS] = {"w_results",
                   "SELECT d.ord, d.stored, d.seq, coalesce(d.sseq, (SELECT e.streamer_seq"
                   "  FROM events e WHERE e.seq = d.seq LIMIT 1))"
                   " FROM (SELECT i.ord, n.ord IS NOT NULL AS stored, n.streamer_seq AS sseq,"
                   "  coalesce(n.seq, (SELECT k.seq FROM event_keys k WHERE k.id = i.id),"
                   "   (SELECT k.seq FROM event_keys k WHERE k.dedupe_key = i.dk)) AS seq"
                   "  FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS i(id, dk, ord)"
                   "  LEFT JOIN batch_new n ON n.ord = i.ord OFFSET 0) d"},
    [W_PUT] = {"w_put", "INSERT INTO batch_new(ord, streamer_id, login, name, at_us)"
                        " VALUES (0, $1, $2, $3, $4)"},
};
const size_t pg_writer_nstmts = W_COUNT;

/* ---- the batch unit ---- */

struct batch_unit {
    struct pg_unit u;
    struct pg_store *ps;
    struct pg_job **jobs; /* owned array of n owned jobs */
    size_t n;
};

enum {
    COL_ID,
    COL_TYPE,
    COL_KEY,
    COL_SID,
    COL_LOGIN,
    COL_NAME,
    COL_VID,
    COL_VLOGIN,
    COL_VNAME,
    COL_CREATED,
    COL_RECEIVED,
    COL_SUMMARY,
    COL_DATA,
    COL_COUNT
};

static int batch_send(struct pg_unit *u, PGconn *c)
{
    struct batch_unit *b = (struct batch_unit *)u;
    struct pg_array a[COL_COUNT];
    const char *v[COL_COUNT];
    int rc = -1;
    for (int i = 0; i < COL_COUNT; i++)
        pg_array_begin(&a[i]);
    for (size_t k = 0; k < b->n; k++) {
        const struct event *ev = b->jobs[k]->ev;
        char *data = ev->data ? json_dumps(ev->data, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        if (ev->data && !data)
            a[COL_DATA].oom = 1;
        pg_array_text(&a[COL_ID], ev->id);
        pg_array_text(&a[COL_TYPE], ev->type);
        pg_array_text(&a[COL_KEY], ev->dedupe_key);
        pg_array_text(&a[COL_SID], ev->streamer_id);
        pg_array_text(&a[COL_LOGIN], ev->streamer_login);
        pg_array_text(&a[COL_NAME], ev->streamer_name ? ev->streamer_name : "");
        pg_array_text(&a[COL_VID], ev->viewer_id);
        pg_array_text(&a[COL_VLOGIN], ev->viewer_login);
        pg_array_text(&a[COL_VNAME], ev->viewer_name);
        pg_array_int(&a[COL_CREATED], ev->created_at_us);
        pg_array_int(&a[COL_RECEIVED], b->jobs[k]->at_us);
        pg_array_text(&a[COL_SUMMARY], ev->summary);
        pg_array_text(&a[COL_DATA], data);
        free(data);
    }
    for (int i = 0; i < COL_COUNT; i++)
        if (!(v[i] = pg_array_end(&a[i])))
            goto release; /* out of memory: the batch fails, the connection with it */
    const char *res[2] = {v[COL_ID], v[COL_KEY]};
    if (PQsendQueryPrepared(c, "w_lock", 1, &v[COL_SID], NULL, NULL, 0) &&
        PQsendQueryPrepared(c, "w_insert", COL_COUNT, v, NULL, NULL, 0) &&
        PQsendQueryPrepared(c, "w_free_login", 1, &v[COL_LOGIN], NULL, NULL, 0) &&
        PQsendQueryPrepared(c, "w_new_streamer", 0, NULL, NULL, NULL, 0) &&
        PQsendQueryPrepared(c, "w_set_streamer", 1, &v[COL_SID], NULL, NULL, 0) &&
        PQsendQueryPrepared(c, "w_results", 2, res, NULL, NULL, 0))
        rc = 0;
release:
    for (int i = 0; i < COL_COUNT; i++)
        pg_array_release(&a[i]);
    return rc;
}

static void batch_result(struct pg_unit *u, int index, const PGresult *r)
{
    struct batch_unit *b = (struct batch_unit *)u;
    if (index != 5)
        return;
    for (int row = 0; row < PQntuples(r); row++) {
        int64_t ord = pg_int(r, row, 0);
        if (ord < 1 || (size_t)ord > b->n)
            continue;
        struct pg_job *j = b->jobs[ord - 1];
        if (PQgetisnull(r, row, 2))
            continue; /* neither stored nor found: stays failed */
        j->status = PQgetvalue(r, row, 1)[0] == 't' ? STORE_STORED : STORE_DUPLICATE;
        j->seq = pg_int(r, row, 2);
        j->streamer_seq = pg_int(r, row, 3);
    }
}

static void batch_done(struct pg_unit *u, int status)
{
    struct batch_unit *b = (struct batch_unit *)u;
    struct store_counters *k = &b->ps->counters;
    if (status == 0)
        k->commits++;
    for (size_t i = 0; i < b->n; i++) {
        struct pg_job *j = b->jobs[i];
        if (status < 0)
            j->status = -1;
        if (j->status == STORE_STORED)
            k->stored++;
        else if (j->status == STORE_DUPLICATE)
            k->duplicates++;
        else
            k->failed++;
    }
    /* Callbacks last, one by one: a callback may call store_close. */
    for (size_t i = 0; i < b->n; i++) {
        struct pg_job *j = b->jobs[i];
        if (j->status >= 0) {
            j->ev->seq = j->seq;
            j->ev->streamer_seq = j->streamer_seq;
        }
        j->cb(j->arg, j->ev, j->status);
        free(j);
    }
    free(b->jobs);
    free(b);
}

static void job_fail(struct pg_store *ps, struct pg_job *j)
{
    ps->counters.failed++;
    j->cb(j->arg, j->ev, -1);
    free(j);
}

static struct pg_job *jobs_pop(struct pg_job_queue *q)
{
    struct pg_job *j = q->head;
    if (j) {
        q->head = j->next;
        if (!q->head)
            q->tail = &q->head;
        q->count--;
        j->next = NULL;
    }
    return j;
}

void pg_jobs_flush(struct pg_store *ps)
{
    struct pg_conn *w = &ps->writer;
    while (ps->jobs.head) {
        if (w->state != PG_READY) {
            job_fail(ps, jobs_pop(&ps->jobs));
            continue;
        }
        if (!pg_conn_can_send(w) && !ps->closed)
            return; /* the next batch gathers while this one commits */
        size_t n = ps->jobs.count < PG_BATCH_MAX ? ps->jobs.count : PG_BATCH_MAX;
        struct batch_unit *b = calloc(1, sizeof *b);
        struct pg_job **arr = calloc(n, sizeof *arr);
        if (!b || !arr) {
            free(b);
            free(arr);
            while (n--)
                job_fail(ps, jobs_pop(&ps->jobs));
            continue;
        }
        for (size_t i = 0; i < n; i++) {
            arr[i] = jobs_pop(&ps->jobs);
            arr[i]->status = -1;
        }
        b->u.send = batch_send;
        b->u.result = batch_result;
        b->u.done = batch_done;
        b->ps = ps;
        b->jobs = arr;
        b->n = n;
        pg_conn_send(w, &b->u);
    }
}

int pg_append(struct store *st, struct event *ev, int64_t received_at_us, store_append_fn cb,
              void *arg)
{
    struct pg_store *ps = (struct pg_store *)st;
    if (ps->closed)
        return STORE_EINVAL;
    if (ps->jobs.count >= STORE_QUEUE_MAX)
        return STORE_EFULL;
    struct pg_job *j = calloc(1, sizeof *j);
    if (!j)
        return STORE_EFULL;
    j->ev = ev;
    j->at_us = received_at_us;
    j->cb = cb;
    j->arg = arg;
    *ps->jobs.tail = j;
    ps->jobs.tail = &j->next;
    ps->jobs.count++;
    pg_store_kick(ps);
    return 0;
}

/* ---- streamer puts ---- */

struct put_unit {
    struct pg_unit u;
    struct pg_store *ps;
    struct streamer_info s;
    int64_t now_us;
    store_done_fn cb;
    void *arg;
};

static int put_send(struct pg_unit *u, PGconn *c)
{
    struct put_unit *p = (struct put_unit *)u;
    char at[24];
    snprintf(at, sizeof at, "%lld", (long long)p->now_us);
    const char *v[4] = {p->s.id, p->s.login, p->s.display_name, at};
    struct pg_array ids, logins;
    pg_array_begin(&ids);
    pg_array_begin(&logins);
    pg_array_text(&ids, p->s.id);
    pg_array_text(&logins, p->s.login);
    const char *id = pg_array_end(&ids), *login = pg_array_end(&logins);
    int rc = id && login && PQsendQueryPrepared(c, "w_put", 4, v, NULL, NULL, 0) &&
                     PQsendQueryPrepared(c, "w_free_login", 1, &login, NULL, NULL, 0) &&
                     PQsendQueryPrepared(c, "w_new_streamer", 0, NULL, NULL, NULL, 0) &&
                     PQsendQueryPrepared(c, "w_set_streamer", 1, &id, NULL, NULL, 0)
                 ? 0
                 : -1;
    pg_array_release(&ids);
    pg_array_release(&logins);
    return rc;
}

static void put_done(struct pg_unit *u, int status)
{
    struct put_unit *p = (struct put_unit *)u;
    if (status < 0)
        p->ps->counters.failed++;
    p->cb(p->arg, status < 0 ? -1 : 0);
    free(p);
}

int pg_streamer_put(struct store *st, const struct streamer_info *s, int64_t now_us,
                    store_done_fn cb, void *arg)
{
    struct pg_store *ps = (struct pg_store *)st;
    if (ps->closed)
        return STORE_EINVAL;
    struct put_unit *p = calloc(1, sizeof *p);
    if (!p)
        return STORE_EFULL;
    p->u.send = put_send;
    p->u.done = put_done;
    p->ps = ps;
    p->s = *s;
    p->now_us = now_us;
    p->cb = cb;
    p->arg = arg;
    pg_conn_submit(&ps->writer, &p->u);
    return 0;
}
