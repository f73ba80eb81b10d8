/* store_pg_read.c: reads on the reader connection, and the account operations (writes on
 * the writer connection, each its own transaction; reads on the reader).
 *
 * The SQL gives the same answers as the SQLite backend's (store_sqlite_read.c): the same
 * orders (ties broken by byte order: COLLATE "C"), the same hour buckets. Events per
 * streamer come from the counter rows: streamer_seq is dense, so the counter is the count.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "store/store_pg_int.h"

#define HOUR_US INT64_C(3600000000)

#define EVENT_COLUMNS                                                                              \
    "e.seq, e.streamer_seq, e.id, e.type, e.dedupe_key, e.streamer_id, e.streamer_login,"          \
    " s.display_name, e.viewer_id, e.viewer_login, e.viewer_name, e.created_at_us, e.summary,"     \
    " e.data"

/* The streamer_seq of the event $2 of streamer $1 (login), or NULL. */
#define REF_SEQ                                                                                    \
    "(SELECT e2.streamer_seq FROM event_keys k JOIN events e2 ON e2.seq = k.seq"                   \
    " WHERE k.id = $2 AND e2.streamer_id = s.id LIMIT 1)"

enum {
    R_REF,
    R_RECENT,
    R_SINCE,
    R_STREAMER,
    R_STATS_STREAMERS,
    R_STATS_TYPES,
    R_STATS_HOURLY,
    R_COUNT
};

const struct pg_stmt pg_reader_stmts[R_COUNT] = {
    [R_REF] = {"r_ref",
               "SELECT 1 FROM streamers s WHERE s.login = lower($1) AND " REF_SEQ " IS NOT NULL"},
    /* $2 NULL: from the newest / from the start */
    [R_RECENT] = {"r_recent",
                  "SELECT " EVENT_COLUMNS " FROM streamers s JOIN events e ON e.streamer_id = s.id"
                  " WHERE s.login = lower($1) AND e.streamer_seq < CASE WHEN $2::text"
                  " IS NULL THEN 9223372036854775807 ELSE " REF_SEQ " END"
                  " ORDER BY e.streamer_seq DESC LIMIT $3"},
    [R_SINCE] = {"r_since",
                 "SELECT " EVENT_COLUMNS " FROM streamers s JOIN events e ON e.streamer_id = s.id"
                 " WHERE s.login = lower($1) AND e.streamer_seq > CASE WHEN $2::text"
                 " IS NULL THEN 0 ELSE " REF_SEQ " END"
                 " ORDER BY e.streamer_seq LIMIT $3"},
    [R_STREAMER] = {"r_streamer",
                    "SELECT id, login, display_name FROM streamers WHERE login = lower($1)"},
    [R_STATS_STREAMERS] = {"r_stats_streamers",
                           "SELECT coalesce(s.login, s.id) AS streamer,"
                           " coalesce(c.last_seq, 0) AS events FROM streamers s"
                           " LEFT JOIN streamer_counters c ON c.streamer_id = s.id"
                           " ORDER BY events DESC, coalesce(s.login, s.id) COLLATE \"C\""},
    [R_STATS_TYPES] = {"r_stats_types",
                       "SELECT type, count(*) AS events FROM events"
                       " WHERE streamer_id = (SELECT id FROM streamers WHERE login = lower($1))"
                       " GROUP BY type ORDER BY events DESC, type COLLATE \"C\""},
    [R_STATS_HOURLY] = {"r_stats_hourly",
                        "SELECT created_at_us / 3600000000 AS hour, count(*) FROM events"
                        " WHERE streamer_id = (SELECT id FROM streamers WHERE login = lower($1))"
                        " AND created_at_us >= $2 AND created_at_us < $3 GROUP BY hour"},
};
const size_t pg_reader_nstmts = R_COUNT;

struct read_unit {
    struct pg_unit u;
    struct store_read req; /* login and ref_id point at the copies below */
    char *login;           /* owned */
    char *ref_id;          /* owned, or NULL */
    int status;            /* 0, 1 not found, -1 */
    int64_t first_hour;
    struct event_list *events; /* owned until delivered */
    struct stat_list *stats;   /* likewise */
    struct streamer_info streamer;
};

