/* ws/frame: RFC 6455 framing, server and client side, no I/O.
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-------+-+-------------+-------------------------------+
 *  |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
 *  |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
 *  |N|V|V|V|       |S|             |   (if payload len==126/127)   |
 *  +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
 *  |     Extended payload length continued, if payload len == 127  |
 *  + - - - - - - - - - - - - - - - +-------------------------------+
 *  |                               |Masking-key, if MASK set to 1  |
 *  +-------------------------------+-------------------------------+
 *
 * Encoding is split from sending so the hub can frame an event once and share the bytes.
 * struct ws_parser turns a byte stream into whole messages: it reassembles fragments,
 * delivers control frames (which may interleave), unmasks, checks RSV bits, opcodes, the
 * masking rule for its side, control-frame limits, UTF-8 of text messages and close codes,
 * and caps message size. Untrusted input: it is fuzzed (tests/fuzz/fuzz_ws_parser.c).
 */
#ifndef SEV_WS_FRAME_H
#define SEV_WS_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

enum ws_opcode {
    WS_OP_CONT = 0x0,
    WS_OP_TEXT = 0x1,
    WS_OP_BINARY = 0x2,
    WS_OP_CLOSE = 0x8,
    WS_OP_PING = 0x9,
    WS_OP_PONG = 0xA,
};

/* Close codes used by SEV (RFC 6455 section 7.4.1). */
enum ws_close_code {
    WS_CLOSE_NORMAL = 1000,
    WS_CLOSE_GOING_AWAY = 1001,
    WS_CLOSE_PROTOCOL = 1002,
    WS_CLOSE_UNSUPPORTED = 1003,
    WS_CLOSE_INVALID_DATA = 1007,
    WS_CLOSE_POLICY = 1008,
    WS_CLOSE_TOO_BIG = 1009,
    WS_CLOSE_INTERNAL = 1011,
};

#define WS_MAX_HEADER 14

/* Writes a frame header (FIN set) for a payload of len bytes into out and returns its
 * length (2..14). mask is NULL for server frames, 4 bytes for client frames (the caller
 * then masks the payload with ws_mask()). */
size_t ws_encode_header(uint8_t out[WS_MAX_HEADER], enum ws_opcode op, uint64_t len,
                        const uint8_t *mask);

/* XORs p[0..n) with mask, starting at mask offset `offset` (for streaming). */
void ws_mask(uint8_t *p, size_t n, const uint8_t mask[4], size_t offset);

/* Appends a whole frame (header + payload, masked if mask != NULL) to out. */
int ws_encode_frame(struct buf *out, enum ws_opcode op, const void *payload, size_t len,
                    const uint8_t *mask);

/* A close frame payload: 2-byte code + reason (reason truncated to fit 125 bytes). */
int ws_encode_close(struct buf *out, uint16_t code, const char *reason, const uint8_t *mask);

enum ws_role { WS_SERVER, WS_CLIENT };

/* Message callback: op is TEXT, BINARY, PING, PONG or CLOSE. For CLOSE, code is the peer's
 * code (1005 if none) and data/len the reason. Return 0 to go on, non-zero to stop parsing. */
typedef int (*ws_message_fn)(void *arg, enum ws_opcode op, const uint8_t *data, size_t len,
                             uint16_t code);

struct ws_parser {
    enum ws_role role;     /* SERVER expects masked frames, CLIENT expects unmasked ones */
    size_t max_message;    /* cap on a reassembled message (and on buffered input) */
    ws_message_fn on_message;
    void *arg;
    /* private */
    struct buf in;         /* bytes not yet parsed */
    struct buf msg;        /* fragments of a data message being reassembled */
    int msg_op;            /* opcode of that message, 0 when none */
    uint16_t error_code;   /* set when ws_parser_feed fails: the close code to send */
    const char *error;     /* and why, for logs */
};

void ws_parser_init(struct ws_parser *p, enum ws_role role, size_t max_message,
                    ws_message_fn on_message, void *arg);
void ws_parser_release(struct ws_parser *p);
/* Feeds bytes. Returns 0 (all consumed, callbacks made), 1 (a callback asked to stop), or -1
 * on a protocol violation: p->error_code and p->error say which; the connection must close. */
int ws_parser_feed(struct ws_parser *p, const uint8_t *data, size_t len);

/* Sec-WebSocket-Accept for a client key: base64(SHA-1(key + GUID)); out >= 29 bytes. */
int ws_accept_key(const char *client_key, size_t key_len, char out[29]);

/* UTF-8 validation (RFC 3629: no overlongs, no surrogates, <= U+10FFFF). */
int ws_utf8_valid(const uint8_t *p, size_t n);

#endif
