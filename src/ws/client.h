/* ws/client: an outgoing WebSocket connection (ws:// or wss://) on the libuv loop, for the
 * EventSub WebSocket transport.
 *
 *   resolve ─▶ TCP connect ─▶ [TLS handshake, memory BIOs] ─▶ HTTP/1.1 Upgrade ─▶ open
 *
 * TLS uses OpenSSL with the system trust store, SNI and host name verification. Messages
 * arrive whole (the framing layer reassembles fragments); pings are answered with pongs
 * here, so callers only see text/binary messages and the close. The client never sends data
 * frames on its own: the caller decides (EventSub forbids it).
 *
 * Callbacks run on the loop thread. on_close runs exactly once per successful
 * ws_client_connect (also when the connection never opened), with the peer's close code, or
 * 1006 when the connection broke without one; after it the client is freed by the module:
 * do not touch it again.
 */
#ifndef SEV_WS_CLIENT_H
#define SEV_WS_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "base/err.h"

struct ws_client;

struct ws_client_ops {
    void (*on_open)(void *arg);
    void (*on_message)(void *arg, const char *data, size_t len); /* text or binary */
    void (*on_close)(void *arg, int code, const char *reason);
};

struct ws_client_options {
    size_t max_message;       /* 0: 1 MiB */
    int64_t connect_timeout_ms; /* resolve + connect + TLS + upgrade; 0: 10 s */
    const char *ca_file;      /* NULL: the system's trust store */
};

/* Starts connecting to url (ws://host[:port]/path?query or wss://…). Returns 0 (ops will be
 * called), or -1 with err for a URL it cannot use (ops are never called). */
int ws_client_connect(uv_loop_t *loop, const char *url, const struct ws_client_options *opts,
                      const struct ws_client_ops *ops, void *arg, struct ws_client **out,
                      struct err *err);

/* Sends a close frame with code and closes; on_close follows. Safe to call more than once. */
void ws_client_close(struct ws_client *c, uint16_t code, const char *reason);

/* Sends one text frame (masked, as clients must). 0, or -1 if not open. */
int ws_client_send_text(struct ws_client *c, const char *data, size_t len);

#endif
