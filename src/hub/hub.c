#include "hub/hub.h"
#include "hub/hub_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "base/login.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/map.h"
#include "ws/frame.h"

#define WRITE_BATCH 64
#define CLIENT_MAX_INPUT 4096 /* browsers send only control frames */
#define SWEEP_MS 500          /* the hub-wide timer: pings, dead peers, stalled writes */

const int64_t hub_latency_bounds_us[HUB_LATENCY_BUCKETS] = {
    100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000};

/* ---- frames ---- */

static struct frame *frame_new(const char *ev_json, size_t ev_len, int64_t seq, int64_t sseq)
{
    size_t payload = sizeof FRAME_PREFIX - 1 + ev_len + 1;
    uint8_t head[WS_MAX_HEADER];
    size_t hlen = ws_encode_header(head, WS_OP_TEXT, payload, NULL);
    struct frame *f = malloc(sizeof *f + hlen + payload);
    if (!f)
        return NULL;
    f->refs = 1;
    f->len = (uint32_t)(hlen + payload);
    f->ev_off = (uint32_t)(hlen + sizeof FRAME_PREFIX - 1);
    f->ev_len = (uint32_t)ev_len;
    f->seq = seq;
    f->sseq = sseq;
    f->publish_us = clock_mono_us();
    memcpy(f->data, head, hlen);
    memcpy(f->data + hlen, FRAME_PREFIX, sizeof FRAME_PREFIX - 1);
    memcpy(f->data + f->ev_off, ev_json, ev_len);
    f->data[f->len - 1] = '}';
    return f;
}

static struct frame *frame_ref(struct frame *f)
{
    f->refs++;
    return f;
}


static struct frame *frame_from_event(const struct event *ev)
{
    struct buf json;
    buf_init(&json, 0);
    struct frame *f = NULL;
    if (event_encode_json(ev, &json) == 0)
        f = frame_new(json.data, json.len, ev->seq, ev->streamer_seq);
    buf_release(&json);
    return f;
}

/* ---- channels ---- */

static void channel_free(struct channel *ch);

static void idle_unlink(struct hub *hub, struct channel *ch)
{
    if (ch->lru_prev)
        ch->lru_prev->lru_next = ch->lru_next;
    else
        hub->idle_head = ch->lru_next;
    if (ch->lru_next)
        ch->lru_next->lru_prev = ch->lru_prev;
    else
        hub->idle_tail = ch->lru_prev;
    ch->lru_prev = ch->lru_next = NULL;
    hub->nidle--;
}

/* Puts an idle channel first in the idle list, then frees the least recently used idle
 * channels beyond the cap (never ch; the store answers for the freed ones). */
static void idle_push_front(struct hub *hub, struct channel *ch)
{
    ch->lru_prev = NULL;
    ch->lru_next = hub->idle_head;
    if (hub->idle_head)
        hub->idle_head->lru_prev = ch;
    else
        hub->idle_tail = ch;
    hub->idle_head = ch;
    hub->nidle++;
    while (hub->nidle > hub->opts.max_idle_channels && hub->idle_tail != ch && !hub->freeing) {
        struct channel *old = hub->idle_tail;
        idle_unlink(hub, old);
        map_remove(&hub->channels, old->info.login);
        channel_free(old);
        hub->stats.channels--;
        hub->stats.channels_evicted++;
    }
}

/* An idle channel was used: it becomes the most recently used. */
static void channel_touch(struct hub *hub, struct channel *ch)
{
    if (ch->nclients || hub->idle_head == ch)
        return;
    idle_unlink(hub, ch);
    idle_push_front(hub, ch);
}

static struct channel *channel_get(struct hub *hub, const char *login, int create)
{
    struct channel *ch = map_get(&hub->channels, login);
    if (ch || !create)
        return ch;
    ch = calloc(1, sizeof *ch);
    if (!ch)
        return NULL;
    snprintf(ch->info.login, sizeof ch->info.login, "%s", login);
    if (map_put(&hub->channels, login, ch) < 0) {
        free(ch);
        return NULL;
    }
    hub->stats.channels++;
    idle_push_front(hub, ch);
    return ch;
}

