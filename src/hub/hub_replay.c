/* hub_replay.c: GET /ws?since=ID — the stored events after ID, in batches, while the hub holds
 * the client's live frames; then the held frames the replay did not send. Tracked by
 * streamer_seq where the store numbers streamers (holds across nodes), else by seq. */
#include <stdlib.h>
#include <string.h>

#include "hub/hub_int.h"
#include "ws/frame.h"


static void finish_replay(struct client *c)
{
    int64_t replayed = c->replay->seq;
    free(c->replay->since);
    free(c->replay->buf);
    free(c->replay);
    c->replay = NULL;
    /* drop held live frames that the replay already sent (by streamer_seq where the store
     * numbers streamers, which holds across nodes; else by the node's seq) */
    while (c->qlen) {
        const struct frame *f = c->q[c->qhead];
        if (f->sseq ? f->sseq > c->sseq : f->seq > replayed)
            break;
        c->qbytes -= f->len;
        hub_frame_unref(c->q[c->qhead]);
        c->qhead = (c->qhead + 1) % c->qcap;
        c->qlen--;
    }
    if (c->qlen) {
        const struct frame *last = c->q[(c->qhead + c->qlen - 1) % c->qcap];
        if (last->sseq > c->sseq)
            c->sseq = last->sseq;
    }
    hub_client_mark_dirty(c);
}

static void on_replay_written(void *arg, int status)
{
    struct client *c = arg;
    c->stall_ms = 0;
    free(c->replay->buf);
    c->replay->buf = NULL;
    if (status == 0 && c->conn && c->replay->since)
        hub_replay_next(c);
    else if (status == 0 && c->conn)
        finish_replay(c);
    hub_client_unref(c);
}

/* Nothing followed the since event: what the client has seen ends at the since event's
 * streamer_seq, one past its predecessor's (numbers are dense), so a live frame at or below it
 * that this node learns of later is not sent again. */
static void on_replay_base(void *arg, int status, struct event_list *events)
{
    struct client *c = arg;
    if (c->conn && c->replay) {
        if (status == 0 && events) {
            int64_t base = events->count ? events->items[0]->streamer_seq + 1 : 1;
            if ((!events->count || events->items[0]->streamer_seq) && base > c->sseq)
                c->sseq = base;
        }
        finish_replay(c);
    }
    event_list_free(events);
    hub_client_unref(c);
}

/* Holds the caller's reference until on_replay_base; since is the client's since id. */
static void replay_base(struct client *c, const char *since)
{
    const char *login = c->ch ? c->ch->info.login : "";
    if (store_recent(c->hub->store, login, since, 1, on_replay_base, c) < 0) {
        finish_replay(c);
        hub_client_unref(c);
    }
}

static void on_replay_events(void *arg, int status, struct event_list *events)
{
    struct client *c = arg;
    if (!c->conn) {
        event_list_free(events);
        hub_client_unref(c);
        return;
    }
    if (status < 0) {
        event_list_free(events);
        hub_client_close(c, WS_CLOSE_INTERNAL, "could not read stored events");
        hub_client_unref(c);
        return;
    }
    struct buf out;
    buf_init(&out, 0);
    struct buf json;
    buf_init(&json, 0);
    size_t got = status == 0 && events ? events->count : 0;
    size_t n = 0;
    /* at most replay_max_bytes (but at least one event) buffered: the rest is read again */
    for (; n < got && (n == 0 || out.len < c->hub->opts.replay_max_bytes); n++) {
        const struct event *ev = events->items[n];
        buf_reset(&json);
        buf_puts(&json, FRAME_PREFIX);
        event_encode_json(ev, &json);
        buf_puts(&json, "}");
        ws_encode_frame(&out, WS_OP_TEXT, json.data, json.len, NULL);
        if (ev->seq > c->replay->seq)
            c->replay->seq = ev->seq;
        if (ev->streamer_seq > c->sseq)
            c->sseq = ev->streamer_seq;
    }
    /* a full batch means there may be more: continue from the last id sent */
    int more = got == REPLAY_BATCH || n < got;
    char *base_since = NULL; /* nothing after the since event: where the client stands */
    if (c->replay->batches++ == 0 && status == 0 && got == 0) {
        base_since = c->replay->since;
        c->replay->since = NULL;
    }
    free(c->replay->since);
    c->replay->since = more ? strdup(events->items[n - 1]->id) : NULL;
    if (more && !c->replay->since) {
        buf_release(&json);
        buf_release(&out);
        event_list_free(events);
        hub_client_close(c, WS_CLOSE_INTERNAL, "out of memory");
        hub_client_unref(c);
        return;
    }
    c->hub->stats.replayed += n;
    buf_release(&json);
    event_list_free(events);
    if (out.len == 0) {
        buf_release(&out);
        if (base_since) {
            replay_base(c, base_since); /* takes our ref */
            free(base_since);
            return;
        }
        finish_replay(c);
        hub_client_unref(c);
        return;
    }
    c->replay->buf = buf_detach(&out, &n);
    uv_buf_t ub = uv_buf_init(c->replay->buf, (unsigned)n);
    int r = http_conn_writev(c->conn, &ub, 1, on_replay_written, c);
    if (r == 0) {
        c->stall_ms = hub_ms(c->hub);
        return; /* on_replay_written continues, holding our ref */
    }
    if (r == 1) {
        on_replay_written(c, 0);
        return;
    }
    hub_client_unref(c);
}

void hub_replay_next(struct client *c)
{
    c->refs++;
    if (store_since(c->hub->store, c->ch ? c->ch->info.login : "", c->replay->since, REPLAY_BATCH,
                    on_replay_events, c) < 0) {
        hub_client_close(c, WS_CLOSE_INTERNAL, "could not read stored events");
        hub_client_unref(c);
    }
}