static struct event *event_from_row(const PGresult *r, int row)
{
    struct event *ev = calloc(1, sizeof *ev);
    if (!ev)
        return NULL;
    int bad = 0;
    ev->seq = pg_int(r, row, 0);
    ev->streamer_seq = pg_int(r, row, 1);
    ev->id = pg_dup(r, row, 2, &bad);
    ev->type = pg_dup(r, row, 3, &bad);
    ev->dedupe_key = pg_dup(r, row, 4, &bad);
    ev->streamer_id = pg_dup(r, row, 5, &bad);
    ev->streamer_login = pg_dup(r, row, 6, &bad);
    ev->streamer_name = pg_dup(r, row, 7, &bad);
    ev->viewer_id = pg_dup(r, row, 8, &bad);
    ev->viewer_login = pg_dup(r, row, 9, &bad);
    ev->viewer_name = pg_dup(r, row, 10, &bad);
    ev->created_at_us = pg_int(r, row, 11);
    ev->summary = pg_dup(r, row, 12, &bad);
    if (!PQgetisnull(r, row, 13)) {
        ev->data = json_loadb(PQgetvalue(r, row, 13), (size_t)PQgetlength(r, row, 13),
                              JSON_DECODE_ANY, NULL);
        if (!ev->data)
            bad = 1;
    }
    if (bad) {
        event_free(ev);
        return NULL;
    }
    return ev;
}

static int collect_events(const PGresult *r, struct event_list **out)
{
    int n = PQntuples(r);
    struct event_list *l = calloc(1, sizeof *l);
    if (!l || (n && !(l->items = calloc((size_t)n, sizeof *l->items)))) {
        free(l);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        if (!(l->items[i] = event_from_row(r, i))) {
            event_list_free(l);
            return -1;
        }
        l->count++;
    }
    *out = l;
    return 0;
}

static int read_send(struct pg_unit *u, PGconn *c)
{
    struct read_unit *ru = (struct read_unit *)u;
    const struct store_read *q = &ru->req;
    char limit[16], from[24], to[24];
    snprintf(limit, sizeof limit, "%d", q->limit);
    const char *v[3] = {q->login, q->ref_id, limit};
    switch (q->kind) {
    case STORE_READ_RECENT:
    case STORE_READ_SINCE:
        if (q->ref_id && !PQsendQueryPrepared(c, "r_ref", 2, v, NULL, NULL, 0))
            return -1;
        return PQsendQueryPrepared(c, q->kind == STORE_READ_RECENT ? "r_recent" : "r_since", 3, v,
                                   NULL, NULL, 0)
                   ? 0
                   : -1;
    case STORE_READ_STREAMER:
        return PQsendQueryPrepared(c, "r_streamer", 1, v, NULL, NULL, 0) - 1;
    case STORE_READ_STATS_STREAMERS:
        return PQsendQueryPrepared(c, "r_stats_streamers", 0, NULL, NULL, NULL, 0) - 1;
    case STORE_READ_STATS_TYPES:
        return PQsendQueryPrepared(c, "r_stats_types", 1, v, NULL, NULL, 0) - 1;
    case STORE_READ_STATS_HOURLY:
        snprintf(from, sizeof from, "%lld", (long long)(ru->first_hour * HOUR_US));
        snprintf(to, sizeof to, "%lld", (long long)((ru->first_hour + q->limit) * HOUR_US));
        v[1] = from;
        v[2] = to;
        return PQsendQueryPrepared(c, "r_stats_hourly", 3, v, NULL, NULL, 0) - 1;
    default:
        return -1;
    }
}

static void read_result(struct pg_unit *u, int index, const PGresult *r)
{
    struct read_unit *ru = (struct read_unit *)u;
    const struct store_read *q = &ru->req;
    size_t cap = 0;
    switch (q->kind) {
    case STORE_READ_RECENT:
    case STORE_READ_SINCE:
        if (q->ref_id && index == 0) {
            if (PQntuples(r) == 0)
                ru->status = 1;
            return;
        }
        if (ru->status == 0 && collect_events(r, &ru->events) < 0)
            ru->status = -1;
        return;
    case STORE_READ_STREAMER:
        if (PQntuples(r) == 0) {
            ru->status = 1;
            return;
        }
        utf8_copy(ru->streamer.id, sizeof ru->streamer.id, PQgetvalue(r, 0, 0));
        utf8_copy(ru->streamer.login, sizeof ru->streamer.login, PQgetvalue(r, 0, 1));
        utf8_copy(ru->streamer.display_name, sizeof ru->streamer.display_name, PQgetvalue(r, 0, 2));
        return;
    case STORE_READ_STATS_STREAMERS:
    case STORE_READ_STATS_TYPES:
        if (!(ru->stats = calloc(1, sizeof *ru->stats))) {
            ru->status = -1;
            return;
        }
        for (int i = 0; i < PQntuples(r); i++)
            if (stats_push(ru->stats, &cap, PQgetvalue(r, i, 0), pg_int(r, i, 1)) < 0) {
                ru->status = -1;
                return;
            }
        return;
    case STORE_READ_STATS_HOURLY:
        if (!(ru->stats = stats_hours_new(ru->first_hour, q->limit))) {
            ru->status = -1;
            return;
        }
        for (int i = 0; i < PQntuples(r); i++) {
            int64_t h = pg_int(r, i, 0) - ru->first_hour;
            if (h >= 0 && h < q->limit)
                ru->stats->rows[h].count = pg_int(r, i, 1);
        }
        return;
    default:
        return;
    }
}