/* recent[] or info changes: the cached answer is stale. */
static void channel_page_drop(struct channel *ch)
{
    free(ch->page);
    ch->page = NULL;
    ch->page_len = 0;
}

static void channel_note_streamer(struct channel *ch, const struct event *ev)
{
    channel_page_drop(ch);
    if (ev->streamer_id && *ev->streamer_id)
        snprintf(ch->info.id, sizeof ch->info.id, "%s", ev->streamer_id);
    if (ev->streamer_name && *ev->streamer_name)
        snprintf(ch->info.display_name, sizeof ch->info.display_name, "%s", ev->streamer_name);
    else if (!ch->info.display_name[0])
        snprintf(ch->info.display_name, sizeof ch->info.display_name, "%s", ch->info.login);
}

/* Puts f at the front of the channel's recent list (newest first). */
static void channel_remember(struct channel *ch, struct frame *f)
{
    channel_page_drop(ch);
    if (ch->nrecent == HUB_RECENT)
        hub_frame_unref(ch->recent[--ch->nrecent]);
    memmove(&ch->recent[1], &ch->recent[0], sizeof ch->recent[0] * (size_t)ch->nrecent);
    ch->recent[0] = frame_ref(f);
    ch->nrecent++;
}

static void channel_free(struct channel *ch)
{
    channel_page_drop(ch);
    for (int i = 0; i < ch->nrecent; i++)
        hub_frame_unref(ch->recent[i]);
    free(ch);
}

/* ---- client queues ---- */


/* A client the server never opened: nothing refers to it. */
static void client_free_unopened(struct client *c)
{
    c->refs = 1;
    hub_client_unref(c);
}

static void client_detach(struct client *c)
{
    struct channel *ch = c->ch;
    if (!ch)
        return;
    if (c->prev)
        c->prev->next = c->next;
    else
        ch->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    c->ch = NULL;
    if (--ch->nclients)
        return;
    struct hub *hub = c->hub; /* the channel leaves the active list for the idle one */
    if (ch->lru_prev)
        ch->lru_prev->lru_next = ch->lru_next;
    else
        hub->active = ch->lru_next;
    if (ch->lru_next)
        ch->lru_next->lru_prev = ch->lru_prev;
    idle_push_front(hub, ch);
}

static void client_attach(struct client *c, struct channel *ch)
{
    struct hub *hub = c->hub;
    if (ch->nclients == 0) { /* from the idle list to the active one */
        idle_unlink(hub, ch);
        ch->lru_next = hub->active;
        if (hub->active)
            hub->active->lru_prev = ch;
        hub->active = ch;
    }
    c->ch = ch;
    c->prev = NULL;
    c->next = ch->clients;
    if (ch->clients)
        ch->clients->prev = c;
    ch->clients = c;
    ch->nclients++;
}





static void client_flush(struct client *c);

/* Queues f. A burst only grows the queue; past max_queue_bytes the client gets one chance to
 * drain into the kernel now, and is culled if it cannot (it has not been reading). */
static int client_push(struct client *c, struct frame *f)
{
    if (c->qbytes + f->len > c->hub->opts.max_queue_bytes) {
        c->refs++;
        client_flush(c);
        int gone = !c->conn;
        hub_client_unref(c);
        if (gone || c->qbytes + f->len > c->hub->opts.max_queue_bytes)
            return -1;
    }
    if (c->qlen == c->qcap) {
        if (c->qcap >= UINT32_MAX / 2)
            return -1;
        uint32_t cap = c->qcap ? c->qcap * 2 : 8;
        struct frame **q = malloc(sizeof *q * cap);
        if (!q)
            return -1;
        for (uint32_t i = 0; i < c->qlen; i++)
            q[i] = c->q[(c->qhead + i) % c->qcap];
        free(c->q);
        c->q = q;
        c->qcap = cap;
        c->qhead = 0;
    }
    c->q[(c->qhead + c->qlen) % c->qcap] = frame_ref(f);
    c->qlen++;
    c->qbytes += f->len;
    return 0;
}

