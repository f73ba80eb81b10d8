/* store_sqlite_schema.c: the SQLite schema as an ordered list of migrations.
 *
 * The database's schema version is PRAGMA user_version: the number of migrations applied.
 * Each migration runs in its own transaction together with the version bump, so a crash
 * leaves the database at a whole version. A database whose version is higher than the
 * length of this array was written by a newer SEV: we refuse to open it rather than guess.
 *
 * To change the schema, APPEND one string to `migrations` (never edit a released one), and
 * say why in docs/storage.md.
 */
#include <sqlite3.h>
#include <stdio.h>

#include "store/store_sqlite_int.h"

static const char *const migrations[] = {
    /* 1: events, streamers, settings. */
    "CREATE TABLE events ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  id TEXT NOT NULL UNIQUE,"
    "  type TEXT NOT NULL,"
    "  dedupe_key TEXT UNIQUE,"
    "  streamer_id TEXT NOT NULL,"
    "  streamer_login TEXT NOT NULL,"
    "  viewer_id TEXT,"
    "  viewer_login TEXT,"
    "  viewer_name TEXT,"
    "  created_at_us INTEGER NOT NULL,"
    "  received_at_us INTEGER NOT NULL,"
    "  summary TEXT,"
    "  data TEXT"
    ") STRICT;"
    "CREATE INDEX events_streamer_seq ON events(streamer_id, seq);"
    "CREATE INDEX events_streamer_type ON events(streamer_id, type);"
    "CREATE INDEX events_streamer_time ON events(streamer_id, created_at_us);"
    "CREATE TABLE streamers ("
    "  id TEXT PRIMARY KEY,"
    "  login TEXT UNIQUE,"
    "  display_name TEXT NOT NULL,"
    "  first_seen_us INTEGER NOT NULL,"
    "  last_event_us INTEGER"
    ") STRICT, WITHOUT ROWID;"
    "CREATE TABLE settings ("
    "  key TEXT PRIMARY KEY,"
    "  value TEXT NOT NULL"
    ") STRICT, WITHOUT ROWID;",
    /* 2: accounts. Sessions are keyed by SHA-256 of the cookie's secret; tokens are sealed
     * (AES-256-GCM) by auth/tokenbox before they get here; favorites keep the streamer's
     * login and name as they were when chosen. Deleting a user is one transaction over
     * users, tokens, sessions and favorites (no foreign keys to keep in step). */
    "CREATE TABLE users ("
    "  id TEXT PRIMARY KEY,"
    "  login TEXT NOT NULL,"
    "  display_name TEXT NOT NULL,"
    "  profile_image_url TEXT NOT NULL DEFAULT '',"
    "  created_at_us INTEGER NOT NULL,"
    "  updated_at_us INTEGER NOT NULL"
    ") STRICT, WITHOUT ROWID;"
    "CREATE TABLE sessions ("
    "  key BLOB PRIMARY KEY,"
    "  user_id TEXT NOT NULL,"
    "  created_at_us INTEGER NOT NULL,"
    "  expires_at_us INTEGER NOT NULL"
    ") STRICT, WITHOUT ROWID;"
    "CREATE INDEX sessions_user ON sessions(user_id);"
    "CREATE INDEX sessions_expiry ON sessions(expires_at_us);"
    "CREATE TABLE tokens ("
    "  owner TEXT PRIMARY KEY,"
    "  sealed BLOB NOT NULL,"
    "  scopes TEXT NOT NULL,"
    "  expires_at_us INTEGER NOT NULL,"
    "  updated_at_us INTEGER NOT NULL"
    ") STRICT, WITHOUT ROWID;"
    "CREATE TABLE favorites ("
    "  user_id TEXT PRIMARY KEY,"
    "  streamer_id TEXT NOT NULL,"
    "  login TEXT NOT NULL,"
    "  display_name TEXT NOT NULL,"
    "  set_at_us INTEGER NOT NULL"
    ") STRICT, WITHOUT ROWID;"
    "CREATE INDEX favorites_streamer ON favorites(streamer_id);",
    /* 3: the per-streamer order (streamer_seq: dense from 1 per streamer, in commit order),
     * kept by a counter row per streamer bumped in the transaction that stores the event.
     * Existing rows are numbered in the order they were stored (seq). */
    "ALTER TABLE events ADD COLUMN streamer_seq INTEGER NOT NULL DEFAULT 0;"
    "UPDATE events SET streamer_seq = r.n FROM"
    "  (SELECT seq, row_number() OVER (PARTITION BY streamer_id ORDER BY seq) AS n FROM events) r"
    "  WHERE r.seq = events.seq;"
    "DROP INDEX events_streamer_seq;"
    "CREATE UNIQUE INDEX events_streamer_order ON events(streamer_id, streamer_seq);"
    "CREATE TABLE streamer_counters ("
    "  streamer_id TEXT PRIMARY KEY,"
    "  last_seq INTEGER NOT NULL"
    ") STRICT, WITHOUT ROWID;"
    "INSERT INTO streamer_counters(streamer_id, last_seq)"
    "  SELECT streamer_id, max(streamer_seq) FROM events GROUP BY streamer_id;",
};

#define MIGRATIONS_COUNT ((int)(sizeof migrations / sizeof migrations[0]))

int sqlite_schema_latest(void)
{
    return MIGRATIONS_COUNT;
}

static int exec(sqlite3 *db, const char *sql, const char *path, struct err *err)
{
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return err_set(err, "database %s: migration: %s", path, sqlite3_errmsg(db));
    return 0;
}

static int user_version(sqlite3 *db, int *out)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        *out = sqlite3_column_int(s, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(s);
    return rc == SQLITE_OK ? 0 : -1;
}

/* Applies the migration after the current version, if any, in one transaction. Returns 1
 * when one was applied, 0 when the schema is current, -1 with err. The version is read
 * inside the transaction so two processes opening one file never apply a migration twice. */
static int migrate_step(sqlite3 *db, const char *path, struct err *err)
{
    int version = 0, applied = 0;
    if (exec(db, "BEGIN IMMEDIATE", path, err) < 0)
        return -1;
    if (user_version(db, &version) < 0) {
        err_set(err, "database %s: reading schema version: %s", path, sqlite3_errmsg(db));
        goto rollback;
    }
    if (version > MIGRATIONS_COUNT) {
        err_set(err,
                "database %s has schema version %d, newer than this build of sev knows (%d): "
                "refusing to open it; run a newer sev",
                path, version, MIGRATIONS_COUNT);
        goto rollback;
    }
    if (version < MIGRATIONS_COUNT) {
        char bump[48];
        snprintf(bump, sizeof bump, "PRAGMA user_version = %d", version + 1);
        if (exec(db, migrations[version], path, err) < 0 || exec(db, bump, path, err) < 0)
            goto rollback;
        applied = 1;
    }
    if (exec(db, "COMMIT", path, err) < 0)
        goto rollback;
    return applied;
rollback:
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

int sqlite_migrate(sqlite3 *db, const char *path, struct err *err)
{
    int rc;
    while ((rc = migrate_step(db, path, err)) == 1)
        ;
    return rc;
}
