/* hub_int.h: the hub's own types, shared by hub_client.c (references, closing), hub.c
 * (channels, client queues, fan-out) and hub_replay.c (since= replays from the store). Only src/hub/. Loop thread only. */
#ifndef SEV_HUB_INT_H
#define SEV_HUB_INT_H

#include "hub/hub.h"

#include <stdlib.h>

#include "base/clock.h"
#include "base/map.h"

#define REPLAY_BATCH 500 /* events per store read of a replay */

/* An event encoded once as a complete server WebSocket frame:
 *   [ws header][{"kind":"event","event":][event json][}]
 * shared by every client queue and by the channel's recent list. */
struct frame {
    unsigned refs;
    uint32_t len;     /* bytes in data */
    uint32_t ev_off;  /* the event object inside data */
    uint32_t ev_len;
    int64_t seq;
    int64_t sseq;       /* the event's streamer_seq; 0 when the store does not number */
    int64_t publish_us; /* monotonic */
    uint8_t data[];
};

struct channel;

/* Ownership: refs counts the connection (until ws_on_close), a place on the hub's dirty list,
 * each write in flight and each pending store call. The last client_unref frees.
 * 120 bytes (a 128-byte malloc chunk): idle clients are most of a server's memory. */
struct client {
    struct hub *hub;
    struct http_conn *conn; /* borrowed; NULL once closed */
    struct channel *ch;
    struct client *prev, *next;      /* channel's subscribers */
    struct client *dirty_next;       /* hub's flush list (holds a ref) */
    struct frame **q;                /* owned ring of frame refs */
    struct frame **inflight;         /* owned refs written but not yet confirmed */
    struct ws_parser *parser;        /* owned, made on first input */
    struct replay *replay;           /* owned while replaying (since=), else NULL */
    /* the highest streamer_seq sent or queued (held frames of a replay excepted): a live frame
     * at or below it is a repeat (e.g. another node's event the replay already read) */
    int64_t sseq;
    uint32_t qhead, qlen, qcap;
    uint32_t ninflight;
    uint32_t qbytes;    /* at most opts.max_queue_bytes (capped at HUB_QUEUE_BYTES_MAX) */
    uint32_t last_rx_ms; /* hub_ms(): the peer last sent a byte */
    uint32_t stall_ms;   /* hub_ms() since a write waits on the peer, or 0 */
    uint32_t refs : 30;  /* see above */
    uint32_t dirty : 1, closing : 1;
};

/* The most a client queue may hold, whatever max_queue_bytes says (qbytes is 32-bit). */
#define HUB_QUEUE_BYTES_MAX (1u << 30)

/* What a client replaying stored events needs; most clients never have one, so idle clients
 * stay small. */
struct replay {
    char *since;  /* owned cursor: events after this id; NULL: the last batch is out */
    char *buf;    /* owned bytes of a replay batch being written */
    int64_t seq;  /* live frames up to this seq were replayed (stores without streamer_seq) */
    int batches;  /* store reads answered so far */
};

struct channel {
    struct streamer_info info;
    /* while nclients == 0: the hub's idle list (LRU order); else its active list, which the
     * sweep walks to reach every client */
    struct channel *lru_prev, *lru_next;
    struct client *clients;
    size_t nclients;
    struct frame *recent[HUB_RECENT]; /* owned refs, recent[0] newest */
    int nrecent;
    int complete; /* recent[] holds the newest min(HUB_RECENT, all) events of this streamer */
    int page_limit; /* page answers ?limit=page_limit */
    char *page;     /* owned: the api's cached answer built from recent[] and info, or NULL */
    size_t page_len;
    int64_t sseq; /* the newest streamer_seq published: anything at or below is a repeat */
};

struct hub {
    uv_loop_t *loop;
    struct store *store;
    struct hub_options opts;
    struct map channels; /* login → struct channel * (owned) */
    struct client *dirty;       /* clients to flush, oldest first (FIFO: none waits forever) */
    struct client **dirty_tail; /* &dirty, or the last one's dirty_next */
    struct channel *active;                /* channels with clients */
    struct channel *idle_head, *idle_tail; /* channels without clients, most recent first */
    size_t nidle;
    int64_t next_ping_us;
    int64_t epoch_us;          /* hub_ms() counts from here */
    const char *opening_login; /* during http_upgrade_websocket: the streamer of ws_on_open */
    uv_check_t flusher;
    uv_idle_t more; /* active while clients wait for a later slice: the poll does not block */
    uv_timer_t sweeper;
    int open_handles;
    int freeing;
    struct hub_stats stats;
};

/* Milliseconds since the hub started, never 0 (0 means "not set"); 32 bits keep idle clients
 * small, and differences stay right across a wrap (49 days). */
static inline uint32_t hub_ms(const struct hub *hub)
{
    uint32_t ms = (uint32_t)((clock_mono_us() - hub->epoch_us) / 1000);
    return ms ? ms : 1;
}

/* The bytes before the event object in every event frame's payload. */
#define FRAME_PREFIX "{\"kind\":\"event\",\"event\":"

void hub_frame_unref(struct frame *f); /* NULL is fine */
/* Drops a reference; the last frees the client (its queue, its replay, its parser). */
void hub_client_unref(struct client *c);
/* Puts the client at the end of the hub's flush list (the list holds a reference); each loop
 * turn flushes up to opts.flush_slice of them. */
void hub_client_mark_dirty(struct client *c);
/* Closes the socket (a close frame with code first unless code is 0); the connection's
 * on_close finishes the job, maybe inside this call: callers hold a reference. */
void hub_client_close(struct client *c, uint16_t code, const char *why);
/* Sends a small control frame (close, pong) after whatever is queued: a copy owned by the
 * write. The connection may close inside (on_close runs): callers hold a reference. */
void hub_client_send_control(struct client *c, const struct buf *b);

/* hub_client.c above; hub_replay.c below. Reads the next batch after c->replay->since and writes it; when the store has
 * no more, live frames held meanwhile go out (those the replay sent dropped). Holds a
 * reference to c while a read or write is out; may close c. */
void hub_replay_next(struct client *c);
static inline void hub_replay_free(struct replay *r) /* NULL is fine */
{
    if (!r)
        return;
    free(r->since);
    free(r->buf);
    free(r);
}

#endif