static void observe_latency(struct hub *hub, const struct frame *f, int64_t now)
{
    int64_t us = now - f->publish_us;
    int b = 0;
    while (b < HUB_LATENCY_BUCKETS && us > hub_latency_bounds_us[b])
        b++;
    hub->stats.latency_count[b]++;
    hub->stats.latency_sum_us += us;
}

static void on_client_written(void *arg, int status)
{
    struct client *c = arg;
    int64_t now = clock_mono_us();
    c->stall_ms = 0;
    for (uint32_t i = 0; i < c->ninflight; i++) {
        observe_latency(c->hub, c->inflight[i], now);
        hub_frame_unref(c->inflight[i]);
    }
    c->ninflight = 0;
    if (status == 0 && c->qlen)
        hub_client_mark_dirty(c);
    hub_client_unref(c);
}

/* Writes every queued frame in one writev (up to WRITE_BATCH per call). */
static void client_flush(struct client *c)
{
    struct hub *hub = c->hub;
    while (c->conn && !c->replay && c->ninflight == 0 && c->qlen) {
        uv_buf_t bufs[WRITE_BATCH];
        struct frame *sent[WRITE_BATCH];
        uint32_t n = c->qlen < WRITE_BATCH ? c->qlen : WRITE_BATCH;
        for (uint32_t i = 0; i < n; i++) {
            sent[i] = c->q[(c->qhead + i) % c->qcap];
            bufs[i] = uv_buf_init((char *)sent[i]->data, sent[i]->len);
            c->qbytes -= sent[i]->len;
        }
        c->qhead = (c->qhead + n) % c->qcap;
        c->qlen -= n;
        hub->stats.messages_sent += n;
        int r = http_conn_writev(c->conn, bufs, n, on_client_written, c);
        if (r == 1) { /* the kernel took it all */
            int64_t now = clock_mono_us();
            for (uint32_t i = 0; i < n; i++) {
                observe_latency(hub, sent[i], now);
                hub_frame_unref(sent[i]);
            }
            continue;
        }
        if (r < 0) {
            for (uint32_t i = 0; i < n; i++)
                hub_frame_unref(sent[i]);
            return;
        }
        if (!c->inflight) {
            c->inflight = malloc(sizeof *c->inflight * WRITE_BATCH);
            if (!c->inflight) { /* cannot track them: drop the client rather than leak */
                for (uint32_t i = 0; i < n; i++)
                    hub_frame_unref(sent[i]);
                hub_client_close(c, 0, NULL);
                return;
            }
        }
        memcpy(c->inflight, sent, sizeof *sent * n);
        c->ninflight = n;
        c->stall_ms = hub_ms(c->hub);
        c->refs++; /* held until on_client_written */
        return;
    }
}

static void on_more(uv_idle_t *h)
{
    (void)h; /* being active is its job: the next poll does not wait */
}

/* Flushes up to opts.flush_slice dirty clients, oldest first; the rest wait for the next turn,
 * whose poll phase (not blocking meanwhile) reads webhooks and takes the writer's commits
 * first. So a pass over many clients is not one long turn: an event committed during it joins
 * the pass (a client not reached yet gets both frames in one writev) instead of waiting for
 * the pass to end and then a whole pass of its own. */
static void on_flush(uv_check_t *h)
{
    struct hub *hub = h->data;
    for (size_t n = 0; hub->dirty && n < hub->opts.flush_slice; n++) {
        struct client *c = hub->dirty;
        hub->dirty = c->dirty_next;
        if (!hub->dirty)
            hub->dirty_tail = &hub->dirty;
        c->dirty = 0;
        client_flush(c);
        hub_client_unref(c); /* the list's reference */
    }
    if (hub->dirty)
        uv_idle_start(&hub->more, on_more);
    else
        uv_idle_stop(&hub->more);
}

