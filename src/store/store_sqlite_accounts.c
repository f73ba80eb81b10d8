/* store_sqlite_accounts.c: users, sessions, sealed tokens and favorites in SQLite.
 *
 * Writes are jobs for the writer thread (struct acct_job, run by store_sqlite_write.c inside
 * its batch transaction through its run function): each one in a SAVEPOINT, so a failing account
 * write is rolled back alone and never takes the events of its batch with it. Reads are uv_work
 * jobs on the pool's read-only connections. These statements are rare (logins, API calls), so they
 * are prepared per use rather than kept. */
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "store/store_sqlite_int.h"

#define USER_COLUMNS                                                                               \
    "u.id, u.login, u.display_name, u.profile_image_url, u.created_at_us,"                         \
    " f.streamer_id, f.login, f.display_name"

/* ---- helpers ---- */

static int prep(sqlite3 *db, const char *sql, sqlite3_stmt **s)
{
    return sqlite3_prepare_v2(db, sql, -1, s, NULL) == SQLITE_OK ? 0 : -1;
}

static int text(sqlite3_stmt *s, int i, const char *v)
{
    return sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

/* Runs a prepared statement with no rows; finalizes it. 0 or -1. */
static int run_stmt(sqlite3_stmt *s, int bound)
{
    int rc = bound == SQLITE_OK && sqlite3_step(s) == SQLITE_DONE ? 0 : -1;
    sqlite3_finalize(s);
    return rc;
}

static void col_copy(sqlite3_stmt *s, int i, char *out, size_t size)
{
    utf8_copy(out, size, (const char *)sqlite3_column_text(s, i));
}

static void user_from_row(sqlite3_stmt *s, struct store_user *u)
{
    memset(u, 0, sizeof *u);
    col_copy(s, 0, u->id, sizeof u->id);
    col_copy(s, 1, u->login, sizeof u->login);
    col_copy(s, 2, u->display_name, sizeof u->display_name);
    col_copy(s, 3, u->profile_image_url, sizeof u->profile_image_url);
    u->created_at_us = sqlite3_column_int64(s, 4);
    if (sqlite3_column_type(s, 5) != SQLITE_NULL) {
        u->has_favorite = 1;
        col_copy(s, 5, u->favorite.id, sizeof u->favorite.id);
        col_copy(s, 6, u->favorite.login, sizeof u->favorite.login);
        col_copy(s, 7, u->favorite.display_name, sizeof u->favorite.display_name);
    }
}

/* ---- writes (writer thread, inside the batch's transaction) ---- */

static int w_user_put(sqlite3 *db, struct store_acct_op *op)
{
    sqlite3_stmt *s;
    if (prep(db,
             "INSERT INTO users(id, login, display_name, profile_image_url, created_at_us,"
             " updated_at_us) VALUES (?1, lower(?2), ?3, ?4, ?5, ?5)"
             " ON CONFLICT(id) DO UPDATE SET login = excluded.login,"
             " display_name = excluded.display_name,"
             " profile_image_url = excluded.profile_image_url,"
             " updated_at_us = excluded.updated_at_us",
             &s) < 0)
        return -1;
    const struct store_user *u = &op->user;
    int b = text(s, 1, u->id) | text(s, 2, u->login) |
            text(s, 3, u->display_name[0] ? u->display_name : u->login) |
            text(s, 4, u->profile_image_url) | sqlite3_bind_int64(s, 5, op->now_us);
    return run_stmt(s, b);
}

static int exec_user(sqlite3 *db, const char *sql, const char *user_id)
{
    sqlite3_stmt *s;
    if (prep(db, sql, &s) < 0)
        return -1;
    return run_stmt(s, text(s, 1, user_id));
}

static int w_user_delete(sqlite3 *db, struct store_acct_op *op)
{
    static const char *const sql[] = {
        "DELETE FROM sessions WHERE user_id = ?1",
        "DELETE FROM tokens WHERE owner = ?1",
        "DELETE FROM favorites WHERE user_id = ?1",
        "DELETE FROM users WHERE id = ?1",
    };
    for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++)
        if (exec_user(db, sql[i], op->user_id) < 0)
            return -1;
    return 0;
}

