/* manager_int.h: the EventSub manager's shared state. Only src/eventsub/manager*.c (and the
 * manager's unit tests) include this; the public interface is manager.h.
 *
 * Files, lowest first:
 *   manager_catalog.c  the type catalog: what SEV subscribes to per streamer (pure, built
 *                      from event_types.c's table)
 *   manager_gap.c      gap markers and backfill; Helix call accounting, handles, backoff
 *   manager_session.c  per-user EventSub WebSocket sessions
 *   manager_sub.c      the subscription state machine: plan, create, retry, conflicts
 *   manager_adopt.c    start-up: list existing subscriptions, adopt or delete them
 *   manager_conduit.c  conduit mode: the conduit and SEV's own session behind its shard
 *   manager_caps.c     the capability panel's JSON
 *   manager.c          the public entry points: life, favorites, start, revocations
 * Each file calls only files above it in this list; the two calls that go the other way
 * (a session creating a subscription, a revocation) go through pointers in struct esm.
 */
#ifndef SEV_EVENTSUB_MANAGER_INT_H
#define SEV_EVENTSUB_MANAGER_INT_H

#include <jansson.h>
#include <stdint.h>
#include <uv.h>

#include "base/map.h"
#include "event/event.h"
#include "eventsub/manager.h"

/* ---- what SEV subscribes to for one streamer ---- */

enum cond_kind {
    COND_BROADCASTER, /* {"broadcaster_user_id": S} */
    COND_RAID_TO,     /* {"to_broadcaster_user_id": S} */
    COND_RAID_FROM,   /* {"from_broadcaster_user_id": S} */
    COND_CHAT,        /* {"broadcaster_user_id": S, "user_id": carrier} */
    COND_MODERATOR,   /* {"broadcaster_user_id": S, "moderator_user_id": S} */
};

/* One subscription SEV makes per streamer: a row of the type table (event_types.c), with
 * channel.raid made twice (incoming and outgoing). Built once from the table. */
struct wanted {
    const struct event_type_info *t;
    enum cond_kind cond;
};

#define MAX_WANTED 64

enum sub_state {
    SUB_IDLE,        /* not wanted now (no host, or waiting for a session) */
    SUB_CREATING,    /* POST in flight */
    SUB_PENDING,     /* webhook: created, challenge not yet answered */
    SUB_ENABLED,     /* receiving */
    SUB_RETRY,       /* failed transiently; retried by the streamer's timer */
    SUB_UNAVAILABLE, /* cannot be had now; reason says why */
};

struct sub {
    enum sub_state state;
    enum esm_transport via;
    char host[32]; /* the user whose token carries it ("" = app token) */
    char id[64];   /* Twitch's subscription id once created */
    char reason[160];
    int attempts;
    unsigned gen; /* bumped whenever the sub is re-planned: stale callbacks see a mismatch */
};

struct streamer {
    struct esm *m;
    char id[32];
    char login[32];
    struct map viewers; /* user id -> (void *)1 */
    char carrier[32];   /* viewer whose session carries the viewer-token types */
    struct map skip;    /* viewer id -> literal reason: not to carry (cost limit reached,
                           banned from the chat) while another viewer can */
    char *bscopes;      /* scopes the broadcaster granted SEV, NULL if none */
    int scopes_known;   /* the user_scopes answer arrived */
    struct sub subs[MAX_WANTED];
    int64_t down_since_us; /* a possible gap started here (0: none) */
    char gap_reason[96];
    uv_timer_t retry;
    int retry_ms;
    int closing;
    int backfilled; /* the first-view backfill was asked for */
};

struct session {
    struct esm *m;
    char user[32];
    struct wsession *ws; /* NULL while waiting to reconnect */
    int live;            /* welcomed */
    uv_timer_t retry;
    int retry_ms;
    int closing;
};

/* Conduit mode: SEV's own EventSub WebSocket session behind shard 0 of its conduit. */
struct shard {
    struct esm *m;
    struct wsession *ws; /* NULL while waiting to (re)open */
    int pointed;         /* shard 0 points at this session (Update Conduit Shards answered) */
    uv_timer_t retry;    /* reopen the session, or find the conduit again */
    int retry_ms;
    int64_t lost_at_us; /* the session was lost then (0: not lost); the gap starts here */
    char why[96];
};

