#include "hub/hub.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/map.h"
#include "ws/frame.h"

#define REPLAY_BATCH 500
#define WRITE_BATCH 64
#define CLIENT_MAX_INPUT 4096 /* browsers send only control frames */

const int64_t hub_latency_bounds_us[HUB_LATENCY_BUCKETS] = {
    100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000};

/* An event encoded once as a complete server WebSocket frame:
 *   [ws header][{"kind":"event","event":][event json][}]
 * shared by every client queue and by the channel's recent list. */
struct frame {
    unsigned refs;
    uint32_t len;     /* bytes in data */
    uint32_t ev_off;  /* the event object inside data */
    uint32_t ev_len;
    int64_t seq;
    int64_t publish_us; /* monotonic */
    uint8_t data[];
};

struct channel;

struct client {
    struct hub *hub;
    struct http_conn *conn; /* borrowed; NULL once closed */
    struct channel *ch;
    struct client *prev, *next;      /* channel's subscribers */
    struct client *dirty_next;       /* hub's flush list */
    struct frame **q;                /* owned ring of frame refs */
    uint32_t qhead, qlen, qcap;
    size_t qbytes;
    struct frame **inflight;         /* owned refs written but not yet confirmed */
    uint32_t ninflight;
    struct ws_parser *parser;        /* owned, made on first input */
    struct replay *replay;           /* owned while replaying (since=), else NULL */
    unsigned refs;                   /* connection + pending store calls */
    uint8_t dirty, closing;
};

/* What a client replaying stored events needs; most clients never have one, so idle clients
 * stay small. */
struct replay {
    char *since;  /* owned cursor: events after this id; NULL: the last batch is out */
    char *buf;    /* owned bytes of a replay batch being written */
    int64_t seq;  /* live frames up to this seq were replayed */
};

struct channel {
    struct streamer_info info;
    struct client *clients;
    size_t nclients;
    struct frame *recent[HUB_RECENT]; /* owned refs, recent[0] newest */
    int nrecent;
    int complete; /* recent[] holds the newest min(HUB_RECENT, all) events of this streamer */
};

struct hub {
    uv_loop_t *loop;
    struct store *store;
    struct hub_options opts;
    struct map channels; /* login → struct channel * (owned) */
    struct client *dirty;
    uv_check_t flusher;
    struct hub_stats stats;
};

/* ---- frames ---- */

static const char FRAME_PREFIX[] = "{\"kind\":\"event\",\"event\":";

static struct frame *frame_new(const char *ev_json, size_t ev_len, int64_t seq)
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

static void frame_unref(struct frame *f)
{
    if (f && --f->refs == 0)
        free(f);
}

static struct frame *frame_from_event(const struct event *ev)
{
    struct buf json;
    buf_init(&json, 0);
    struct frame *f = NULL;
    if (event_encode_json(ev, &json) == 0)
        f = frame_new(json.data, json.len, ev->seq);
    buf_release(&json);
    return f;
}

/* ---- channels ---- */

int hub_login_valid(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 25)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '_')
            return 0;
    return 1;
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
    return ch;
}

static void channel_note_streamer(struct channel *ch, const struct event *ev)
{
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
    if (ch->nrecent == HUB_RECENT)
        frame_unref(ch->recent[--ch->nrecent]);
    memmove(&ch->recent[1], &ch->recent[0], sizeof ch->recent[0] * (size_t)ch->nrecent);
    ch->recent[0] = frame_ref(f);
    ch->nrecent++;
}

static void channel_free(struct channel *ch)
{
    for (int i = 0; i < ch->nrecent; i++)
        frame_unref(ch->recent[i]);
    free(ch);
}

/* ---- client queues ---- */

static void client_unref(struct client *c)
{
    if (--c->refs)
        return;
    for (uint32_t i = 0; i < c->qlen; i++)
        frame_unref(c->q[(c->qhead + i) % c->qcap]);
    for (uint32_t i = 0; i < c->ninflight; i++)
        frame_unref(c->inflight[i]);
    free(c->q);
    free(c->inflight);
    if (c->replay) {
        free(c->replay->since);
        free(c->replay->buf);
        free(c->replay);
    }
    if (c->parser) {
        ws_parser_release(c->parser);
        free(c->parser);
    }
    free(c);
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
    ch->nclients--;
    c->ch = NULL;
}

static void client_mark_dirty(struct client *c)
{
    if (c->dirty || !c->conn)
        return;
    c->dirty = 1;
    c->dirty_next = c->hub->dirty;
    c->hub->dirty = c;
}