static int w_session_put(sqlite3 *db, struct store_acct_op *op)
{
    sqlite3_stmt *s;
    if (prep(db,
             "INSERT OR REPLACE INTO sessions(key, user_id, created_at_us, expires_at_us)"
             " VALUES (?1, ?2, ?3, ?4)",
             &s) < 0)
        return -1;
    int b = sqlite3_bind_blob(s, 1, op->key, STORE_SESSION_KEY_LEN, SQLITE_STATIC) |
            text(s, 2, op->user_id) | sqlite3_bind_int64(s, 3, op->now_us) |
            sqlite3_bind_int64(s, 4, op->expires_at_us);
    return run_stmt(s, b);
}

static int w_session_delete(sqlite3 *db, struct store_acct_op *op)
{
    sqlite3_stmt *s;
    if (prep(db, "DELETE FROM sessions WHERE key = ?1", &s) < 0)
        return -1;
    return run_stmt(s, sqlite3_bind_blob(s, 1, op->key, STORE_SESSION_KEY_LEN, SQLITE_STATIC));
}

static int w_sessions_delete(sqlite3 *db, struct store_acct_op *op)
{
    if (op->user_id[0])
        return exec_user(db, "DELETE FROM sessions WHERE user_id = ?1", op->user_id);
    sqlite3_stmt *s;
    if (prep(db, "DELETE FROM sessions WHERE expires_at_us <= ?1", &s) < 0)
        return -1;
    return run_stmt(s, sqlite3_bind_int64(s, 1, op->now_us));
}

static int w_token_put(sqlite3 *db, struct store_acct_op *op)
{
    sqlite3_stmt *s;
    if (prep(db,
             "INSERT OR REPLACE INTO tokens(owner, sealed, scopes, expires_at_us, updated_at_us)"
             " VALUES (?1, ?2, ?3, ?4, ?5)",
             &s) < 0)
        return -1;
    int b = text(s, 1, op->token.owner) |
            sqlite3_bind_blob(s, 2, op->token.sealed, (int)op->token.sealed_len, SQLITE_STATIC) |
            text(s, 3, op->token.scopes) | sqlite3_bind_int64(s, 4, op->token.expires_at_us) |
            sqlite3_bind_int64(s, 5, op->now_us);
    return run_stmt(s, b);
}

static int w_favorite_set(sqlite3 *db, struct store_acct_op *op)
{
    if (!op->has_streamer)
        return exec_user(db, "DELETE FROM favorites WHERE user_id = ?1", op->user_id);
    sqlite3_stmt *s;
    if (prep(db,
             "INSERT OR REPLACE INTO favorites(user_id, streamer_id, login, display_name,"
             " set_at_us) VALUES (?1, ?2, lower(?3), ?4, ?5)",
             &s) < 0)
        return -1;
    const struct streamer_info *si = &op->streamer;
    int b = text(s, 1, op->user_id) | text(s, 2, si->id) | text(s, 3, si->login) |
            text(s, 4, si->display_name[0] ? si->display_name : si->login) |
            sqlite3_bind_int64(s, 5, op->now_us);
    return run_stmt(s, b);
}