static void read_done(struct pg_unit *u, int status)
{
    struct read_unit *ru = (struct read_unit *)u;
    const struct store_read *q = &ru->req;
    if (status < 0)
        ru->status = -1;
    int st = ru->status;
    switch (q->kind) {
    case STORE_READ_RECENT:
    case STORE_READ_SINCE: {
        struct event_list *l = st == 0 ? ru->events : NULL;
        if (l)
            ru->events = NULL;
        else if (st == 0)
            st = -1;
        q->cb.events(q->arg, st, l);
        break;
    }
    case STORE_READ_STREAMER:
        q->cb.streamer(q->arg, st, st == 0 ? &ru->streamer : NULL);
        break;
    default: {
        struct stat_list *l = st == 0 ? ru->stats : NULL;
        if (l)
            ru->stats = NULL;
        else if (st == 0)
            st = -1;
        q->cb.stats(q->arg, st, l);
        break;
    }
    }
    event_list_free(ru->events);
    stat_list_free(ru->stats);
    free(ru->login);
    free(ru->ref_id);
    free(ru);
}

int pg_read(struct store *st, const struct store_read *req)
{
    struct pg_store *ps = (struct pg_store *)st;
    if (ps->closed)
        return -1;
    struct read_unit *ru = calloc(1, sizeof *ru);
    if (!ru)
        return -1;
    ru->req = *req;
    ru->login = strdup(req->login);
    if (!ru->login || (req->ref_id && !(ru->ref_id = strdup(req->ref_id)))) {
        free(ru->login);
        free(ru);
        return -1;
    }
    ru->req.login = ru->login;
    ru->req.ref_id = ru->ref_id;
    ru->first_hour = req->now_us / HOUR_US - (req->limit - 1);
    ru->u.send = read_send;
    ru->u.result = read_result;
    ru->u.done = read_done;
    pg_conn_submit(&ps->reader, &ru->u);
    return 0;
}

/* ---- accounts ---- */

#define USER_COLUMNS                                                                               \
    "u.id, u.login, u.display_name, u.profile_image_url, u.created_at_us,"                         \
    " f.streamer_id, f.login, f.display_name"

struct acct_unit {
    struct pg_unit u;
    struct store_acct_op *op; /* owned until delivered */
};

static int q_send(PGconn *c, const char *sql, int n, const char *const *v, const int *len,
                  const int *fmt)
{
    return PQsendQueryParams(c, sql, n, NULL, v, len, fmt, 0) ? 0 : -1;
}