/* Closes the socket; the connection's on_close callback finishes the job. */
static void client_close(struct client *c, uint16_t code, const char *why)
{
    if (!c->conn || c->closing)
        return;
    c->closing = 1;
    if (code) {
        struct buf b;
        buf_init(&b, 0);
        if (ws_encode_close(&b, code, why, NULL) == 0) {
            uv_buf_t ub = uv_buf_init(b.data, (unsigned)b.len);
            /* best effort: only if the kernel takes it now, since we close right after */
            if (http_conn_write_queue_size(c->conn) == 0)
                http_conn_writev(c->conn, &ub, 1, NULL, NULL);
        }
        buf_release(&b);
    }
    http_conn_close(c->conn);
}

static int client_push(struct client *c, struct frame *f)
{
    size_t max_frames = c->hub->opts.max_queue_frames;
    if (c->qlen >= max_frames || c->qbytes + f->len > c->hub->opts.max_queue_bytes)
        return -1;
    if (c->qlen == c->qcap) {
        uint32_t cap = c->qcap ? c->qcap * 2 : 8;
        if (cap > max_frames)
            cap = (uint32_t)max_frames;
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

static void client_flush(struct client *c);

static void on_client_written(void *arg, int status)
{
    struct client *c = arg;
    int64_t now = clock_mono_us();
    for (uint32_t i = 0; i < c->ninflight; i++) {
        observe_latency(c->hub, c->inflight[i], now);
        frame_unref(c->inflight[i]);
    }
    c->ninflight = 0;
    if (status == 0 && c->qlen)
        client_mark_dirty(c);
    client_unref(c);
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
                frame_unref(sent[i]);
            }
            continue;
        }
        if (r < 0) {
            for (uint32_t i = 0; i < n; i++)
                frame_unref(sent[i]);
            return;
        }
        if (!c->inflight) {
            c->inflight = malloc(sizeof *c->inflight * WRITE_BATCH);
            if (!c->inflight) { /* cannot track them: drop the client rather than leak */
                for (uint32_t i = 0; i < n; i++)
                    frame_unref(sent[i]);
                client_close(c, 0, NULL);
                return;
            }
        }
        memcpy(c->inflight, sent, sizeof *sent * n);
        c->ninflight = n;
        c->refs++; /* held until on_client_written */
        return;
    }
}

static void on_flush(uv_check_t *h)
{
    struct hub *hub = h->data;
    struct client *list = hub->dirty;
    hub->dirty = NULL;
    while (list) {
        struct client *c = list;
        list = c->dirty_next;
        c->dirty = 0;
        c->refs++;
        client_flush(c);
        client_unref(c);
    }
}

void hub_publish(struct hub *hub, const struct event *ev)
{
    if (!ev->streamer_login)
        return;
    struct channel *ch = channel_get(hub, ev->streamer_login, 1);
    struct frame *f = ch ? frame_from_event(ev) : NULL;
    if (!f) {
        log_error("hub.publish_failed", "id=%s reason=\"out of memory\"", ev->id);
        return;
    }
    hub->stats.frames_published++;
    channel_note_streamer(ch, ev);
    channel_remember(ch, f);
    for (struct client *c = ch->clients, *next; c; c = next) {
        next = c->next;
        if (client_push(c, f) < 0) {
            hub->stats.clients_culled++;
            char peer[64];
            http_conn_peer(c->conn, peer, sizeof peer);
            log_warn("ws.client_culled", "streamer=%s peer=%s queued=%u reason=\"not reading\"",
                     ch->info.login, peer, c->qlen);
            client_close(c, 0, NULL);
            continue;
        }
        client_mark_dirty(c);
    }
    frame_unref(f);
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
        client_close(c, WS_CLOSE_POLICY, "clients send nothing but pings");
        return 1;
    }
    if (b.len && c->conn) {
        /* control replies are rare and small: copy into a write of their own */
        uv_buf_t ub = uv_buf_init(b.data, (unsigned)b.len);
        if (http_conn_write_queue_size(c->conn) == 0)
            http_conn_writev(c->conn, &ub, 1, NULL, NULL);
    }
    buf_release(&b);
    if (stop)
        client_close(c, 0, NULL);
    return stop;
}

