/* fuzz_ws_parser: ws/frame's parser, both roles, any chunking.
 *
 * Input: [flags][n][n chunk lengths][stream]
 *   flags bit 0: role (0 server: expects masked frames, 1 client); bits 1-2: message cap
 *   (125, 4096, 65550, 1 MiB). The stream is fed in chunks of the given lengths (cycled,
 *   0 means 1), and again in one call: both runs must give the same messages and result.
 * Checks beyond the sanitizers: what is delivered keeps the protocol's promises (text is
 * UTF-8, control payloads <= 125, nothing over the cap) and an error is sticky. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ws/frame.h"

struct run {
    uint64_t hash; /* FNV-1a over everything delivered */
    size_t messages;
    size_t max;
};

static void mix(struct run *r, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        r->hash = (r->hash ^ b[i]) * 0x100000001b3ULL;
}

static int on_message(void *arg, enum ws_opcode op, const uint8_t *data, size_t len, uint16_t code)
{
    struct run *r = arg;
    if (len > r->max)
        abort();
    if (op == WS_OP_TEXT && !ws_utf8_valid(data, len))
        abort();
    if ((op == WS_OP_PING || op == WS_OP_PONG) && len > 125)
        abort();
    if (op == WS_OP_CLOSE && (len > 123 || !ws_utf8_valid(data, len) || code < 1000))
        abort();
    if (op != WS_OP_TEXT && op != WS_OP_BINARY && op != WS_OP_PING && op != WS_OP_PONG &&
        op != WS_OP_CLOSE)
        abort();
    uint8_t head[3] = {(uint8_t)op, (uint8_t)(code >> 8), (uint8_t)code};
    mix(r, head, sizeof head);
    mix(r, &len, sizeof len);
    mix(r, data, len);
    r->messages++;
    return 0;
}

static int run(enum ws_role role, size_t max, const uint8_t *chunks, size_t nchunks,
               const uint8_t *data, size_t size, struct run *r, uint16_t *code)
{
    memset(r, 0, sizeof *r);
    r->hash = 0xcbf29ce484222325ULL;
    r->max = max;
    struct ws_parser p;
    ws_parser_init(&p, role, max, on_message, r);
    int rc = 0;
    size_t off = 0, k = 0;
    if (!nchunks) {
        rc = ws_parser_feed(&p, data, size);
        off = size;
    }
    while (off < size && rc == 0) {
        size_t n = chunks[k++ % nchunks];
        n = n ? n : 1;
        if (n > size - off)
            n = size - off;
        rc = ws_parser_feed(&p, data + off, n);
        off += n;
    }
    if (rc < 0) {
        if (!p.error_code || !p.error)
            abort();
        if (ws_parser_feed(&p, (const uint8_t *)"\x81\x00", 2) != -1) /* sticky */
            abort();
    }
    *code = p.error_code;
    ws_parser_release(&p);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t caps[] = {125, 4096, 65550, 1 << 20};
    if (size < 2)
        return 0;
    enum ws_role role = (data[0] & 1) ? WS_CLIENT : WS_SERVER;
    size_t max = caps[(data[0] >> 1) & 3];
    size_t nchunks = data[1] & 15;
    if (size < 2 + nchunks)
        return 0;
    const uint8_t *chunks = data + 2;
    const uint8_t *stream = data + 2 + nchunks;
    size_t len = size - 2 - nchunks;

    struct run a, b;
    uint16_t ca, cb;
    int ra = run(role, max, chunks, nchunks, stream, len, &a, &ca);
    int rb = run(role, max, NULL, 0, stream, len, &b, &cb);
    /* chunking must not show: same messages, same verdict */
    if (ra != rb || ca != cb || a.messages != b.messages || a.hash != b.hash) {
        fprintf(stderr, "chunked: rc %d code %u msgs %zu; one shot: rc %d code %u msgs %zu\n", ra,
                ca, a.messages, rb, cb, b.messages);
        abort();
    }
    return 0;
}
