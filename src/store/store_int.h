/* store_int.h: what a store backend implements. Only src/store/ includes this.
 *
 * store.c checks the arguments of every public call, then dispatches through the
 * `const struct store_backend` chosen once from the URI scheme in store_open. A backend
 * embeds `struct store` as the first member of its own state (like git's ref stores) and
 * gets that pointer back in every call.
 *
 * Threads: every entry point is called on the loop thread. Callbacks must come back on the
 * loop thread; none may run inside the entry point itself (except close, which drains).
 */
#ifndef SEV_STORE_INT_H
#define SEV_STORE_INT_H

#include "store/store.h"

/* Reads share one request shape so that each backend has one read entry point. */
enum store_read_kind {
    STORE_READ_RECENT,          /* login, ref_id = before_id or NULL, limit */
    STORE_READ_SINCE,           /* login, ref_id = since_id or NULL (from the start), limit */
    STORE_READ_STREAMER,        /* login */
    STORE_READ_STATS_STREAMERS, /* nothing */
    STORE_READ_STATS_TYPES,     /* login */
    STORE_READ_STATS_HOURLY,    /* login, limit = hours, now_us */
    STORE_READ_KINDS
};

struct store_read {
    enum store_read_kind kind;
    const char *login;  /* borrowed for the call (the backend copies), never NULL */
    const char *ref_id; /* borrowed for the call, or NULL */
    int limit;
    int64_t now_us; /* wall clock when the call was made */
    union {
        store_events_fn events;
        store_stats_fn stats;
        store_streamer_fn streamer;
    } cb;
    void *arg;
};

/* The most events one read may ask for, and the most hours of store_stats_hourly. */
#define STORE_READ_LIMIT_MAX 10000
#define STORE_HOURS_MAX 720

/* One account operation (store.h "accounts"), handed whole to the backend: the backend runs
 * it (writes on its writer, reads on its pool), fills the outputs and status, and then calls
 * store_acct_deliver(op) on the loop thread, which calls back and frees op. */
enum store_acct_kind {
    ACCT_USER_PUT,
    ACCT_USER_GET,
    ACCT_USER_DELETE,
    ACCT_SESSION_PUT,
    ACCT_SESSION_GET,
    ACCT_SESSION_DELETE,
    ACCT_SESSIONS_DELETE, /* user_id, or "" for the expired ones */
    ACCT_TOKEN_PUT,
    ACCT_TOKEN_DELETE,
    ACCT_TOKENS_ALL,
    ACCT_FAVORITE_SET,
    ACCT_FAVORITES_ALL,
};

struct store_acct_op {
    enum store_acct_kind kind;
    int writes;                /* 1: writer thread; 0: a read */
    int64_t now_us;            /* wall clock when the call was made */
    char user_id[32];
    unsigned char key[STORE_SESSION_KEY_LEN];
    int64_t expires_at_us;
    struct store_user user;    /* USER_PUT in; USER_GET / SESSION_GET out */
    struct store_token token;  /* TOKEN_PUT in (token.sealed owned by op) */
    int has_streamer;          /* FAVORITE_SET: set (1) or clear (0) */
    struct streamer_info streamer;
    struct store_token_list *tokens;       /* TOKENS_ALL out (owned until delivered) */
    struct store_favorite_list *favorites; /* FAVORITES_ALL out (likewise) */
    int status;                /* out: 0, 1 not found, -1 */
    union {
        store_done_fn done;
        store_user_fn user;
        store_tokens_fn tokens;
        store_favorites_fn favorites;
    } cb;
    void *arg;
};

/* Loop thread: hands the result to the caller and frees op. */
void store_acct_deliver(struct store_acct_op *op);

/* Copies src (NULL as "") into a fixed field, cutting at a UTF-8 boundary (any thread). */
void utf8_copy(char *dst, size_t size, const char *src);
/* Appends {key (copied; NULL as ""), count} to l, whose rows array has room for *cap (grown
 * as needed). 0, or -1 when out of memory (l unchanged but for a larger array). Any thread. */
int stats_push(struct stat_list *l, size_t *cap, const char *key, int64_t count);
/* `hours` rows with count 0, keyed by the start (RFC 3339) of each hour from first_hour (hours
 * since the epoch) on: the hourly answer before the counts are added. NULL when out of
 * memory. Any thread. */
struct stat_list *stats_hours_new(int64_t first_hour, int hours);

struct store {
    const struct store_backend *be; /* borrowed: a static table */
    uv_loop_t *loop;                /* borrowed */
    uint64_t ping_ok_at;            /* uv_now of the last ping that succeeded (0: none yet) */
};

struct store_backend {
    const char *name;
    /* target: the URI after the scheme prefix (for sqlite, the path). Fills *out with a
     * store whose be and loop are set. */
    int (*open)(uv_loop_t *loop, const char *target, struct store **out, struct err *err);
    void (*close)(struct store *st);
    /* ev was checked (id, type, streamer_id, streamer_login set). */
    int (*append)(struct store *st, struct event *ev, int64_t received_at_us, store_append_fn cb,
                  void *arg);
    int (*streamer_put)(struct store *st, const struct streamer_info *s, int64_t now_us,
                        store_done_fn cb, void *arg);
    int (*read)(struct store *st, const struct store_read *req);
    int (*setting_get)(struct store *st, const char *key, char **value, struct err *err);
    int (*setting_set)(struct store *st, const char *key, const char *value, struct err *err);
    int (*ping)(struct store *st);
    /* An account operation (store_acct_op): 0 (delivered later) or -1 (op not taken). */
    int (*account)(struct store *st, struct store_acct_op *op);
    void (*counters)(struct store *st, struct store_counters *out);
};

extern const struct store_backend store_sqlite_backend;
extern const struct store_backend store_pg_backend;

#endif
