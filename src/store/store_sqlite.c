/* store_sqlite.c: the SQLite backend — open, close, settings, ping, and the connection
 * helpers the writer (store_sqlite_write.c) and the readers (store_sqlite_read.c) share.
 * The threads and the life of struct sqlite_store are drawn in store_sqlite_int.h. */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store/store_sqlite_int.h"

/* ---- connections ---- */

int sql_conn_open(struct sql_conn *c, const char *path, int flags, const char *const *sql,
                  size_t count, struct err *err)
{
    memset(c, 0, sizeof *c);
    c->stmt = calloc(count ? count : 1, sizeof *c->stmt);
    if (!c->stmt)
        return err_set(err, "database %s: out of memory", path);
    c->sql = sql;
    c->count = count;
    int rc = sqlite3_open_v2(path, &c->db, flags | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        int sys = c->db ? sqlite3_system_errno(c->db) : 0;
        err_set(err, "database %s: cannot open: %s%s%s", path,
                c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc), sys ? ": " : "",
                sys ? strerror(sys) : "");
        goto close_db;
    }
    sqlite3_extended_result_codes(c->db, 1);
    sqlite3_busy_timeout(c->db, SQL_BUSY_TIMEOUT_MS);
    return 0;
close_db:
    sqlite3_close(c->db);
    free(c->stmt);
    memset(c, 0, sizeof *c);
    return -1;
}

void sql_conn_release(struct sql_conn *c)
{
    for (size_t i = 0; c->stmt && i < c->count; i++)
        sqlite3_finalize(c->stmt[i]);
    free(c->stmt);
    sqlite3_close(c->db); /* every statement is finalized: this cannot be SQLITE_BUSY */
    memset(c, 0, sizeof *c);
}

sqlite3_stmt *sql_stmt(struct sql_conn *c, size_t i)
{
    assert(i < c->count);
    if (!c->stmt[i] && sqlite3_prepare_v3(c->db, c->sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                                          &c->stmt[i], NULL) != SQLITE_OK)
        return NULL;
    return c->stmt[i];
}

void sql_done(sqlite3_stmt *s)
{
    if (s) {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
    }
}

int sql_run(struct sql_conn *c, size_t i)
{
    sqlite3_stmt *s = sql_stmt(c, i);
    if (!s)
        return sqlite3_errcode(c->db);
    int rc = sqlite3_step(s);
    sql_done(s);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

void utf8_copy(char *dst, size_t size, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= size) {
        n = size - 1;
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
            n--; /* src[n] would be the first byte cut: never cut inside a character */
    }
    if (n)
        memcpy(dst, src, n);
    dst[n] = 0;
}

/* ---- open ---- */

enum main_stmt { M_SETTING_GET, M_SETTING_SET, M_PING, M_COUNT };

static const char *const main_sql[M_COUNT] = {
    [M_SETTING_GET] = "SELECT value FROM settings WHERE key = ?1",
    [M_SETTING_SET] = "INSERT INTO settings(key, value) VALUES (?1, ?2)"
                      " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    [M_PING] = "SELECT count(*) FROM sqlite_schema",
};

/* mkdir -p of everything before the last '/' of path. */
static int make_parent_dirs(const char *path, struct err *err)
{
    char *dir = strdup(path);
    if (!dir)
        return err_set(err, "database %s: out of memory", path);
    int rc = 0;
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
            rc = err_set(err, "database %s: cannot create directory %s: %s", path, dir,
                         strerror(errno));
            break;
        }
        *p = '/';
    }
    free(dir);
    return rc;
}

/* Runs a PRAGMA that answers one text value into out. */
static int pragma_text(sqlite3 *db, const char *sql, char *out, size_t size)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        const unsigned char *v = sqlite3_column_text(s, 0);
        snprintf(out, size, "%s", v ? (const char *)v : "");
        rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        snprintf(out, size, "%s", "");
        rc = SQLITE_OK;
    }
    sqlite3_finalize(s);
    return rc == SQLITE_OK ? 0 : -1;
}

/* The read-write settings every writing connection shares: WAL, and FULL sync so that a
 * COMMIT has reached the disk when it returns. */
int sql_conn_writable(struct sql_conn *c, const char *path, struct err *err)
{
    char mode[16];
    if (sqlite3_db_readonly(c->db, "main") == 1)
        return err_set(err, "database %s is not writable", path);
    if (pragma_text(c->db, "PRAGMA journal_mode = WAL", mode, sizeof mode) < 0)
        return err_set(err, "database %s: %s", path, sqlite3_errmsg(c->db));
    if (strcmp(mode, "wal") != 0)
        return err_set(err, "database %s: cannot use WAL mode (journal_mode is %s)", path, mode);
    if (sqlite3_exec(c->db, "PRAGMA synchronous = FULL", NULL, NULL, NULL) != SQLITE_OK)
        return err_set(err, "database %s: %s", path, sqlite3_errmsg(c->db));
    return 0;
}

