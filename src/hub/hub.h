/* hub: streamer → WebSocket subscribers, and the newest events of each streamer in memory.
 *
 *   bus ──hub_publish(ev)──▶ frame (encoded once, refcounted, immutable)
 *                              │ ref per subscriber
 *                              ▼
 *          client queue (bounded ring of frame refs) ──one corked writev──▶ socket
 *          (at most opts.flush_slice clients per loop turn, in the order they became dirty)
 *
 * A client that stops reading is closed (its write not taken for send_timeout, or more than
 * max_queue_bytes unsent); nobody else waits for it. The hub pings every client every
 * ping_interval and closes one not heard from for ping_interval + ping_timeout (dead peers
 * behind NATs and load balancers). Channels without subscribers are kept for the events API
 * up to max_idle_channels (least recently used freed first).
 * `GET /ws?streamer=LOGIN&since=ID` first replays stored events newer than ID (from the store,
 * hub_replay.c), holding live frames meanwhile, then sends the held frames it did not replay:
 * no gap, no duplicate. Each client remembers the highest streamer_seq it has (from ID on), and
 * a live frame at or below it is not sent, so an event another node stored, which the replay
 * read before this node's bus delivered it, goes out once; a channel drops a published event
 * at or below its newest streamer_seq (a repeat). Each channel keeps its newest HUB_RECENT
 * events as frames, so the events API of an active streamer is answered from memory.
 * Loop thread only.
 */
#ifndef SEV_HUB_H
#define SEV_HUB_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "base/buf.h"
#include "base/err.h"
#include "event/event.h"
#include "http/server.h"
#include "store/store.h"

#define HUB_RECENT 100

struct hub;

struct hub_options {
    /* per client: unsent bytes (frames are shared, so this over-counts memory) past which a
     * client that has not drained is closed. A burst is not a reason: the queue grows with it,
     * and a client that is reading drains it. 0: 4 MiB */
    size_t max_queue_bytes;
    int64_t ping_interval_ms; /* server pings every client this often. 0: 30 s */
    int64_t ping_timeout_ms;  /* nothing heard for ping_interval + this → closed. 0: 30 s */
    int64_t send_timeout_ms;  /* a write not taken by the peer for this long → closed. 0: 30 s */
    size_t max_idle_channels; /* channels without subscribers kept in memory (LRU). 0: 1000 */
    size_t replay_max_bytes;  /* since= replay bytes buffered per client at once. 0: 256 KiB */
    /* dirty clients written per loop turn, oldest first; the poll runs (without blocking)
     * before the next slice, so events committed meanwhile join the pass. 0: 2048 */
    size_t flush_slice;
};

/* Fan-out latency histogram buckets (µs, upper bounds), for /metrics. */
#define HUB_LATENCY_BUCKETS 12
extern const int64_t hub_latency_bounds_us[HUB_LATENCY_BUCKETS];

struct hub_stats {
    uint64_t clients;          /* connected now */
    uint64_t channels;         /* streamers in memory */
    uint64_t frames_published;
    uint64_t messages_sent;    /* frames written to clients */
    uint64_t clients_culled;   /* closed for not reading */
    uint64_t clients_timed_out; /* closed as dead peers (no answer to pings) */
    uint64_t channels_evicted;  /* idle channels freed to stay under max_idle_channels */
    uint64_t replayed;         /* events sent by since= replays */
    uint64_t latency_count[HUB_LATENCY_BUCKETS + 1]; /* publish → written to the socket */
    int64_t latency_sum_us;
};

int hub_new(uv_loop_t *loop, struct store *store /* borrowed */, const struct hub_options *opts,
            struct hub **out, struct err *err);
/* Closes every client (1001 going away) and frees. Run the loop afterwards so closes finish. */
void hub_free(struct hub *hub);

/* A durable event (ev->seq set) for every subscriber of its streamer. ev is borrowed. */
void hub_publish(struct hub *hub, const struct event *ev);

/* Route handler body for GET /ws: validates streamer/since and upgrades. */
void hub_handle_ws(struct hub *hub, struct http_request *req);

/* The newest events of a streamer, for GET /api/streamers/{login}/events (api/api_events.c):
 * when the channel's newest HUB_RECENT events are all in memory, appends up to limit of them
 * (newest first, event JSON objects joined by ","), copies its streamer into *info and
 * returns 1; else returns 0 and touches nothing (the api asks the store). */
int hub_recent(struct hub *hub, const char *login, int limit, struct buf *out,
               struct streamer_info *info);
/* The answer to GET …/events?limit=limit as the api last built it from hub_recent, kept by the
 * channel until its recent events or its streamer change: 1 with *body (borrowed: valid until
 * the hub next publishes, warms or evicts) and *len, else 0. Touches the channel as
 * hub_recent does. */
int hub_page_get(struct hub *hub, const char *login, int limit, const char **body, size_t *len);
/* Keeps a copy of body as the channel's cached answer for limit (one per channel, the last
 * asked for); nothing if the channel is not in memory, not complete, or out of memory. */
void hub_page_put(struct hub *hub, const char *login, int limit, const char *body, size_t len);
/* A streamer the store knows (s, by login): the channel is made if missing, its info filled
 * if unknown. */
void hub_learn_streamer(struct hub *hub, const char *login, const struct streamer_info *s);
/* events (borrowed): the store's newest HUB_RECENT (or all) of login, newest first, read
 * without before. Warms the channel when it is in memory and not complete. */
void hub_warm(struct hub *hub, const char *login, const struct event_list *events);

/* Streamer info learnt from events or the store; NULL if the channel is not in memory. */
const struct streamer_info *hub_streamer(struct hub *hub, const char *login);

void hub_stats(const struct hub *hub, struct hub_stats *out);

#endif