static int acct_send(struct pg_unit *u, PGconn *c)
{
    struct store_acct_op *op = ((struct acct_unit *)u)->op;
    char now[24], exp[24];
    snprintf(now, sizeof now, "%lld", (long long)op->now_us);
    snprintf(exp, sizeof exp, "%lld", (long long)op->expires_at_us);
    const char *key = (const char *)op->key;
    static const int key_fmt[4] = {1, 0, 0, 0};
    const int key_len[4] = {STORE_SESSION_KEY_LEN, 0, 0, 0};
    switch (op->kind) {
    case ACCT_USER_PUT: {
        const struct store_user *us = &op->user;
        const char *v[5] = {us->id, us->login, us->display_name[0] ? us->display_name : us->login,
                            us->profile_image_url, now};
        return q_send(c,
                      "INSERT INTO users(id, login, display_name, profile_image_url, created_at_us,"
                      " updated_at_us) VALUES ($1, lower($2), $3, $4, $5, $5)"
                      " ON CONFLICT (id) DO UPDATE SET login = excluded.login,"
                      " display_name = excluded.display_name,"
                      " profile_image_url = excluded.profile_image_url,"
                      " updated_at_us = excluded.updated_at_us",
                      5, v, NULL, NULL);
    }
    case ACCT_USER_DELETE: {
        const char *v[1] = {op->user_id};
        return q_send(c, "DELETE FROM sessions WHERE user_id = $1", 1, v, NULL, NULL) ||
                       q_send(c, "DELETE FROM tokens WHERE owner = $1", 1, v, NULL, NULL) ||
                       q_send(c, "DELETE FROM favorites WHERE user_id = $1", 1, v, NULL, NULL) ||
                       q_send(c, "DELETE FROM users WHERE id = $1", 1, v, NULL, NULL)
                   ? -1
                   : 0;
    }
    case ACCT_SESSION_PUT: {
        const char *v[4] = {key, op->user_id, now, exp};
        return q_send(c,
                      "INSERT INTO sessions(key, user_id, created_at_us, expires_at_us)"
                      " VALUES ($1, $2, $3, $4) ON CONFLICT (key) DO UPDATE SET"
                      " user_id = excluded.user_id, created_at_us = excluded.created_at_us,"
                      " expires_at_us = excluded.expires_at_us",
                      4, v, key_len, key_fmt);
    }
    case ACCT_SESSION_DELETE: {
        const char *v[1] = {key};
        return q_send(c, "DELETE FROM sessions WHERE key = $1", 1, v, key_len, key_fmt);
    }
    case ACCT_SESSIONS_DELETE: {
        const char *v[1] = {op->user_id[0] ? op->user_id : now};
        return q_send(c,
                      op->user_id[0] ? "DELETE FROM sessions WHERE user_id = $1"
                                     : "DELETE FROM sessions WHERE expires_at_us <= $1",
                      1, v, NULL, NULL);
    }
    case ACCT_TOKEN_PUT: {
        char tok_exp[24];
        snprintf(tok_exp, sizeof tok_exp, "%lld", (long long)op->token.expires_at_us);
        const char *v[5] = {op->token.owner, (const char *)op->token.sealed, op->token.scopes,
                            tok_exp, now};
        const int len[5] = {0, (int)op->token.sealed_len, 0, 0, 0};
        const int fmt[5] = {0, 1, 0, 0, 0};
        return q_send(c,
                      "INSERT INTO tokens(owner, sealed, scopes, expires_at_us, updated_at_us)"
                      " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (owner) DO UPDATE SET"
                      " sealed = excluded.sealed, scopes = excluded.scopes,"
                      " expires_at_us = excluded.expires_at_us,"
                      " updated_at_us = excluded.updated_at_us",
                      5, v, len, fmt);
    }
    case ACCT_TOKEN_DELETE: {
        const char *v[1] = {op->user_id};
        return q_send(c, "DELETE FROM tokens WHERE owner = $1", 1, v, NULL, NULL);
    }
    case ACCT_FAVORITE_SET: {
        const struct streamer_info *si = &op->streamer;
        if (!op->has_streamer) {
            const char *v[1] = {op->user_id};
            return q_send(c, "DELETE FROM favorites WHERE user_id = $1", 1, v, NULL, NULL);
        }
        const char *v[5] = {op->user_id, si->id, si->login,
                            si->display_name[0] ? si->display_name : si->login, now};
        return q_send(c,
                      "INSERT INTO favorites(user_id, streamer_id, login, display_name, set_at_us)"
                      " VALUES ($1, $2, lower($3), $4, $5) ON CONFLICT (user_id) DO UPDATE SET"
                      " streamer_id = excluded.streamer_id, login = excluded.login,"
                      " display_name = excluded.display_name, set_at_us = excluded.set_at_us",
                      5, v, NULL, NULL);
    }
    case ACCT_USER_GET: {
        const char *v[1] = {op->user_id};
        return q_send(c,
                      "SELECT " USER_COLUMNS " FROM users u"
                      " LEFT JOIN favorites f ON f.user_id = u.id WHERE u.id = $1",
                      1, v, NULL, NULL);
    }
    case ACCT_SESSION_GET: {
        const char *v[2] = {key, now};
        return q_send(c,
                      "SELECT " USER_COLUMNS " FROM sessions x JOIN users u ON u.id = x.user_id"
                      " LEFT JOIN favorites f ON f.user_id = u.id"
                      " WHERE x.key = $1 AND x.expires_at_us > $2",
                      2, v, key_len, key_fmt);
    }
    case ACCT_TOKENS_ALL:
        return q_send(c, "SELECT owner, sealed, scopes, expires_at_us FROM tokens ORDER BY owner",
                      0, NULL, NULL, NULL);
    case ACCT_FAVORITES_ALL:
        return q_send(c,
                      "SELECT f.user_id, f.streamer_id, coalesce(s.login, f.login),"
                      " coalesce(s.display_name, f.display_name) FROM favorites f"
                      " LEFT JOIN streamers s ON s.id = f.streamer_id ORDER BY f.user_id",
                      0, NULL, NULL, NULL);
    default:
        return -1;
    }
}