struct esm {
    uv_loop_t *loop;
    struct esm_options opts;
    struct esm_twitch_ops tw;
    struct ingest *ingest;
    struct map streamers; /* id -> struct streamer */
    struct map sessions;  /* user id -> struct session */
    struct map favorites; /* user id -> strdup(streamer id) */
    int started;
    int adopting;              /* listing existing webhook subscriptions */
    json_t *existing;          /* array of subscriptions listed at start (webhook mode) */
    struct map early_verified; /* subscription ids whose challenge came before the 202 */
    char *ws_url, *callback_url, *secret;
    struct esm_stats stats;
    int handles;         /* open timers */
    int inflight;        /* Helix calls whose callback has not run */
    int freeing;         /* esm_free ran: destroyed when both counts reach 0 */
    char conduit_id[64]; /* conduit mode: "" until found or made */
    char remembered[64]; /* conduit mode: the one the last run made ("" none, or gone) */
    struct shard *shard; /* conduit mode */
    /* Set by esm_new: the calls lower files make upward (sessions create what rides on a
     * welcomed session; sessions and the shard hand on revocations), so that no two files
     * call each other. */
    void (*create_sub)(struct streamer *s, int row); /* esm_create_sub */
    void (*revoked)(struct esm *m, const char *subscription_id, const char *type,
                    const char *reason); /* esm_on_revocation */
};

/* A Helix callback's context: which sub of which streamer, and at which generation. */
struct call {
    struct esm *m;
    char streamer[32];
    char host[32];
    int row;
    unsigned gen;
};

/* manager_catalog.c: the rows, built once (esm_catalog_build; idempotent, loop thread)
 * from the type table. Row k of every streamer's subs is esm_catalog[k]; channel.raid has two
 * rows in a row (incoming, outgoing). */
extern const struct wanted *const esm_catalog;
size_t esm_catalog_count(void);
#define NWANTED esm_catalog_count()
void esm_catalog_build(void);
/* The first row of type, or -1 (type NULL or unknown). */
int esm_row_of(const char *type);
/* 1 when another row's type supersedes row's (a cheer told by channel.bits.use instead). */
int esm_supersedes(int row);
const char *esm_via_name(enum esm_transport via);
/* 1 when the space-separated scopes hold scope (whole words; NULLs: 0). */
int esm_has_scope(const char *scopes, const char *scope);

/* manager_gap.c: gap markers, backfill, and the shared pieces */
void esm_destroy(struct esm *m);
/* A close callback for timers whose data is a struct streamer/session/shard (each starts
 * with its struct esm *): frees it; the manager goes once nothing is left. */
void esm_handle_closed(uv_handle_t *h);
/* A Helix call through the ops, counted in m->inflight: 0, or -1 (cb will not run). */
int esm_helix(struct esm *m, const char *user, const char *method, const char *path, json_t *body,
              esm_helix_cb cb, void *arg);
/* Every Helix callback starts here; 1 means the manager is going away: do nothing more. */
int esm_call_returned(struct esm *m);
/* The next jittered delay of a backoff whose last base is *cur (0: the first). */
int esm_backoff_next(struct esm *m, int *cur);
/* A possible gap starts at since_us (the earliest one is kept)... */
void esm_mark_down(struct streamer *s, int64_t since_us, const char *why);
/* ...and closes once every subscription of s is back: the "sev.gap" marker and a backfill. */
void esm_maybe_close_gap(struct streamer *s);
/* Once per streamer: the backfill that fills an empty page on first view. */
void esm_first_view(struct streamer *s);

/* manager_session.c: per-user WebSocket sessions */
/* user's session is wanted: opened unless it exists. */
void esm_session_want(struct esm *m, const char *user);
/* Closes the session unless some subscription still rides on it. */
void esm_session_release_if_unused(struct esm *m, const char *user);
void esm_session_close(struct session *se);

/* manager_sub.c: the subscription state machine */
json_t *esm_condition_for(const struct streamer *s, int row, const char *host);
int esm_condition_matches(json_t *have, json_t *want);
void esm_skip_carrier(struct streamer *s, const char *user, const char *why);
void esm_set_unavailable(struct sub *sub, const char *why);
/* Transport and host of row now; 1 if it should exist (else *why says why not). */
int esm_decide(struct streamer *s, int row, enum esm_transport *via, const char **host,
               const char **why);
/* Brings every row of s to what it should be now. */
void esm_plan(struct streamer *s);
void esm_delete_remote(struct esm *m, const char *host, const char *id);
void esm_create_sub(struct streamer *s, int row);
void esm_arm_retry(struct streamer *s);

/* manager_adopt.c: start-up adoption. Lists a page of existing subscriptions (after: the
 * cursor, NULL first); after the last page, adopts or deletes them and plans. */
void esm_list_page(struct esm *m, const char *after);

/* manager_conduit.c: conduit mode. Finds the conduit (or makes one), then points the shard
 * and goes on with the adoption. */
void esm_conduit_find(struct esm *m);

#endif