void hub_publish(struct hub *hub, const struct event *ev)
{
    if (!ev->streamer_login)
        return;
    struct channel *ch = channel_get(hub, ev->streamer_login, 1);
    if (ch && ev->streamer_seq && ev->streamer_seq <= ch->sseq)
        return; /* a repeat: every subscriber has it already */
    struct frame *f = ch ? frame_from_event(ev) : NULL;
    if (!f) {
        log_error("hub.publish_failed", "id=%s reason=\"out of memory\"", ev->id);
        return;
    }
    hub->stats.frames_published++;
    if (f->sseq)
        ch->sseq = f->sseq;
    channel_note_streamer(ch, ev);
    channel_remember(ch, f);
    channel_touch(hub, ch);
    /* closing a client unlinks only that client, so next stays valid */
    for (struct client *c = ch->clients, *next; c; c = next) {
        next = c->next;
        if (f->sseq && f->sseq <= c->sseq)
            continue; /* its since= replay sent this one from the store */
        if (f->sseq && !c->replay)
            c->sseq = f->sseq; /* held frames count once the replay is over */
        c->refs++;
        if (client_push(c, f) < 0) {
            if (c->conn) {
                hub->stats.clients_culled++;
                char peer[64];
                http_conn_peer(c->conn, peer, sizeof peer);
                log_warn("ws.client_culled",
                         "streamer=%s peer=%s queued=%u bytes=%u reason=\"not reading\"",
                         ch->info.login, peer, c->qlen, c->qbytes);
                hub_client_close(c, 0, NULL);
            }
        } else {
            hub_client_mark_dirty(c);
        }
        hub_client_unref(c);
    }
    hub_frame_unref(f);
}

/* ---- WebSocket connection callbacks ---- */

static int on_client_message(void *arg, enum ws_opcode op, const uint8_t *data, size_t len,
                             uint16_t code)
{
    struct client *c = arg;
    struct buf b;
    buf_init(&b, 0);
    int stop = 0;
    if (op == WS_OP_PING) {
        ws_encode_frame(&b, WS_OP_PONG, data, len, NULL);
    } else if (op == WS_OP_CLOSE) {
        /* echo the close and hang up */
        ws_encode_close(&b, code == 1005 ? WS_CLOSE_NORMAL : code, "", NULL);
        stop = 1;
    } else if (op == WS_OP_TEXT || op == WS_OP_BINARY) {
        buf_release(&b);
        hub_client_close(c, WS_CLOSE_POLICY, "clients send nothing but pings");
        return 1;
    }
    /* control replies are rare and small: a copy in a write of their own */
    hub_client_send_control(c, &b);
    buf_release(&b);
    if (stop)
        hub_client_close(c, 0, NULL);
    return stop;
}

static int ws_on_read(void *arg, const uint8_t *data, size_t len)
{
    struct client *c = arg;
    c->last_rx_ms = hub_ms(c->hub);
    if (!c->parser) {
        c->parser = malloc(sizeof *c->parser);
        if (!c->parser)
            return -1;
        ws_parser_init(c->parser, WS_SERVER, CLIENT_MAX_INPUT, on_client_message, c);
    }
    c->refs++; /* a callback may close the client; the parser must outlive this call */
    if (ws_parser_feed(c->parser, data, len) < 0) {
        log_info("ws.protocol_error", "reason=\"%s\"", c->parser->error);
        hub_client_close(c, c->parser->error_code, c->parser->error);
    }
    hub_client_unref(c);
    return 0;
}

static void ws_on_close(void *arg)
{
    struct client *c = arg;
    c->hub->stats.clients--;
    client_detach(c);
    c->conn = NULL;
    hub_client_unref(c);
}


