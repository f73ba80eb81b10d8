/* store: durable events, streamers, users, sessions and settings behind one interface.
 *
 * Backends (sqlite now, postgres later) implement `struct store_backend`; callers only see
 * the functions below. Every call is made on the loop thread and never blocks it: writes
 * go to a writer thread that group-commits (many events per transaction) and reads run on
 * libuv's thread pool; callbacks come back on the loop thread. If a function that takes a
 * callback returns an error, the callback is never called.
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
    STORE_STORED = 0,    /* new, durable, ev->seq set */
    STORE_DUPLICATE = 1, /* same message id (or dedupe_key) already stored; ev->seq = stored seq */
};

/* status: STORE_STORED, STORE_DUPLICATE, or negative on failure (then nothing was stored). */
typedef void (*store_append_fn)(void *arg, struct event *ev, int status);

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
/* status 0 found, 1 not found, negative error */
typedef void (*store_streamer_fn)(void *arg, int status, const struct streamer_info *s);

/* Opens the database named by uri ("sqlite:PATH"), runs migrations. Blocking: call at start-up
 * only. Returns 0 and *out, or -1 with err. */
int store_open(uv_loop_t *loop, const char *uri, struct store **out, struct err *err);
/* Finishes pending writes (their callbacks run), then closes. Blocking: call at shutdown. */
void store_close(struct store *st);

/* Stores ev durably (dedupe by id, and by dedupe_key when set) and also records its streamer
 * (id, login, name). ev is borrowed until cb, which is always called on the loop thread. */
int store_append(struct store *st, struct event *ev, store_append_fn cb, void *arg);

/* Newest first, at most limit, of one streamer (by login), older than before_id if non-NULL.
 * status 0 ok, 1 unknown before_id, negative error. */
int store_recent(struct store *st, const char *login, const char *before_id, int limit,
                 store_events_fn cb, void *arg);
/* Oldest first, every event of one streamer stored after the event with id since_id
 * (at most limit). status 0, 1 when since_id is unknown, negative on error. */
int store_since(struct store *st, const char *login, const char *since_id, int limit,
                store_events_fn cb, void *arg);

int store_streamer_get(struct store *st, const char *login, store_streamer_fn cb, void *arg);

int store_stats_streamers(struct store *st, store_stats_fn cb, void *arg);
int store_stats_types(struct store *st, const char *login, store_stats_fn cb, void *arg);

/* Health check: 0 if the database answers. Cheap, may be called on the loop. */
int store_ping(struct store *st);

#endif
