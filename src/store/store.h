/* store: durable events, streamers, users, sessions and settings behind one interface.
 *
 * Backends (sqlite, postgres) implement `struct store_backend`; callers only see the
 * functions below. Every call is made on the loop thread and never blocks it: writes are
 * group-committed (many events per transaction; SQLite on a writer thread, PostgreSQL on a
 * libpq connection in pipeline mode watched by the loop) and reads run off the loop (libuv's
 * pool, or the PostgreSQL reader connection); callbacks come back on the loop thread. If a
 * function that takes a callback returns an error, the callback is never called.
 *
 * Order: every stored event has a streamer_seq (struct event), 1, 2, 3… per streamer, dense
 * and in commit order, the same for every process sharing the database. store_recent and
 * store_since order by it, and their reference ids are positions in it.
 */
#ifndef SEV_STORE_H
#define SEV_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "base/err.h"
#include "event/event.h"

struct store;

enum store_append_result {
    STORE_STORED = 0,    /* new, durable, ev->seq and ev->streamer_seq set */
    STORE_DUPLICATE = 1, /* same message id (or dedupe_key) already stored; ev->seq and
                            ev->streamer_seq = the stored event's */
};

/* status: STORE_STORED, STORE_DUPLICATE, or negative on failure (then nothing was stored; on
 * PostgreSQL also while the database is unreachable: answer 503 so the sender retries). */
typedef void (*store_append_fn)(void *arg, struct event *ev, int status);

/* Lists handed to callbacks are heap-allocated; the callback owns them and frees them with
 * event_list_free / stat_list_free (which accept NULL). A list is non-NULL exactly when the
 * status is 0. */
struct event_list {
    struct event **items; /* owned, each owned */
    size_t count;
};
void event_list_free(struct event_list *list);

typedef void (*store_events_fn)(void *arg, int status, struct event_list *events /* steals */);

struct stat_row {
    char *key;   /* streamer login, or event type */
    int64_t count;
};
struct stat_list {
    struct stat_row *rows; /* owned */
    size_t count;
};
void stat_list_free(struct stat_list *list);
typedef void (*store_stats_fn)(void *arg, int status, struct stat_list *rows /* steals */);

struct streamer_info {
    char id[32];
    char login[32];
    char display_name[64];
};
/* status 0 found, 1 not found, negative error; s is borrowed for the call, NULL unless 0. */
typedef void (*store_streamer_fn)(void *arg, int status, const struct streamer_info *s);
/* status 0 done (durable), negative error. */
typedef void (*store_done_fn)(void *arg, int status);

/* store_append's own failures (the callback is then never called). */
enum store_append_error {
    STORE_EINVAL = -1, /* event without id, type or streamer, or the store is closing */
    STORE_EFULL = -2,  /* STORE_QUEUE_MAX appends already wait for the disk: answer 503, retry */
};
#define STORE_QUEUE_MAX 200000

/* Opens the database named by uri ("sqlite:PATH", or a libpq URI "postgres://…" /
 * "postgresql://…"), runs migrations. Blocking: call at start-up only. Returns 0 and *out, or
 * -1 with err. For sqlite the parent directory of PATH is created if missing; a path that
 * cannot be created, opened or written, or a database whose schema is newer than this build
 * knows, is an error naming the path. For PostgreSQL a URI libpq rejects, a server that
 * cannot be reached or a newer schema is an error naming the server (never the password);
 * migrations are safe when several nodes start at once. */
int store_open(uv_loop_t *loop, const char *uri, struct store **out, struct err *err);
/* Finishes pending writes (their callbacks run, inside this call), then closes. Blocking: call
 * at shutdown. Reads already submitted still call back later; the last memory is released from
 * the loop, so run the loop once more (as every libuv shutdown does) before uv_loop_close. */
void store_close(struct store *st);

/* Stores ev durably (dedupe by id, and by dedupe_key when set) and also records its streamer
 * (id, login, name). ev is borrowed until cb, which is always called on the loop thread, in
 * the order of the appends; do not touch ev meanwhile. Returns 0, or enum store_append_error. */
int store_append(struct store *st, struct event *ev, store_append_fn cb, void *arg);
/* Records a streamer (e.g. learned from Helix before any event): the same upsert store_append
 * does, queued behind the appends. s is copied. Returns 0 or enum store_append_error. */
int store_streamer_put(struct store *st, const struct streamer_info *s, store_done_fn cb,
                       void *arg);

/* Newest first (by streamer_seq), at most limit, of one streamer (by login), before the event
 * before_id if non-NULL. status 0 ok, 1 unknown before_id (or not this streamer's), negative
 * error. */
int store_recent(struct store *st, const char *login, const char *before_id, int limit,
                 store_events_fn cb, void *arg);
/* Oldest first, every event of one streamer with a streamer_seq greater than the event
 * since_id's (at most limit): a reader who has seen since_id gets exactly what follows it, on
 * any node. status 0, 1 when since_id is unknown (or not this streamer's), negative on
 * error. */
int store_since(struct store *st, const char *login, const char *since_id, int limit,
                store_events_fn cb, void *arg);

/* Looks a streamer up by login (case-insensitive; logins are stored lower case). */
int store_streamer_get(struct store *st, const char *login, store_streamer_fn cb, void *arg);

/* [{login, events}] for every streamer, most events first (ties by login). */
int store_stats_streamers(struct store *st, store_stats_fn cb, void *arg);
/* [{type, events}] for one streamer, most events first (ties by type). */
int store_stats_types(struct store *st, const char *login, store_stats_fn cb, void *arg);
/* Events per hour of one streamer (by created_at) for the last `hours` hours (1..720), oldest
 * first, exactly `hours` rows including empty ones; key = the hour's start in RFC 3339
 * ("2026-11-22T10:00:00.000Z"); the last row is the current hour. */