static int ws_on_read(void *arg, const uint8_t *data, size_t len)
{
    struct client *c = arg;
    if (!c->parser) {
        c->parser = malloc(sizeof *c->parser);
        if (!c->parser)
            return -1;
        ws_parser_init(c->parser, WS_SERVER, CLIENT_MAX_INPUT, on_client_message, c);
    }
    c->refs++; /* a callback may close the client; the parser must outlive this call */
    if (ws_parser_feed(c->parser, data, len) < 0) {
        log_info("ws.protocol_error", "reason=\"%s\"", c->parser->error);
        client_close(c, c->parser->error_code, c->parser->error);
    }
    client_unref(c);
    return 0;
}

static void ws_on_close(void *arg)
{
    struct client *c = arg;
    c->hub->stats.clients--;
    client_detach(c);
    c->conn = NULL;
    client_unref(c);
}

static const struct http_ws_ops client_ops = {ws_on_read, ws_on_close};

/* ---- replay ---- */

static void replay_next(struct client *c);

static void finish_replay(struct client *c)
{
    int64_t replayed = c->replay->seq;
    free(c->replay->since);
    free(c->replay->buf);
    free(c->replay);
    c->replay = NULL;
    /* drop held live frames that the replay already sent */
    while (c->qlen && c->q[c->qhead]->seq <= replayed) {
        c->qbytes -= c->q[c->qhead]->len;
        frame_unref(c->q[c->qhead]);
        c->qhead = (c->qhead + 1) % c->qcap;
        c->qlen--;
    }
    client_mark_dirty(c);
}

static void on_replay_written(void *arg, int status)
{
    struct client *c = arg;
    free(c->replay->buf);
    c->replay->buf = NULL;
    if (status == 0 && c->conn && c->replay->since)
        replay_next(c);
    else if (status == 0 && c->conn)
        finish_replay(c);
    client_unref(c);
}

static void on_replay_events(void *arg, int status, struct event_list *events)
{
    struct client *c = arg;
    if (!c->conn) {
        event_list_free(events);
        client_unref(c);
        return;
    }
    if (status < 0) {
        event_list_free(events);
        client_close(c, WS_CLOSE_INTERNAL, "could not read stored events");
        client_unref(c);
        return;
    }
    struct buf out;
    buf_init(&out, 0);
    struct buf json;
    buf_init(&json, 0);
    size_t n = status == 0 && events ? events->count : 0;
    for (size_t i = 0; i < n; i++) {
        const struct event *ev = events->items[i];
        buf_reset(&json);
        buf_puts(&json, FRAME_PREFIX);
        event_encode_json(ev, &json);
        buf_puts(&json, "}");
        ws_encode_frame(&out, WS_OP_TEXT, json.data, json.len, NULL);
        if (ev->seq > c->replay->seq)
            c->replay->seq = ev->seq;
    }
    /* a full batch means there may be more: continue from its last id */
    free(c->replay->since);
    c->replay->since = n == REPLAY_BATCH ? strdup(events->items[n - 1]->id) : NULL;
    if (n == REPLAY_BATCH && !c->replay->since) {
        buf_release(&json);
        buf_release(&out);
        event_list_free(events);
        client_close(c, WS_CLOSE_INTERNAL, "out of memory");
        client_unref(c);
        return;
    }
    c->hub->stats.replayed += n;
    buf_release(&json);
    event_list_free(events);
    if (out.len == 0) {
        buf_release(&out);
        finish_replay(c);
        client_unref(c);
        return;
    }
    c->replay->buf = buf_detach(&out, &n);
    uv_buf_t ub = uv_buf_init(c->replay->buf, (unsigned)n);
    int r = http_conn_writev(c->conn, &ub, 1, on_replay_written, c);
    if (r == 0)
        return; /* on_replay_written continues, holding our ref */
    if (r == 1) {
        on_replay_written(c, 0);
        return;
    }
    client_unref(c);
}

static void replay_next(struct client *c)
{
    c->refs++;
    if (store_since(c->hub->store, c->ch ? c->ch->info.login : "", c->replay->since, REPLAY_BATCH,
                    on_replay_events, c) < 0) {
        client_close(c, WS_CLOSE_INTERNAL, "could not read stored events");
        client_unref(c);
    }
}

/* ---- upgrade ---- */