static int acct_write(sqlite3 *db, struct store_acct_op *op)
{
    if (sqlite3_exec(db, "SAVEPOINT acct", NULL, NULL, NULL) != SQLITE_OK) {
        op->status = -1;
        return -1;
    }
    int rc;
    switch (op->kind) {
    case ACCT_USER_PUT: rc = w_user_put(db, op); break;
    case ACCT_USER_DELETE: rc = w_user_delete(db, op); break;
    case ACCT_SESSION_PUT: rc = w_session_put(db, op); break;
    case ACCT_SESSION_DELETE: rc = w_session_delete(db, op); break;
    case ACCT_SESSIONS_DELETE: rc = w_sessions_delete(db, op); break;
    case ACCT_TOKEN_PUT: rc = w_token_put(db, op); break;
    case ACCT_TOKEN_DELETE:
        rc = exec_user(db, "DELETE FROM tokens WHERE owner = ?1", op->user_id);
        break;
    case ACCT_FAVORITE_SET: rc = w_favorite_set(db, op); break;
    default: rc = -1; break;
    }
    if (rc < 0) {
        log_error("store.account_write_failed", "kind=%d err=\"%s\"", (int)op->kind,
                  sqlite3_errmsg(db));
        sqlite3_exec(db, "ROLLBACK TO acct", NULL, NULL, NULL);
    }
    sqlite3_exec(db, "RELEASE acct", NULL, NULL, NULL);
    op->status = rc < 0 ? -1 : 0;
    return op->status;
}

/* An account write as a writer job. */
struct acct_job {
    struct write_job base;    /* first */
    struct store_acct_op *op; /* owned until delivered */
};

/* Writer thread: in its own savepoint, so it fails alone (never an error for the batch). */
static int acct_job_run(struct sql_conn *c, struct write_job *base)
{
    struct acct_job *j = (struct acct_job *)base;
    j->base.status = acct_write(c->db, j->op);
    return 0;
}

static void acct_job_deliver(struct write_job *base)
{
    struct acct_job *j = (struct acct_job *)base;
    if (j->base.status < 0)
        j->op->status = -1; /* the whole batch failed */
    store_acct_deliver(j->op);
    free(j);
}

static int acct_write_submit(struct sqlite_store *ss, struct store_acct_op *op)
{
    struct acct_job *j = calloc(1, sizeof *j);
    if (!j)
        return -1;
    j->base.run = acct_job_run;
    j->base.deliver = acct_job_deliver;
    j->op = op;
    return sqlite_writer_submit(&ss->w, &j->base) < 0 ? -1 : 0;
}

/* ---- reads (pool thread) ---- */

static int r_user(sqlite3 *db, struct store_acct_op *op, int by_session)
{
    sqlite3_stmt *s;
    const char *sql = by_session
                          ? "SELECT " USER_COLUMNS " FROM sessions x JOIN users u ON u.id = x.user_id"
                            " LEFT JOIN favorites f ON f.user_id = u.id"
                            " WHERE x.key = ?1 AND x.expires_at_us > ?2"
                          : "SELECT " USER_COLUMNS " FROM users u"
                            " LEFT JOIN favorites f ON f.user_id = u.id WHERE u.id = ?1";
    if (prep(db, sql, &s) < 0)
        return -1;
    int b = by_session ? sqlite3_bind_blob(s, 1, op->key, STORE_SESSION_KEY_LEN, SQLITE_STATIC) |
                             sqlite3_bind_int64(s, 2, op->now_us)
                       : text(s, 1, op->user_id);
    int rc = -1;
    if (b == SQLITE_OK) {
        int step = sqlite3_step(s);
        if (step == SQLITE_ROW) {
            user_from_row(s, &op->user);
            rc = 0;
        } else if (step == SQLITE_DONE) {
            rc = 1;
        }
    }
    sqlite3_finalize(s);
    return rc;
}

static int r_tokens(sqlite3 *db, struct store_acct_op *op)
{
    sqlite3_stmt *s;
    if (prep(db, "SELECT owner, sealed, scopes, expires_at_us FROM tokens ORDER BY owner", &s) < 0)
        return -1;
    struct store_token_list *l = calloc(1, sizeof *l);
    size_t cap = 0;
    int step, rc = -1;
    if (!l)
        goto done;
    op->tokens = l;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        if (l->count == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            struct store_token *n = realloc(l->items, ncap * sizeof *n);
            if (!n)
                goto done;
            l->items = n;
            cap = ncap;
        }
        struct store_token *t = &l->items[l->count];
        memset(t, 0, sizeof *t);
        col_copy(s, 0, t->owner, sizeof t->owner);
        int len = sqlite3_column_bytes(s, 1);
        const void *blob = sqlite3_column_blob(s, 1);
        if (len > 0 && blob) {
            if (!(t->sealed = malloc((size_t)len)))
                goto done;
            memcpy(t->sealed, blob, (size_t)len);
            t->sealed_len = (size_t)len;
        }
        col_copy(s, 2, t->scopes, sizeof t->scopes);
        t->expires_at_us = sqlite3_column_int64(s, 3);
        l->count++;
    }
    rc = step == SQLITE_DONE ? 0 : -1;