/* The 101 is out: the client joins its channel before any frame it sent is parsed. */
static int ws_on_open(void *arg, struct http_conn *conn)
{
    struct client *c = arg;
    struct channel *ch = channel_get(c->hub, c->hub->opening_login, 1);
    if (!ch)
        return -1;
    c->conn = conn;
    c->last_rx_ms = hub_ms(c->hub);
    c->hub->stats.clients++;
    client_attach(c, ch);
    if (c->replay)
        hub_replay_next(c); /* may close the client: the server then feeds it nothing */
    return 0;
}

static const struct http_ws_ops client_ops = {ws_on_open, ws_on_read, ws_on_close};

/* ---- upgrade ---- */

void hub_handle_ws(struct hub *hub, struct http_request *req)
{
    char login[64], since[64];
    int has_login = http_query_param(req, "streamer", login, sizeof login);
    int has_since = http_query_param(req, "since", since, sizeof since);
    if (has_login != 1 || !login_valid(login)) {
        http_respond_error(req, 400, "streamer must be a Twitch login (letters, digits, _)");
        return;
    }
    if (has_since < 0 || (has_since == 1 && (!since[0] || strlen(since) > 40))) {
        http_respond_error(req, 400, "since must be an event id");
        return;
    }
    struct client *c = calloc(1, sizeof *c);
    if (c && has_since == 1) {
        c->replay = calloc(1, sizeof *c->replay);
        if (c->replay)
            c->replay->since = strdup(since);
    }
    if (!c || (has_since == 1 && (!c->replay || !c->replay->since))) {
        if (c)
            client_free_unopened(c);
        http_respond_error(req, 503, "out of memory");
        return;
    }
    c->hub = hub;
    c->refs = 1; /* the connection's */
    /* the channel is made in ws_on_open, once the upgrade is known to be valid */
    hub->opening_login = login;
    int r = http_upgrade_websocket(req, &client_ops, c);
    hub->opening_login = NULL;
    if (r < 0)
        client_free_unopened(c); /* refused before ws_on_open took it: still ours */
    /* else c belongs to its connection and may already be gone */
}

/* ---- the newest events of a streamer ---- */

/* Replaces the channel's recent frames with the newest events from the store, keeping any
 * published since the query ran (they have higher seqs). */
static void channel_warm(struct channel *ch, const struct event_list *events)
{
    struct frame *keep[HUB_RECENT];
    int nkeep = 0;
    int64_t top = events->count ? events->items[0]->seq : 0;
    for (int i = 0; i < ch->nrecent; i++) {
        if (ch->recent[i]->seq > top)
            keep[nkeep++] = ch->recent[i];
        else
            hub_frame_unref(ch->recent[i]);
    }
    ch->nrecent = 0;
    for (size_t i = events->count; i-- > 0;) {
        struct frame *f = frame_from_event(events->items[i]);
        if (!f)
            return; /* stays incomplete; the store answers next time */
        channel_remember(ch, f);
        hub_frame_unref(f);
    }
    for (int i = nkeep; i-- > 0;) {
        channel_remember(ch, keep[i]);
        hub_frame_unref(keep[i]);
    }
    ch->complete = 1;
}

int hub_recent(struct hub *hub, const char *login, int limit, struct buf *out,
               struct streamer_info *info)
{
    struct channel *ch = map_get(&hub->channels, login);
    if (!ch || !ch->complete || !ch->info.id[0])
        return 0;
    channel_touch(hub, ch);
    for (int i = 0; i < ch->nrecent && i < limit; i++) {
        if (i)
            buf_puts(out, ",");
        buf_append(out, ch->recent[i]->data + ch->recent[i]->ev_off, ch->recent[i]->ev_len);
    }
    *info = ch->info;
    return 1;
}

void hub_learn_streamer(struct hub *hub, const char *login, const struct streamer_info *s)
{
    struct channel *ch = channel_get(hub, login, 1);
    if (ch && !ch->info.id[0]) {
        channel_page_drop(ch);
        ch->info = *s;
    }
}

