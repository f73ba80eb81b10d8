/* wsession: one EventSub WebSocket session (digest section 4), including the
 * session_reconnect hand-over.
 *
 *        connect ──▶ welcome(session_id) ──▶ [owner creates subscriptions within 10 s]
 *                         │
 *   notification ─────────┼──▶ decode ─▶ ingest (dedupe by message id in the store)
 *   keepalive ────────────┤    (every message resets the keepalive watchdog)
 *   revocation ───────────┼──▶ ops.on_revocation
 *   session_reconnect ────┴──▶ open reconnect_url unmodified; keep consuming the old socket
 *                              until the new welcome, then close the old one; subscriptions
 *                              carry over (ops.on_welcome with carried = 1)
 *   close / watchdog ─────────▶ ops.on_lost(code): every subscription is gone; the owner
 *                              opens a new session after a backoff and resubscribes
 *
 * The session never sends data frames (Twitch closes with 4001 if it does); pings are
 * answered by ws/client. Loop thread only.
 */
#ifndef SEV_EVENTSUB_WSESSION_H
#define SEV_EVENTSUB_WSESSION_H

#include <stdint.h>
#include <uv.h>

#include "base/err.h"
#include "ingest/ingest.h"

struct wsession;

struct wsession_ops {
    /* A session is live. carried: 1 after a hand-over (subscriptions moved with it), 0 for a
     * fresh session (the owner must subscribe within keepalive seconds). */
    void (*on_welcome)(void *arg, const char *session_id, int carried);
    void (*on_revocation)(void *arg, const char *subscription_id, const char *type,
                          const char *status);
    /* The session is over (closed, broken or silent); last_alive_us is the wall time of the
     * last message, for the gap marker. The wsession frees itself after this returns. */
    void (*on_lost)(void *arg, int close_code, const char *why, int64_t last_alive_us);
};

struct wsession_stats {
    uint64_t notifications;
    uint64_t keepalives;
    uint64_t reconnects; /* session_reconnect hand-overs */
};

/* Connects to url (TWITCH_EVENTSUB_WS_URL, optionally with ?keepalive_timeout_seconds=N).
 * ingest is borrowed. Returns 0 (ops will be called) or -1 with err. */
int wsession_open(uv_loop_t *loop, const char *url, struct ingest *ingest,
                  const struct wsession_ops *ops, void *arg, struct wsession **out,
                  struct err *err);
/* Closes without calling on_lost; the session frees itself once its sockets have closed. */
void wsession_close(struct wsession *s);
const char *wsession_id(const struct wsession *s); /* "" before the welcome */
void wsession_stats(const struct wsession *s, struct wsession_stats *out);

/* What a close code means, for logs (digest 4.3). */
const char *wsession_close_meaning(int code);

#endif
