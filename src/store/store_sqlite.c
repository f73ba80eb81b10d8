/* store_sqlite.c: the SQLite backend — open, close, settings, ping. The threads and the life
 * of struct sqlite_store are drawn in store_sqlite_int.h; the connection helpers are in
 * store_sqlite_conn.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store/store_sqlite_int.h"

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

static void sqlite_store_maybe_free(struct sqlite_store *ss);

static int sqlite_open(uv_loop_t *loop, const char *path, struct store **out, struct err *err)
{
    if (!*path)
        return err_set(err, "database: empty path (want sqlite:PATH)");
    struct sqlite_store *ss = calloc(1, sizeof *ss);
    if (!ss)
        return err_set(err, "database %s: out of memory", path);
    ss->base.be = &store_sqlite_backend;
    ss->base.loop = loop;
    ss->maybe_free = sqlite_store_maybe_free;
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

/* Lower files (the writer, the reads) reach this through ss->maybe_free. */
static void sqlite_store_maybe_free(struct sqlite_store *ss)
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