int store_stats_hourly(struct store *st, const char *login, int hours, store_stats_fn cb,
                       void *arg);

/* Settings (small key/value strings, e.g. the generated EventSub secret). SYNCHRONOUS: they
 * run on the calling thread and may wait for the disk, so call them at start-up only.
 * get: 0 and *value (owned, free()), 1 when the key is absent (*value = NULL), -1 with err.
 * set: inserts or replaces durably; 0 or -1 with err. */
int store_setting_get(struct store *st, const char *key, char **value, struct err *err);
int store_setting_set(struct store *st, const char *key, const char *value, struct err *err);

/* What the writer has done so far (for /metrics and tests). Cheap; loop thread. */
struct store_counters {
    uint64_t commits;    /* write transactions committed */
    uint64_t stored;     /* events stored */
    uint64_t duplicates; /* appends answered STORE_DUPLICATE */
    uint64_t failed;     /* appends or puts that failed */
    uint64_t queued;     /* appends waiting for the writer right now */
    uint64_t failing;    /* write transactions failed since the last commit: 0 when the store
                          * can write; while not 0 the backend probes about once a second with a
                          * tiny write, so it returns to 0 on its own once the disk recovers */
};
void store_counters_get(struct store *st, struct store_counters *out);

/* Health check: 0 if the database answers (PostgreSQL: both connections are up; the known
 * state, no round trip). Cheap, may be called on the loop: a success is reused for a second. */
int store_ping(struct store *st);

/* ---- accounts: users, sessions, sealed tokens, favorites ------------------------------------
 * Writes go through the writer thread like appends (each in its own savepoint: one failing
 * account write never fails the events batched with it); reads run on the pool. Callbacks
 * come back on the loop thread; status 0 done/found, 1 not found, negative on error.
 * The store never sees a token or a session id: tokens arrive sealed (auth/tokenbox), and
 * sessions are keyed by a hash of the cookie's secret. */

struct store_user {
    char id[32];
    char login[32];
    char display_name[128];
    char profile_image_url[512];
    int64_t created_at_us; /* when the user first logged in to SEV (set by the store) */
    int has_favorite;
    struct streamer_info favorite; /* valid when has_favorite */
};
/* u is borrowed for the call, NULL unless status 0. */
typedef void (*store_user_fn)(void *arg, int status, const struct store_user *u);

struct store_token {
    char owner[32];        /* a user id, or "app" for the app access token */
    unsigned char *sealed; /* the encrypted token record */
    size_t sealed_len;
    char scopes[1024];     /* granted scopes, space-separated */
    int64_t expires_at_us; /* of the access token (wall clock), 0 unknown */
};
struct store_token_list {
    struct store_token *items; /* owned, each item's sealed owned */
    size_t count;
};
void store_token_list_free(struct store_token_list *list);
typedef void (*store_tokens_fn)(void *arg, int status, struct store_token_list *list /* steals */);

struct store_favorite {
    char user_id[32];
    struct streamer_info streamer;
};
struct store_favorite_list {
    struct store_favorite *items; /* owned */
    size_t count;
};
void store_favorite_list_free(struct store_favorite_list *list);
typedef void (*store_favorites_fn)(void *arg, int status,
                                   struct store_favorite_list *list /* steals */);

#define STORE_SESSION_KEY_LEN 32

/* Creates or updates a user's profile (id, login, display_name, profile_image_url; copied).
 * created_at and the favorite of an existing user are kept. */
int store_user_put(struct store *st, const struct store_user *u, store_done_fn cb, void *arg);
/* The user with their favorite. 1 when there is no such user. */
int store_user_get(struct store *st, const char *user_id, store_user_fn cb, void *arg);
/* Deletes the user, their token, sessions and favorite in one transaction. */
int store_user_delete(struct store *st, const char *user_id, store_done_fn cb, void *arg);

int store_session_put(struct store *st, const unsigned char key[STORE_SESSION_KEY_LEN],
                      const char *user_id, int64_t expires_at_us, store_done_fn cb, void *arg);
/* The session's user (with favorite); 1 when the session is unknown or expired. */
int store_session_get(struct store *st, const unsigned char key[STORE_SESSION_KEY_LEN],
                      store_user_fn cb, void *arg);
int store_session_delete(struct store *st, const unsigned char key[STORE_SESSION_KEY_LEN],
                         store_done_fn cb, void *arg);
/* Every session of one user (logged out everywhere), or with user_id NULL every expired one. */
int store_sessions_delete(struct store *st, const char *user_id, store_done_fn cb, void *arg);

/* Stores (replaces) owner's sealed token; t and its bytes are copied. */
int store_token_put(struct store *st, const struct store_token *t, store_done_fn cb, void *arg);
int store_token_delete(struct store *st, const char *owner, store_done_fn cb, void *arg);
/* Every stored token (start-up: validate them, keep them in memory). */
int store_tokens_all(struct store *st, store_tokens_fn cb, void *arg);

/* Sets user_id's favorite (s copied), or clears it with s NULL. */
int store_favorite_set(struct store *st, const char *user_id, const struct streamer_info *s,
                       store_done_fn cb, void *arg);
/* Every user's favorite (start-up: the subscription manager learns what to watch). */
int store_favorites_all(struct store *st, store_favorites_fn cb, void *arg);

#endif
