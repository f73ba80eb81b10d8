#include "ws/frame.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <string.h>

static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

size_t ws_encode_header(uint8_t out[WS_MAX_HEADER], enum ws_opcode op, uint64_t len,
                        const uint8_t *mask)
{
    size_t n = 0;
    uint8_t mask_bit = mask ? 0x80 : 0;
    out[n++] = (uint8_t)(0x80 | (op & 0x0F));
    if (len < 126) {
        out[n++] = (uint8_t)(mask_bit | len);
    } else if (len <= 0xFFFF) {
        out[n++] = (uint8_t)(mask_bit | 126);
        out[n++] = (uint8_t)(len >> 8);
        out[n++] = (uint8_t)len;
    } else {
        out[n++] = (uint8_t)(mask_bit | 127);
        for (int shift = 56; shift >= 0; shift -= 8)
            out[n++] = (uint8_t)(len >> shift);
    }
    if (mask) {
        memcpy(out + n, mask, 4);
        n += 4;
    }
    return n;
}

void ws_mask(uint8_t *p, size_t n, const uint8_t mask[4], size_t offset)
{
    for (size_t i = 0; i < n; i++)
        p[i] ^= mask[(i + offset) & 3];
}

int ws_encode_frame(struct buf *out, enum ws_opcode op, const void *payload, size_t len,
                    const uint8_t *mask)
{
    uint8_t head[WS_MAX_HEADER];
    size_t hlen = ws_encode_header(head, op, len, mask);
    if (buf_reserve(out, hlen + len) < 0)
        return -1;
    size_t start = out->len;
    buf_append(out, head, hlen);
    buf_append(out, payload, len);
    if (mask)
        ws_mask((uint8_t *)out->data + start + hlen, len, mask, 0);
    return 0;
}

int ws_encode_close(struct buf *out, uint16_t code, const char *reason, const uint8_t *mask)
{
    uint8_t payload[125];
    size_t rlen = reason ? strlen(reason) : 0;
    if (rlen > sizeof payload - 2)
        rlen = sizeof payload - 2;
    /* Never cut a UTF-8 sequence in half: back up to a lead byte. */
    while (rlen > 0 && rlen < strlen(reason) && ((uint8_t)reason[rlen] & 0xC0) == 0x80)
        rlen--;
    payload[0] = (uint8_t)(code >> 8);
    payload[1] = (uint8_t)code;
    if (rlen)
        memcpy(payload + 2, reason, rlen);
    return ws_encode_frame(out, WS_OP_CLOSE, payload, rlen + 2, mask);
}

void ws_parser_init(struct ws_parser *p, enum ws_role role, size_t max_message,
                    ws_message_fn on_message, void *arg)
{
    memset(p, 0, sizeof *p);
    p->role = role;
    p->max_message = max_message;
    p->on_message = on_message;
    p->arg = arg;
    /* Input may hold one whole frame of the largest message plus its header. */
    buf_init(&p->in, max_message + WS_MAX_HEADER);
    buf_init(&p->msg, max_message);
}

void ws_parser_release(struct ws_parser *p)
{
    buf_release(&p->in);
    buf_release(&p->msg);
}