int hub_page_get(struct hub *hub, const char *login, int limit, const char **body, size_t *len)
{
    struct channel *ch = map_get(&hub->channels, login);
    if (!ch || !ch->page || ch->page_limit != limit)
        return 0;
    channel_touch(hub, ch);
    *body = ch->page;
    *len = ch->page_len;
    return 1;
}

void hub_page_put(struct hub *hub, const char *login, int limit, const char *body, size_t len)
{
    struct channel *ch = map_get(&hub->channels, login);
    if (!ch || !ch->complete || !ch->info.id[0])
        return;
    char *copy = malloc(len ? len : 1);
    if (!copy)
        return;
    memcpy(copy, body, len);
    channel_page_drop(ch);
    ch->page = copy;
    ch->page_len = len;
    ch->page_limit = limit;
}

void hub_warm(struct hub *hub, const char *login, const struct event_list *events)
{
    struct channel *ch = map_get(&hub->channels, login);
    if (ch && !ch->complete)
        channel_warm(ch, events);
}

const struct streamer_info *hub_streamer(struct hub *hub, const char *login)
{
    struct channel *ch = map_get(&hub->channels, login);
    return ch && ch->info.id[0] ? &ch->info : NULL;
}

/* ---- lifecycle ---- */

static const uint8_t PING_FRAME[2] = {0x89, 0x00}; /* static: a write may borrow it */

/* Every SWEEP_MS: a client whose write the peer has not taken for send_timeout is culled; one
 * not heard from for ping_interval + ping_timeout is a dead peer; every ping_interval, all get
 * a ping (a 2-byte write of a static frame). One timer for the hub, so an idle client costs no
 * timer of its own. */
static void sweep_client(struct hub *hub, struct client *c, uint32_t now_ms, int ping)
{
    char peer[64];
    if (c->stall_ms && (uint32_t)(now_ms - c->stall_ms) > (uint32_t)hub->opts.send_timeout_ms) {
        hub->stats.clients_culled++;
        http_conn_peer(c->conn, peer, sizeof peer);
        log_warn("ws.client_culled", "streamer=%s peer=%s reason=\"send timeout\"",
                 c->ch ? c->ch->info.login : "", peer);
        hub_client_close(c, WS_CLOSE_POLICY, "not reading");
    } else if ((uint32_t)(now_ms - c->last_rx_ms) >
               (uint32_t)(hub->opts.ping_interval_ms + hub->opts.ping_timeout_ms)) {
        hub->stats.clients_timed_out++;
        http_conn_peer(c->conn, peer, sizeof peer);
        log_info("ws.client_timed_out", "streamer=%s peer=%s reason=\"no answer to pings\"",
                 c->ch ? c->ch->info.login : "", peer);
        hub_client_close(c, WS_CLOSE_GOING_AWAY, "no answer to pings");
    } else if (ping) {
        /* even behind queued writes (whole frames, so it interleaves cleanly): a busy reader
         * must be asked too, or its silence would look like death */
        uv_buf_t ub = uv_buf_init((char *)PING_FRAME, sizeof PING_FRAME);
        c->refs++; /* a failed write closes the client */
        http_conn_writev(c->conn, &ub, 1, NULL, NULL);
        hub_client_unref(c);
    }
}

static void on_sweep(uv_timer_t *t)
{
    struct hub *hub = t->data;
    int64_t now = clock_mono_us();
    int ping = now >= hub->next_ping_us;
    if (ping)
        hub->next_ping_us = now + hub->opts.ping_interval_ms * 1000;
    uint32_t now_ms = hub_ms(hub);
    /* closing a client unlinks it alone, and moves only its own channel (once empty) to the
     * idle list: the next client and the next active channel stay valid */
    for (struct channel *ch = hub->active, *next_ch; ch; ch = next_ch) {
        next_ch = ch->lru_next;
        for (struct client *c = ch->clients, *next; c; c = next) {
            next = c->next;
            if (c->conn && !c->closing)
                sweep_client(hub, c, now_ms, ping);
        }
    }
}