void hub_handle_ws(struct hub *hub, struct http_request *req)
{
    char login[64], since[64];
    int has_login = http_query_param(req, "streamer", login, sizeof login);
    int has_since = http_query_param(req, "since", since, sizeof since);
    if (has_login != 1 || !hub_login_valid(login)) {
        http_respond_error(req, 400, "streamer must be a Twitch login (letters, digits, _)");
        return;
    }
    if (has_since < 0 || (has_since == 1 && (!since[0] || strlen(since) > 40))) {
        http_respond_error(req, 400, "since must be an event id");
        return;
    }
    struct client *c = calloc(1, sizeof *c);
    struct channel *ch = c ? channel_get(hub, login, 1) : NULL;
    if (!ch) {
        free(c);
        http_respond_error(req, 503, "out of memory");
        return;
    }
    c->hub = hub;
    c->refs = 1;
    c->conn = http_upgrade_websocket(req, &client_ops, c);
    if (!c->conn) {
        free(c);
        return;
    }
    hub->stats.clients++;
    c->ch = ch;
    c->next = ch->clients;
    if (ch->clients)
        ch->clients->prev = c;
    ch->clients = c;
    ch->nclients++;
    if (has_since == 1) {
        c->replay = calloc(1, sizeof *c->replay);
        if (c->replay)
            c->replay->since = strdup(since);
        if (!c->replay || !c->replay->since) {
            client_close(c, WS_CLOSE_INTERNAL, "out of memory");
            return;
        }
        replay_next(c);
    }
}

/* ---- recent events API ---- */

struct recent_call {
    struct hub *hub;
    struct http_request *req; /* borrowed until answered */
    char login[64];
    char before[64];
    int limit; /* asked for */
    int want;  /* read from the store: a whole window when it can warm the channel */
    struct streamer_info info;
};

static void respond_events(struct http_request *req, const struct streamer_info *info,
                           struct buf *events_json)
{
    struct buf b;
    buf_init(&b, 0);
    buf_puts(&b, "{\"streamer\":{\"id\":\"");
    buf_json_escape(&b, info->id, strlen(info->id));
    buf_puts(&b, "\",\"login\":\"");
    buf_json_escape(&b, info->login, strlen(info->login));
    buf_puts(&b, "\",\"display_name\":\"");
    buf_json_escape(&b, info->display_name, strlen(info->display_name));
    buf_puts(&b, "\"},\"events\":[");
    buf_append(&b, events_json->data ? events_json->data : "", events_json->len);
    buf_puts(&b, "]}");
    http_add_header(req, "Cache-Control", "no-store");
    http_respond_buf(req, 200, "application/json", &b);
}

/* Replaces the channel's recent frames with the newest events from the store, keeping any
 * published since the query ran (they have higher seqs). */
static void channel_warm(struct channel *ch, struct event_list *events)
{
    struct frame *keep[HUB_RECENT];
    int nkeep = 0;
    int64_t top = events->count ? events->items[0]->seq : 0;
    for (int i = 0; i < ch->nrecent; i++) {
        if (ch->recent[i]->seq > top)
            keep[nkeep++] = ch->recent[i];
        else
            frame_unref(ch->recent[i]);
    }
    ch->nrecent = 0;
    for (size_t i = events->count; i-- > 0;) {
        struct frame *f = frame_from_event(events->items[i]);
        if (!f)
            return; /* stays incomplete; the store answers next time */
        channel_remember(ch, f);
        frame_unref(f);
    }
    for (int i = nkeep; i-- > 0;) {
        channel_remember(ch, keep[i]);
        frame_unref(keep[i]);
    }
    ch->complete = 1;
}

static void on_recent_events(void *arg, int status, struct event_list *events)
{
    struct recent_call *call = arg;
    struct http_request *req = call->req;
    if (status < 0) {
        http_respond_error(req, 503, "the event store is not answering");
    } else if (status == 1) {
        http_respond_error(req, 400, "before: no such event");
    } else {
        struct buf list;
        buf_init(&list, 0);
        for (size_t i = 0; i < events->count && i < (size_t)call->limit; i++) {
            if (i)
                buf_puts(&list, ",");
            event_encode_json(events->items[i], &list);
        }
        respond_events(req, &call->info, &list);
        buf_release(&list);
        struct channel *ch = map_get(&call->hub->channels, call->login);
        if (!call->before[0] && ch && !ch->complete)
            channel_warm(ch, events);
    }
    event_list_free(events);
    free(call);
}

static void on_recent_streamer(void *arg, int status, const struct streamer_info *s)
{
    struct recent_call *call = arg;
    if (status != 0) {
        if (status == 1)
            http_respond_error(call->req, 404, "SEV has never heard of this streamer");
        else
            http_respond_error(call->req, 503, "the event store is not answering");
        free(call);
        return;
    }
    call->info = *s;
    struct channel *ch = channel_get(call->hub, call->login, 1);
    if (ch && !ch->info.id[0])
        ch->info = *s;
    /* without before, read a whole window so the channel can be warmed from it */
    call->want = call->before[0] ? call->limit : HUB_RECENT;
    if (store_recent(call->hub->store, call->login, call->before[0] ? call->before : NULL,
                     call->want,
                     on_recent_events, call) < 0) {
        http_respond_error(call->req, 503, "the event store is not answering");
        free(call);
    }
}