int ws_utf8_valid(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        uint32_t cp, min;
        if ((c & 0xE0) == 0xC0) {
            need = 1, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            need = 2, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            need = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return 0;
        }
        if (n - i <= need)
            return 0;
        for (size_t k = 1; k <= need; k++) {
            if ((p[i + k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += need + 1;
    }
    return 1;
}

static int fail(struct ws_parser *p, uint16_t code, const char *why)
{
    p->error_code = code;
    p->error = why;
    return -1;
}

static int valid_close_code(uint16_t code)
{
    if (code >= 3000 && code <= 4999)
        return 1;
    switch (code) {
    case 1000: case 1001: case 1002: case 1003: case 1007: case 1008:
    case 1009: case 1010: case 1011:
        return 1;
    default:
        return 0;
    }
}

static int deliver_control(struct ws_parser *p, int op, const uint8_t *data, size_t len)
{
    if (op != WS_OP_CLOSE)
        return p->on_message(p->arg, (enum ws_opcode)op, data, len, 0) != 0;
    if (len == 1)
        return fail(p, WS_CLOSE_PROTOCOL, "close frame with a 1-byte payload");
    uint16_t code = 1005;
    if (len >= 2) {
        code = (uint16_t)(data[0] << 8 | data[1]);
        if (!valid_close_code(code))
            return fail(p, WS_CLOSE_PROTOCOL, "invalid close code");
        if (!ws_utf8_valid(data + 2, len - 2))
            return fail(p, WS_CLOSE_INVALID_DATA, "close reason is not UTF-8");
        data += 2, len -= 2;
    }
    return p->on_message(p->arg, WS_OP_CLOSE, data, len, code) != 0;
}

static int deliver_data(struct ws_parser *p, int op, int fin, const uint8_t *data, size_t len)
{
    if (op == WS_OP_CONT) {
        if (!p->msg_op)
            return fail(p, WS_CLOSE_PROTOCOL, "continuation without a message");
    } else if (p->msg_op) {
        return fail(p, WS_CLOSE_PROTOCOL, "new message inside a fragmented one");
    }
    if (fin && !p->msg_op) { /* whole message in one frame: no copy */
        if (op == WS_OP_TEXT && !ws_utf8_valid(data, len))
            return fail(p, WS_CLOSE_INVALID_DATA, "text message is not UTF-8");
        return p->on_message(p->arg, (enum ws_opcode)op, data, len, 0) != 0;
    }
    if (!p->msg_op)
        p->msg_op = op;
    if (buf_append(&p->msg, data, len) < 0)
        return fail(p, WS_CLOSE_TOO_BIG, "message too big");
    if (!fin)
        return 0;
    int msg_op = p->msg_op;
    p->msg_op = 0;
    if (msg_op == WS_OP_TEXT && !ws_utf8_valid((uint8_t *)p->msg.data, p->msg.len))
        return fail(p, WS_CLOSE_INVALID_DATA, "text message is not UTF-8");
    int rc = p->on_message(p->arg, (enum ws_opcode)msg_op, (uint8_t *)p->msg.data,
                           p->msg.len, 0);
    buf_reset(&p->msg);
    return rc != 0;
}

/* Parses one frame from in[0..n). Returns bytes consumed, 0 when incomplete, -1 on a
 * violation; *stop is set when a callback asked to stop. */
static long parse_frame(struct ws_parser *p, uint8_t *in, size_t n, int *stop)
{
    if (n < 2)
        return 0;
    int fin = in[0] & 0x80, rsv = in[0] & 0x70, op = in[0] & 0x0F;
    int masked = in[1] & 0x80;
    uint64_t len = in[1] & 0x7F;
    size_t pos = 2;
    if (rsv)
        return fail(p, WS_CLOSE_PROTOCOL, "reserved bits set");
    if (op != WS_OP_CONT && op != WS_OP_TEXT && op != WS_OP_BINARY && op != WS_OP_CLOSE &&
        op != WS_OP_PING && op != WS_OP_PONG)
        return fail(p, WS_CLOSE_PROTOCOL, "unknown opcode");
    int control = op >= WS_OP_CLOSE;
    if (control && (!fin || len > 125))
        return fail(p, WS_CLOSE_PROTOCOL, "fragmented or oversized control frame");
    if (p->role == WS_SERVER && !masked)
        return fail(p, WS_CLOSE_PROTOCOL, "client frame is not masked");
    if (p->role == WS_CLIENT && masked)
        return fail(p, WS_CLOSE_PROTOCOL, "server frame is masked");
    if (len == 126) {
        if (n < 4)
            return 0;
        len = (uint64_t)in[2] << 8 | in[3];
        if (len < 126)
            return fail(p, WS_CLOSE_PROTOCOL, "length not minimally encoded");
        pos = 4;
    } else if (len == 127) {
        if (n < 10)
            return 0;
        if (in[2] & 0x80)
            return fail(p, WS_CLOSE_PROTOCOL, "64-bit length with the top bit set");
        len = 0;
        for (int i = 2; i < 10; i++)
            len = len << 8 | in[i];
        if (len <= 0xFFFF)
            return fail(p, WS_CLOSE_PROTOCOL, "length not minimally encoded");
        pos = 10;
    }
    if (len > p->max_message || (!control && len > p->max_message - p->msg.len))
        return fail(p, WS_CLOSE_TOO_BIG, "message too big");
    const uint8_t *mask = NULL;
    if (masked) {
        if (n < pos + 4)
            return 0;
        mask = in + pos;
        pos += 4;
    }
    if (n - pos < len)
        return 0;
    uint8_t *payload = in + pos;
    if (mask)
        ws_mask(payload, (size_t)len, mask, 0);
    int rc = control ? deliver_control(p, op, payload, (size_t)len)
                     : deliver_data(p, op, fin != 0, payload, (size_t)len);
    if (rc < 0)
        return -1;
    if (rc > 0)
        *stop = 1;
    return (long)(pos + len);
}

/* Parses the frames buffered in p->in and keeps the incomplete rest. Returns 0, 1 (a
 * callback asked to stop) or -1. */
static int parse_buffered(struct ws_parser *p)
{
    uint8_t *in = (uint8_t *)p->in.data;
    size_t n = p->in.len;
    size_t off = 0;
    int stop = 0;
    while (off < n && !stop) {
        long used = parse_frame(p, in + off, n - off, &stop);
        if (used < 0)
            return -1;
        if (used == 0)
            break;
        off += (size_t)used;
    }
    if (off == n) {
        buf_reset(&p->in);
    } else if (off > 0) {
        memmove(p->in.data, p->in.data + off, n - off);
        p->in.len = n - off;
        p->in.data[p->in.len] = 0;
    }
    return stop;
}

int ws_parser_feed(struct ws_parser *p, const uint8_t *data, size_t len)
{
    if (p->error_code)
        return -1;
    /* Unmasking writes to the bytes, so frames are parsed from our own copy, bounded by
     * max_message + one header (the buf cap): an incomplete frame never needs more, since a
     * header announcing more fails at once. The input is copied in pieces that fit, so one
     * read holding many small frames is fine (the hub's cap is 4 KiB; a read can be 64). */
    for (;;) {
        size_t room = p->in.max - p->in.len;
        size_t take = len < room ? len : room;
        if (take) {
            if (buf_append(&p->in, data, take) < 0)
                return fail(p, WS_CLOSE_INTERNAL, "out of memory");
            data += take, len -= take;
        }
        int rc = parse_buffered(p);
        if (rc < 0)
            return -1;
        if (rc > 0) { /* keep the rest for the next call */
            if (len && buf_append(&p->in, data, len) < 0)
                return fail(p, WS_CLOSE_TOO_BIG, "frame too big");
            return 1;
        }
        if (len == 0)
            return 0;
        if (p->in.len == p->in.max) /* no progress: cannot happen, see above */
            return fail(p, WS_CLOSE_TOO_BIG, "frame too big");
    }
}

int ws_accept_key(const char *client_key, size_t key_len, char out[29])
{
    if (key_len == 0 || key_len > 64)
        return -1;
    char joined[64 + sizeof ws_guid];
    memcpy(joined, client_key, key_len);
    memcpy(joined + key_len, ws_guid, sizeof ws_guid - 1);
    uint8_t digest[SHA_DIGEST_LENGTH];
    SHA1((const unsigned char *)joined, key_len + sizeof ws_guid - 1, digest);
    int n = EVP_EncodeBlock((unsigned char *)out, digest, sizeof digest);
    return n == 28 ? 0 : -1;
}
