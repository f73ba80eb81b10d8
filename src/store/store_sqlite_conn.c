/* store_sqlite_conn.c: the SQLite backend's connection helpers, shared by the main
 * connection (store_sqlite.c), the writer (store_sqlite_write.c) and the readers
 * (store_sqlite_read.c). They call nothing else of the store. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