int hub_new(uv_loop_t *loop, struct store *store, const struct hub_options *opts,
            struct hub **out, struct err *err)
{
    struct hub *hub = calloc(1, sizeof *hub);
    if (!hub)
        return err_set(err, "out of memory");
    hub->loop = loop;
    hub->store = store;
    hub->opts = *opts;
    if (!hub->opts.max_queue_bytes)
        hub->opts.max_queue_bytes = 4u << 20;
    if (hub->opts.max_queue_bytes > HUB_QUEUE_BYTES_MAX)
        hub->opts.max_queue_bytes = HUB_QUEUE_BYTES_MAX;
    if (hub->opts.ping_interval_ms <= 0)
        hub->opts.ping_interval_ms = 30000;
    if (hub->opts.ping_timeout_ms <= 0)
        hub->opts.ping_timeout_ms = 30000;
    if (hub->opts.send_timeout_ms <= 0)
        hub->opts.send_timeout_ms = 30000;
    if (!hub->opts.max_idle_channels)
        hub->opts.max_idle_channels = 1000;
    if (!hub->opts.flush_slice)
        hub->opts.flush_slice = 2048;
    if (!hub->opts.replay_max_bytes)
        hub->opts.replay_max_bytes = 256u << 10;
    map_init(&hub->channels);
    hub->epoch_us = clock_mono_us();
    hub->next_ping_us = clock_mono_us() + hub->opts.ping_interval_ms * 1000;
    hub->dirty_tail = &hub->dirty;
    uv_check_init(loop, &hub->flusher);
    hub->flusher.data = hub;
    uv_check_start(&hub->flusher, on_flush);
    uv_unref((uv_handle_t *)&hub->flusher);
    uv_timer_init(loop, &hub->sweeper);
    hub->sweeper.data = hub;
    uv_timer_start(&hub->sweeper, on_sweep, SWEEP_MS, SWEEP_MS);
    uv_unref((uv_handle_t *)&hub->sweeper);
    uv_idle_init(loop, &hub->more);
    hub->more.data = hub;
    uv_unref((uv_handle_t *)&hub->more);
    hub->open_handles = 3;
    *out = hub;
    return 0;
}

static void on_handle_closed(uv_handle_t *h)
{
    struct hub *hub = h->data;
    if (--hub->open_handles)
        return;
    /* the dirty list's references: their connections are gone */
    while (hub->dirty) {
        struct client *c = hub->dirty;
        hub->dirty = c->dirty_next;
        c->dirty = 0;
        hub_client_unref(c);
    }
    hub->dirty_tail = &hub->dirty;
    const char *key;
    void *value;
    for (size_t i = 0; map_next(&hub->channels, &i, &key, &value);)
        channel_free(value);
    map_release(&hub->channels);
    free(hub);
}

void hub_free(struct hub *hub)
{
    if (!hub)
        return;
    hub->freeing = 1; /* no eviction while clients leave their channels */
    for (struct channel *ch = hub->active, *next_ch; ch; ch = next_ch) {
        next_ch = ch->lru_next; /* ch moves to the idle list once its last client is gone */
        for (struct client *c = ch->clients, *next; c; c = next) {
            next = c->next; /* closing unlinks c alone */
            hub_client_close(c, WS_CLOSE_GOING_AWAY, "server shutting down");
        }
    }
    uv_close((uv_handle_t *)&hub->flusher, on_handle_closed);
    uv_close((uv_handle_t *)&hub->sweeper, on_handle_closed);
    uv_close((uv_handle_t *)&hub->more, on_handle_closed);
}

void hub_stats(const struct hub *hub, struct hub_stats *out)
{
    *out = hub->stats;
}
