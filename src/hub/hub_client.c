/* hub_client.c: the lowest part of the hub — dropping frame and client references, the flush
 * list, control frames and closing a client. hub.c and hub_replay.c build on it; it calls
 * neither. */
#include <stdlib.h>
#include <string.h>

#include "hub/hub_int.h"
#include "ws/frame.h"

void hub_frame_unref(struct frame *f)
{
    if (f && --f->refs == 0)
        free(f);
}

void hub_client_unref(struct client *c)
{
    if (--c->refs)
        return;
    for (uint32_t i = 0; i < c->qlen; i++)
        hub_frame_unref(c->q[(c->qhead + i) % c->qcap]);
    for (uint32_t i = 0; i < c->ninflight; i++)
        hub_frame_unref(c->inflight[i]);
    free(c->q);
    free(c->inflight);
    hub_replay_free(c->replay);
    if (c->parser) {
        ws_parser_release(c->parser);
        free(c->parser);
    }
    free(c);
}

/* The list holds a reference: a client closed (and unreferenced by its connection) in the
 * same loop turn stays valid until on_flush has looked at it. */
void hub_client_mark_dirty(struct client *c)
{
    if (c->dirty || !c->conn)
        return;
    c->dirty = 1;
    c->refs++;
    c->dirty_next = NULL;
    *c->hub->dirty_tail = c;
    c->hub->dirty_tail = &c->dirty_next;
}

static void on_copy_written(void *arg, int status)
{
    (void)status;
    free(arg);
}

/* Sends a small control frame (close, pong), after whatever is queued (frames are whole, so
 * it interleaves cleanly): a copy owned by the write, freed when it completes or is cancelled
 * by a close. The connection may close inside (on_close runs): callers hold a reference. */
void hub_client_send_control(struct client *c, const struct buf *b)
{
    if (!c->conn || !b->len)
        return;
    char *copy = malloc(b->len);
    if (!copy)
        return;
    memcpy(copy, b->data, b->len);
    uv_buf_t ub = uv_buf_init(copy, (unsigned)b->len);
    if (http_conn_writev(c->conn, &ub, 1, on_copy_written, copy) != 0)
        free(copy); /* written at once, or failed: the callback will not run */
}

/* Closes the socket; the connection's on_close callback finishes the job. */
void hub_client_close(struct client *c, uint16_t code, const char *why)
{
    if (!c->conn || c->closing)
        return;
    c->closing = 1;
    c->refs++; /* a failed write of the close frame closes the connection under us */
    if (code) {
        struct buf b;
        buf_init(&b, 0);
        /* best effort: what the kernel does not take now is cancelled by the close */
        if (ws_encode_close(&b, code, why, NULL) == 0)
            hub_client_send_control(c, &b);
        buf_release(&b);
    }
    http_conn_close(c->conn); /* NULL (already closed by a failed write): nothing to do */
    hub_client_unref(c);
}