done:
    sqlite3_finalize(s);
    return rc;
}

static int r_favorites(sqlite3 *db, struct store_acct_op *op)
{
    sqlite3_stmt *s;
    if (prep(db,
             "SELECT f.user_id, f.streamer_id, coalesce(s.login, f.login),"
             " coalesce(s.display_name, f.display_name)"
             " FROM favorites f LEFT JOIN streamers s ON s.id = f.streamer_id ORDER BY f.user_id",
             &s) < 0)
        return -1;
    struct store_favorite_list *l = calloc(1, sizeof *l);
    size_t cap = 0;
    int step, rc = -1;
    if (!l)
        goto done;
    op->favorites = l;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        if (l->count == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            struct store_favorite *n = realloc(l->items, ncap * sizeof *n);
            if (!n)
                goto done;
            l->items = n;
            cap = ncap;
        }
        struct store_favorite *f = &l->items[l->count++];
        memset(f, 0, sizeof *f);
        col_copy(s, 0, f->user_id, sizeof f->user_id);
        col_copy(s, 1, f->streamer.id, sizeof f->streamer.id);
        col_copy(s, 2, f->streamer.login, sizeof f->streamer.login);
        col_copy(s, 3, f->streamer.display_name, sizeof f->streamer.display_name);
    }
    rc = step == SQLITE_DONE ? 0 : -1;
done:
    sqlite3_finalize(s);
    return rc;
}

struct acct_read {
    uv_work_t work;
    struct sqlite_store *ss;
    struct store_acct_op *op;
};

static void acct_read_work(uv_work_t *w)
{
    struct acct_read *r = w->data;
    struct store_acct_op *op = r->op;
    struct sql_conn *c = sqlite_pool_take(&r->ss->pool);
    if (!c) {
        op->status = -1;
        return;
    }
    switch (op->kind) {
    case ACCT_USER_GET: op->status = r_user(c->db, op, 0); break;
    case ACCT_SESSION_GET: op->status = r_user(c->db, op, 1); break;
    case ACCT_TOKENS_ALL: op->status = r_tokens(c->db, op); break;
    case ACCT_FAVORITES_ALL: op->status = r_favorites(c->db, op); break;
    default: op->status = -1; break;
    }
    if (op->status < 0)
        log_error("store.account_read_failed", "kind=%d err=\"%s\"", (int)op->kind,
                  sqlite3_errmsg(c->db));
    sqlite_pool_give(&r->ss->pool, c);
}

static void acct_read_after(uv_work_t *w, int status)
{
    struct acct_read *r = w->data;
    struct sqlite_store *ss = r->ss;
    if (status == UV_ECANCELED)
        r->op->status = -1;
    store_acct_deliver(r->op);
    free(r);
    ss->reads_inflight--;
    ss->maybe_free(ss);
}

int sqlite_account(struct store *st, struct store_acct_op *op)
{
    struct sqlite_store *ss = (struct sqlite_store *)st;
    if (ss->closed)
        return -1;
    if (op->writes)
        return acct_write_submit(ss, op);
    struct acct_read *r = calloc(1, sizeof *r);
    if (!r)
        return -1;
    r->ss = ss;
    r->op = op;
    r->work.data = r;
    if (uv_queue_work(st->loop, &r->work, acct_read_work, acct_read_after) != 0) {
        free(r);
        return -1;
    }
    ss->reads_inflight++;
    return 0;
}
