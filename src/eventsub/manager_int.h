/* manager_int.h: the EventSub manager's shared state. Only src/eventsub/manager*.c (and the
 * manager's unit tests) include this; the public interface is manager.h.
 *
 * Files, lowest first:
 *   manager_catalog.c  the type catalog: what SEV subscribes to per streamer (pure, built
 *                      from event_types.c's table)
 *   manager.c          life, streamers and favorites, gap markers, backfill, revocations
 *   manager_sub.c      the subscription state machine: plan, create, retry, conflicts
 *   manager_session.c  per-user EventSub WebSocket sessions
 *   manager_conduit.c  conduit mode: the conduit and SEV's own session behind its shard
 *   manager_adopt.c    start-up: list existing subscriptions, adopt or delete them
 *   manager_caps.c     the capability panel's JSON
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
};

/* A Helix callback's context: which sub of which streamer, and at which generation. */
struct call {
    struct esm *m;
    char streamer[32];
    char host[32];
    int row;
    unsigned gen;
};


/* manager_catalog.c: the rows, built once (esm_catalog_build; idempotent) from the type
 * table. Row k of every streamer's subs is esm_catalog[k]. */
extern const struct wanted *const esm_catalog;
size_t esm_catalog_count(void);
#define NWANTED esm_catalog_count()
void esm_catalog_build(void);
const char *esm_via_name(enum esm_transport via);
int esm_has_scope(const char *scopes, const char *scope);
int esm_row_of(const char *type);
int esm_supersedes(int row);

/* manager.c: life, streamers, gaps, revocations */
void esm_handle_closed(uv_handle_t *h);
int esm_call_returned(struct esm *m);
int esm_helix(struct esm *m, const char *user, const char *method, const char *path, json_t *body, esm_helix_cb cb, void *arg);
int esm_backoff_next(struct esm *m, int *cur);
void esm_maybe_close_gap(struct streamer *s);
void esm_mark_down(struct streamer *s, int64_t since_us, const char *why);

/* manager_sub.c: the subscription state machine */
json_t *esm_condition_for(const struct streamer *s, int row, const char *host);
int esm_condition_matches(json_t *have, json_t *want);
void esm_skip_carrier(struct streamer *s, const char *user, const char *why);
void esm_set_unavailable(struct sub *sub, const char *why);
int esm_decide(struct streamer *s, int row, enum esm_transport *via, const char **host, const char **why);
void esm_plan(struct streamer *s);
void esm_delete_remote(struct esm *m, const char *host, const char *id);
void esm_create_sub(struct streamer *s, int row);
void esm_arm_retry(struct streamer *s);

/* manager_session.c: per-user WebSocket sessions */
void esm_session_want(struct esm *m, const char *user);
void esm_session_close(struct session *se);
void esm_session_release_if_unused(struct esm *m, const char *user);

/* manager_conduit.c: conduit mode */
void esm_conduit_find(struct esm *m);

/* manager_adopt.c: start-up adoption */
void esm_list_page(struct esm *m, const char *after);

#endif