static void copy_col(const PGresult *r, int row, int col, char *out, size_t size)
{
    utf8_copy(out, size, PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col));
}

static int read_tokens(const PGresult *r, struct store_acct_op *op)
{
    int n = PQntuples(r);
    struct store_token_list *l = calloc(1, sizeof *l);
    if (!l)
        return -1;
    op->tokens = l;
    if (n && !(l->items = calloc((size_t)n, sizeof *l->items)))
        return -1;
    for (int i = 0; i < n; i++) {
        struct store_token *t = &l->items[i];
        copy_col(r, i, 0, t->owner, sizeof t->owner);
        size_t len = 0;
        unsigned char *raw = PQunescapeBytea((const unsigned char *)PQgetvalue(r, i, 1), &len);
        if (!raw)
            return -1;
        if (len && (t->sealed = malloc(len))) {
            memcpy(t->sealed, raw, len);
            t->sealed_len = len;
        }
        PQfreemem(raw);
        if (len && !t->sealed)
            return -1;
        copy_col(r, i, 2, t->scopes, sizeof t->scopes);
        t->expires_at_us = pg_int(r, i, 3);
        l->count++;
    }
    return 0;
}

static int read_favorites(const PGresult *r, struct store_acct_op *op)
{
    int n = PQntuples(r);
    struct store_favorite_list *l = calloc(1, sizeof *l);
    if (!l)
        return -1;
    op->favorites = l;
    if (n && !(l->items = calloc((size_t)n, sizeof *l->items)))
        return -1;
    for (int i = 0; i < n; i++) {
        struct store_favorite *f = &l->items[i];
        copy_col(r, i, 0, f->user_id, sizeof f->user_id);
        copy_col(r, i, 1, f->streamer.id, sizeof f->streamer.id);
        copy_col(r, i, 2, f->streamer.login, sizeof f->streamer.login);
        copy_col(r, i, 3, f->streamer.display_name, sizeof f->streamer.display_name);
        l->count++;
    }
    return 0;
}

static void acct_result(struct pg_unit *u, int index, const PGresult *r)
{
    struct store_acct_op *op = ((struct acct_unit *)u)->op;
    switch (op->kind) {
    case ACCT_USER_GET:
    case ACCT_SESSION_GET: {
        if (PQntuples(r) == 0) {
            op->status = 1;
            return;
        }
        struct store_user *us = &op->user;
        memset(us, 0, sizeof *us);
        copy_col(r, 0, 0, us->id, sizeof us->id);
        copy_col(r, 0, 1, us->login, sizeof us->login);
        copy_col(r, 0, 2, us->display_name, sizeof us->display_name);
        copy_col(r, 0, 3, us->profile_image_url, sizeof us->profile_image_url);
        us->created_at_us = pg_int(r, 0, 4);
        if (!PQgetisnull(r, 0, 5)) {
            us->has_favorite = 1;
            copy_col(r, 0, 5, us->favorite.id, sizeof us->favorite.id);
            copy_col(r, 0, 6, us->favorite.login, sizeof us->favorite.login);
            copy_col(r, 0, 7, us->favorite.display_name, sizeof us->favorite.display_name);
        }
        return;
    }
    case ACCT_TOKENS_ALL:
        if (read_tokens(r, op) < 0)
            op->status = -1;
        return;
    case ACCT_FAVORITES_ALL:
        if (read_favorites(r, op) < 0)
            op->status = -1;
        return;
    default:
        return;
    }
}

static void acct_done(struct pg_unit *u, int status)
{
    struct store_acct_op *op = ((struct acct_unit *)u)->op;
    free(u);
    if (status < 0)
        op->status = -1;
    store_acct_deliver(op);
}

int pg_account(struct store *st, struct store_acct_op *op)
{
    struct pg_store *ps = (struct pg_store *)st;
    if (ps->closed)
        return -1;
    struct acct_unit *a = calloc(1, sizeof *a);
    if (!a)
        return -1;
    a->op = op;
    op->status = 0;
    a->u.send = acct_send;
    a->u.result = acct_result;
    a->u.done = acct_done;
    pg_conn_submit(op->writes ? &ps->writer : &ps->reader, &a->u);
    return 0;
}