/* Answers from memory when possible: returns 1 if answered. */
static int recent_from_memory(struct hub *hub, struct http_request *req, const char *login,
                              int limit)
{
    struct channel *ch = map_get(&hub->channels, login);
    if (!ch || !ch->complete || !ch->info.id[0])
        return 0;
    struct buf list;
    buf_init(&list, 0);
    for (int i = 0; i < ch->nrecent && i < limit; i++) {
        if (i)
            buf_puts(&list, ",");
        buf_append(&list, ch->recent[i]->data + ch->recent[i]->ev_off, ch->recent[i]->ev_len);
    }
    respond_events(req, &ch->info, &list);
    buf_release(&list);
    return 1;
}

void hub_handle_recent(struct hub *hub, struct http_request *req, const char *login)
{
    char lower[64], num[16], before[64];
    size_t n = strlen(login);
    if (n >= sizeof lower) {
        http_respond_error(req, 400, "not a Twitch login");
        return;
    }
    for (size_t i = 0; i <= n; i++)
        lower[i] = (char)tolower((unsigned char)login[i]);
    if (!hub_login_valid(lower)) {
        http_respond_error(req, 400, "not a Twitch login");
        return;
    }
    int limit = 10;
    int has = http_query_param(req, "limit", num, sizeof num);
    if (has < 0 || (has == 1 && (sscanf(num, "%d", &limit) != 1 || limit < 1 || limit > 100))) {
        http_respond_error(req, 400, "limit must be a number from 1 to 100");
        return;
    }
    int has_before = http_query_param(req, "before", before, sizeof before);
    if (has_before < 0 || (has_before == 1 && !before[0])) {
        http_respond_error(req, 400, "before must be an event id");
        return;
    }
    if (has_before != 1 && recent_from_memory(hub, req, lower, limit))
        return;
    struct recent_call *call = calloc(1, sizeof *call);
    if (!call) {
        http_respond_error(req, 503, "out of memory");
        return;
    }
    call->hub = hub;
    call->req = req;
    call->limit = limit;
    snprintf(call->login, sizeof call->login, "%s", lower);
    if (has_before == 1)
        snprintf(call->before, sizeof call->before, "%s", before);
    if (store_streamer_get(hub->store, lower, on_recent_streamer, call) < 0) {
        http_respond_error(req, 503, "the event store is not answering");
        free(call);
    }
}

const struct streamer_info *hub_streamer(struct hub *hub, const char *login)
{
    struct channel *ch = map_get(&hub->channels, login);
    return ch && ch->info.id[0] ? &ch->info : NULL;
}

/* ---- lifecycle ---- */

int hub_new(uv_loop_t *loop, struct store *store, const struct hub_options *opts,
            struct hub **out, struct err *err)
{
    struct hub *hub = calloc(1, sizeof *hub);
    if (!hub)
        return err_set(err, "out of memory");
    hub->loop = loop;
    hub->store = store;
    hub->opts = *opts;
    if (!hub->opts.max_queue_frames)
        hub->opts.max_queue_frames = 1024;
    if (!hub->opts.max_queue_bytes)
        hub->opts.max_queue_bytes = 4u << 20;
    map_init(&hub->channels);
    uv_check_init(loop, &hub->flusher);
    hub->flusher.data = hub;
    uv_check_start(&hub->flusher, on_flush);
    uv_unref((uv_handle_t *)&hub->flusher);
    *out = hub;
    return 0;
}

static void on_flusher_closed(uv_handle_t *h)
{
    struct hub *hub = h->data;
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
    const char *key;
    void *value;
    for (size_t i = 0; map_next(&hub->channels, &i, &key, &value);) {
        struct channel *ch = value;
        for (struct client *c = ch->clients, *next; c; c = next) {
            next = c->next; /* closing detaches c from the list */
            client_close(c, WS_CLOSE_GOING_AWAY, "server shutting down");
        }
    }
    uv_close((uv_handle_t *)&hub->flusher, on_flusher_closed);
}

void hub_stats(const struct hub *hub, struct hub_stats *out)
{
    *out = hub->stats;
}
