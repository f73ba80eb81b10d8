/* store_pg_schema.c: the PostgreSQL schema as an ordered list of migrations, and the monthly
 * partitions of events.
 *
 * The applied version is the highest row of sev_schema. Every start runs pg_migrate in one
 * transaction holding pg_advisory_xact_lock(PG_MIGRATE_LOCK): when several nodes start at
 * once, one migrates and the others wait, then find the schema current. A database whose
 * version is higher than this build knows is refused.
 *
 * To change the schema, APPEND one string to `migrations` (never edit a released one), and
 * say why in docs/storage.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_pg_int.h"

/* Advisory lock keys (any two bigints SEV alone uses). */
#define PG_MIGRATE_LOCK "7265767001"
#define PG_PARTITION_LOCK "7265767002"

static const char *const migrations[] = {
    /* 1: events (partitioned by month of received_at_us), their dedupe keys (not partitioned:
     * a unique index of a partitioned table must include the partition key, so it could not
     * say "this id is new" across months), the per-streamer counters, streamers, settings and
     * accounts. */
    "CREATE SEQUENCE events_seq;"
    "CREATE TABLE event_keys ("
    "  id text PRIMARY KEY,"
    "  dedupe_key text UNIQUE,"
    "  seq bigint NOT NULL"
    ");"
    "CREATE TABLE streamer_counters ("
    "  streamer_id text PRIMARY KEY,"
    "  last_seq bigint NOT NULL"
    ");"
    "CREATE TABLE events ("
    "  seq bigint NOT NULL,"
    "  streamer_seq bigint NOT NULL,"
    "  id text NOT NULL,"
    "  type text NOT NULL,"
    "  dedupe_key text,"
    "  streamer_id text NOT NULL,"
    "  streamer_login text NOT NULL,"
    "  viewer_id text,"
    "  viewer_login text,"
    "  viewer_name text,"
    "  created_at_us bigint NOT NULL,"
    "  received_at_us bigint NOT NULL,"
    "  summary text,"
    "  data text,"
    "  PRIMARY KEY (streamer_id, streamer_seq, received_at_us)"
    ") PARTITION BY RANGE (received_at_us);"
    "CREATE INDEX events_seq_idx ON events(seq);"
    "CREATE INDEX events_streamer_type ON events(streamer_id, type);"
    "CREATE INDEX events_streamer_time ON events(streamer_id, created_at_us);"
    "CREATE TABLE events_default PARTITION OF events DEFAULT;"
    "CREATE TABLE streamers ("
    "  id text PRIMARY KEY,"
    "  login text UNIQUE,"
    "  display_name text NOT NULL,"
    "  first_seen_us bigint NOT NULL,"
    "  last_event_us bigint"
    ");"
    "CREATE TABLE settings ("
    "  key text PRIMARY KEY,"
    "  value text NOT NULL"
    ");"
    "CREATE TABLE users ("
    "  id text PRIMARY KEY,"
    "  login text NOT NULL,"
    "  display_name text NOT NULL,"
    "  profile_image_url text NOT NULL DEFAULT '',"
    "  created_at_us bigint NOT NULL,"
    "  updated_at_us bigint NOT NULL"
    ");"
    "CREATE TABLE sessions ("
    "  key bytea PRIMARY KEY,"
    "  user_id text NOT NULL,"
    "  created_at_us bigint NOT NULL,"
    "  expires_at_us bigint NOT NULL"
    ");"
    "CREATE INDEX sessions_user ON sessions(user_id);"
    "CREATE INDEX sessions_expiry ON sessions(expires_at_us);"
    "CREATE TABLE tokens ("
    "  owner text PRIMARY KEY,"
    "  sealed bytea NOT NULL,"
    "  scopes text NOT NULL,"
    "  expires_at_us bigint NOT NULL,"
    "  updated_at_us bigint NOT NULL"
    ");"
    "CREATE TABLE favorites ("
    "  user_id text PRIMARY KEY,"
    "  streamer_id text NOT NULL,"
    "  login text NOT NULL,"
    "  display_name text NOT NULL,"
    "  set_at_us bigint NOT NULL"
    ");"
    "CREATE INDEX favorites_streamer ON favorites(streamer_id);"
    /* Creates the partitions of this month and the next `ahead` months (UTC) that are
     * missing. Serialized between nodes by an advisory lock. */
    "CREATE FUNCTION sev_events_partitions(ahead int) RETURNS void LANGUAGE plpgsql AS $f$"
    " DECLARE m timestamp; name text;"
    " BEGIN"
    "  PERFORM pg_advisory_xact_lock(" PG_PARTITION_LOCK ");"
    "  FOR i IN 0..ahead LOOP"
    "   m := date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => i);"
    "   name := 'events_' || to_char(m, 'YYYY_MM');"
    "   IF to_regclass(name) IS NULL THEN"
    "    EXECUTE format('CREATE TABLE %I PARTITION OF events FOR VALUES FROM (%s) TO (%s)',"
    "     name, (extract(epoch FROM m) * 1000000)::bigint,"
    "     (extract(epoch FROM m + interval '1 month') * 1000000)::bigint);"
    "   END IF;"
    "  END LOOP;"
    " END $f$;",
};

#define MIGRATIONS_COUNT ((int)(sizeof migrations / sizeof migrations[0]))

const char pg_partitions_sql[] = "SELECT sev_events_partitions(2)";

int pg_schema_latest(void)
{
    return MIGRATIONS_COUNT;
}

static int exec_ok(PGconn *c, const char *sql, const char *where, struct err *err)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok) {
        const char *m = PQresultErrorMessage(r);
        err_set(err, "database %s: migration: %.*s", where, (int)strcspn(m, "\n"), m);
    }
    PQclear(r);
    return ok ? 0 : -1;
}

int pg_migrate(PGconn *c, const char *where, struct err *err)
{
    if (exec_ok(c, "BEGIN", where, err) < 0)
        return -1;
    if (exec_ok(c, "SELECT pg_advisory_xact_lock(" PG_MIGRATE_LOCK ")", where, err) < 0 ||
        exec_ok(c, "CREATE TABLE IF NOT EXISTS sev_schema (version int PRIMARY KEY)", where, err) <
            0)
        goto rollback;
    PGresult *r = PQexec(c, "SELECT coalesce(max(version), 0) FROM sev_schema");
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        err_set(err, "database %s: reading the schema version: %s", where, PQresultErrorMessage(r));
        PQclear(r);
        goto rollback;
    }
    int version = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    if (version > MIGRATIONS_COUNT) {
        err_set(err,
                "database %s has schema version %d, newer than this build of sev knows (%d): "
                "refusing to open it; run a newer sev",
                where, version, MIGRATIONS_COUNT);
        goto rollback;
    }
    for (int v = version; v < MIGRATIONS_COUNT; v++) {
        char bump[64];
        snprintf(bump, sizeof bump, "INSERT INTO sev_schema(version) VALUES (%d)", v + 1);
        if (exec_ok(c, migrations[v], where, err) < 0 || exec_ok(c, bump, where, err) < 0)
            goto rollback;
    }
    if (exec_ok(c, "COMMIT", where, err) < 0)
        return -1;
    return exec_ok(c, pg_partitions_sql, where, err);
rollback:
    PQclear(PQexec(c, "ROLLBACK"));
    return -1;
}