static int main_open(struct sqlite_store *ss, struct err *err)
{
    if (sql_conn_open(&ss->main, ss->path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, main_sql,
                      M_COUNT, err) < 0)
        return -1;
    if (sql_conn_writable(&ss->main, ss->path, err) < 0)
        goto release_conn;
    /* Settings may hold secrets (an older SEV's plain EventSub secret): a replaced value is
     * overwritten with zeros on disk, not left in a free page. */
    if (sqlite3_exec(ss->main.db, "PRAGMA secure_delete = ON", NULL, NULL, NULL) != SQLITE_OK) {
        err_set(err, "database %s: %s", ss->path, sqlite3_errmsg(ss->main.db));
        goto release_conn;
    }
    if (sqlite_migrate(ss->main.db, ss->path, err) < 0)
        goto release_conn;
    return 0;
release_conn:
    sql_conn_release(&ss->main);
    return -1;
}

static int sqlite_open(uv_loop_t *loop, const char *path, struct store **out, struct err *err)
{
    if (!*path)
        return err_set(err, "database: empty path (want sqlite:PATH)");
    struct sqlite_store *ss = calloc(1, sizeof *ss);
    if (!ss)
        return err_set(err, "database %s: out of memory", path);
    ss->base.be = &store_sqlite_backend;
    ss->base.loop = loop;
    ss->path = strdup(path);
    if (!ss->path) {
        err_set(err, "database %s: out of memory", path);
        goto free_store;
    }
    if (make_parent_dirs(path, err) < 0 || main_open(ss, err) < 0)
        goto free_path;
    if (sqlite_pool_init(&ss->pool, ss->path, err) < 0)
        goto release_main;
    if (sqlite_writer_start(ss, err) < 0)
        goto release_pool;
    *out = &ss->base;
    return 0;
release_pool:
    sqlite_pool_release(&ss->pool);
release_main:
    sql_conn_release(&ss->main);
free_path:
    free(ss->path);
free_store:
    free(ss);
    return -1;
}

/* ---- close ---- */

void sqlite_store_maybe_free(struct sqlite_store *ss)
{
    if (!ss->closed || ss->async_open || ss->reads_inflight)
        return;
    sqlite_writer_release(ss);
    sqlite_pool_release(&ss->pool);
    free(ss->path);
    free(ss);
}

static void sqlite_close(struct store *st)
{
    struct sqlite_store *ss = (struct sqlite_store *)st;
    sqlite_writer_stop(ss);
    /* The main connection closes last: the last connection to close checkpoints the WAL
     * into the database file and removes it, leaving one self-contained file. */
    sqlite_pool_close_idle(&ss->pool);
    sql_conn_release(&ss->main);
    ss->closed = 1;
    sqlite_store_maybe_free(ss);
}

/* ---- settings and ping (main connection, loop thread) ---- */

static int sqlite_setting_get(struct store *st, const char *key, char **value, struct err *err)
{
    struct sqlite_store *ss = (struct sqlite_store *)st;
    sqlite3_stmt *s = sql_stmt(&ss->main, M_SETTING_GET);
    int rc = -1;
    if (!s || sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC) != SQLITE_OK)
        goto fail;
    int step = sqlite3_step(s);
    if (step == SQLITE_DONE) {
        rc = 1;
    } else if (step == SQLITE_ROW) {
        *value = strdup((const char *)sqlite3_column_text(s, 0));
        rc = *value ? 0 : err_set(err, "setting %s: out of memory", key);
    } else {
        goto fail;
    }
    sql_done(s);
    return rc;
fail:
    err_set(err, "setting %s: %s", key, sqlite3_errmsg(ss->main.db));
    sql_done(s);
    return -1;
}

static int sqlite_setting_set(struct store *st, const char *key, const char *value, struct err *err)
{
    struct sqlite_store *ss = (struct sqlite_store *)st;
    sqlite3_stmt *s = sql_stmt(&ss->main, M_SETTING_SET);
    if (!s || sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text(s, 2, value, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_step(s) != SQLITE_DONE) {
        err_set(err, "setting %s: %s", key, sqlite3_errmsg(ss->main.db));
        sql_done(s);
        return -1;
    }
    sql_done(s);
    return 0;
}

static int sqlite_ping(struct store *st)
{
    struct sqlite_store *ss = (struct sqlite_store *)st;
    return sql_run(&ss->main, M_PING) == SQLITE_OK ? 0 : -1;
}

const struct store_backend store_sqlite_backend = {
    .name = "sqlite",
    .open = sqlite_open,
    .close = sqlite_close,
    .append = sqlite_append,
    .streamer_put = sqlite_streamer_put,
    .read = sqlite_read,
    .setting_get = sqlite_setting_get,
    .setting_set = sqlite_setting_set,
    .ping = sqlite_ping,
    .counters = sqlite_counters,
    .account = sqlite_account,
};
