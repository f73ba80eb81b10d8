#include "unit.h"

#include "ws/frame.h"

/* Frames are built with ws_encode_header (which always sets FIN) and patched where a test
 * needs another first byte (FIN clear, RSV bits, odd opcodes). Everything the parser hands
 * over is written into a log ("T5:hello|"), so two runs compare as strings. */

static const uint8_t MASK[4] = {0x37, 0xfa, 0x21, 0x3d};

struct log {
    struct buf b;
    int messages;
    int stop_after; /* a callback returns 1 after this many messages; 0: never */
};

static int on_message(void *arg, enum ws_opcode op, const uint8_t *data, size_t len, uint16_t code)
{
    struct log *l = arg;
    static const char letter[16] = {[WS_OP_TEXT] = 'T',
                                    [WS_OP_BINARY] = 'B',
                                    [WS_OP_CLOSE] = 'C',
                                    [WS_OP_PING] = 'I',
                                    [WS_OP_PONG] = 'O'};
    CHECK(letter[op & 15]);
    buf_printf(&l->b, "%c%zu", letter[op & 15], len);
    if (op == WS_OP_CLOSE)
        buf_printf(&l->b, "/%u", code);
    buf_puts(&l->b, ":");
    buf_append(&l->b, data, len < 16 ? len : 16);
    buf_puts(&l->b, "|");
    l->messages++;
    return l->stop_after && l->messages >= l->stop_after;
}

/* Appends one frame: first byte `b0` (FIN/RSV/opcode), masked with MASK when `masked`. */
static void frame_raw(struct buf *out, uint8_t b0, const void *payload, size_t len, int masked)
{
    uint8_t head[WS_MAX_HEADER];
    size_t h = ws_encode_header(head, (enum ws_opcode)(b0 & 15), len, masked ? MASK : NULL);
    head[0] = b0;
    size_t start = out->len;
    CHECK(buf_append(out, head, h) == 0);
    CHECK(buf_append(out, payload, len) == 0);
    if (masked)
        ws_mask((uint8_t *)out->data + start + h, len, MASK, 0);
}

/* A frame as the peer of `role` would send it: clients mask, servers do not. */
static void frame(struct buf *out, enum ws_role role, uint8_t b0, const void *payload, size_t len)
{
    frame_raw(out, b0, payload, len, role == WS_SERVER);
}

/* Feeds in[0..n) in chunks of `chunk` bytes (0: all at once). Returns the last result. */
static int feed(struct ws_parser *p, const void *in, size_t n, size_t chunk)
{
    const uint8_t *d = in;
    if (!chunk)
        return ws_parser_feed(p, d, n);
    int rc = 0;
    for (size_t off = 0; off < n && rc == 0; off += chunk)
        rc = ws_parser_feed(p, d + off, n - off < chunk ? n - off : chunk);
    return rc;
}

/* Parses in[] with a fresh parser; returns the feed result, the log in *log_out (owned). */
static int parse(enum ws_role role, size_t max, const struct buf *in, size_t chunk, char **log_out,
                 uint16_t *error_code)
{
    struct log l = {0};
    buf_init(&l.b, 0);
    struct ws_parser p;
    ws_parser_init(&p, role, max, on_message, &l);
    int rc = feed(&p, in->data, in->len, chunk);
    if (error_code)
        *error_code = p.error_code;
    if (rc < 0)
        CHECK(p.error != NULL && p.error_code != 0);
    ws_parser_release(&p);
    *log_out = buf_detach(&l.b, NULL);
    return rc;
}

/* Expects in[] to fail with `code`, whether fed at once or byte by byte. */
static void expect_error(enum ws_role role, size_t max, const struct buf *in, uint16_t code)
{
    for (size_t chunk = 0; chunk < 2; chunk++) {
        char *log;
        uint16_t got = 0;
        CHECK_INT(parse(role, max, in, chunk, &log, &got), -1);
        CHECK_INT(got, code);
        free(log);
    }
}

/* Expects in[] to parse with log `want`, at once and byte by byte. */
static void expect_log(enum ws_role role, size_t max, const struct buf *in, const char *want)
{
    for (size_t chunk = 0; chunk < 2; chunk++) {
        char *log;
        CHECK_INT(parse(role, max, in, chunk, &log, NULL), 0);
        CHECK_STR(log, want);
        free(log);
    }
}

static uint8_t *pattern(size_t n)
{
    uint8_t *p = malloc(n ? n : 1);
    CHECK(p);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)('a' + i % 26);
    return p;
}

/* ---- encoder ---- */

static void test_header_lengths(void)
{
    static const struct {
        uint64_t len;
        size_t hlen;
    } cases[] = {{0, 2}, {125, 2}, {126, 4}, {65535, 4}, {65536, 10}, {(uint64_t)1 << 40, 10}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t h[WS_MAX_HEADER];
        CHECK_INT(ws_encode_header(h, WS_OP_BINARY, cases[i].len, NULL), cases[i].hlen);
        CHECK_INT(h[0], 0x82);
        CHECK_INT(h[1] & 0x80, 0);
        CHECK_INT(ws_encode_header(h, WS_OP_TEXT, cases[i].len, MASK), cases[i].hlen + 4);
        CHECK_INT(h[0], 0x81);
        CHECK_INT(h[1] & 0x80, 0x80);
        CHECK(memcmp(h + cases[i].hlen, MASK, 4) == 0);
    }
    uint8_t h[WS_MAX_HEADER];
    ws_encode_header(h, WS_OP_BINARY, 65535, NULL);
    CHECK(h[1] == 126 && h[2] == 0xff && h[3] == 0xff);
    ws_encode_header(h, WS_OP_BINARY, 65536, NULL);
    CHECK(h[1] == 127 && h[2] == 0 && h[7] == 1 && h[8] == 0 && h[9] == 0);
}

/* RFC 6455 section 5.7's examples, byte for byte. */
static void test_rfc_examples(void)
{
    struct buf b;
    buf_init(&b, 0);
    CHECK(ws_encode_frame(&b, WS_OP_TEXT, "Hello", 5, NULL) == 0);
    CHECK_INT(b.len, 7);
    CHECK(memcmp(b.data, "\x81\x05\x48\x65\x6c\x6c\x6f", 7) == 0);
    buf_reset(&b);
    CHECK(ws_encode_frame(&b, WS_OP_TEXT, "Hello", 5, MASK) == 0);
    CHECK_INT(b.len, 11);
    CHECK(memcmp(b.data, "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11) == 0);
    buf_reset(&b);
    CHECK(ws_encode_frame(&b, WS_OP_PING, "Hello", 5, NULL) == 0);
    CHECK(memcmp(b.data, "\x89\x05\x48\x65\x6c\x6c\x6f", 7) == 0);

    /* the fragmented example: "Hel" then "lo" */
    char *log;
    struct buf in;
    buf_init(&in, 0);
    buf_append(&in, "\x01\x03\x48\x65\x6c\x80\x02\x6c\x6f", 9);
    CHECK_INT(parse(WS_CLIENT, 1000, &in, 0, &log, NULL), 0);
    CHECK_STR(log, "T5:Hello|");
    free(log);
    buf_release(&in);
    buf_release(&b);
}

static void test_close_encoding(void)
{
    struct buf b;
    buf_init(&b, 0);
    CHECK(ws_encode_close(&b, 1000, NULL, NULL) == 0);
    CHECK_INT(b.len, 4);
    CHECK(memcmp(b.data, "\x88\x02\x03\xe8", 4) == 0);
    buf_reset(&b);
    /* a reason longer than 123 bytes is cut, never inside a UTF-8 sequence */
    char reason[200];
    memset(reason, 'x', sizeof reason);
    reason[122] = (char)0xc3, reason[123] = (char)0xa9; /* U+00E9 straddles the cut */
    reason[199] = 0;
    CHECK(ws_encode_close(&b, 1001, reason, NULL) == 0);
    CHECK_INT((uint8_t)b.data[1], 2 + 122);
    CHECK(ws_utf8_valid((uint8_t *)b.data + 4, b.len - 4));
    buf_release(&b);
}

/* ---- round trips ---- */

static void roundtrip(enum ws_role role, enum ws_opcode op, size_t len)
{
    uint8_t *payload = pattern(len);
    struct buf in;
    buf_init(&in, 0);
    if (op == WS_OP_CLOSE && len >= 2) {
        payload[0] = 0x03, payload[1] = 0xe8; /* 1000 */
    }
    CHECK(ws_encode_frame(&in, op, payload, len, role == WS_SERVER ? MASK : NULL) == 0);
    struct buf want;
    buf_init(&want, 0);
    static const char letter[16] = {[WS_OP_TEXT] = 'T',
                                    [WS_OP_BINARY] = 'B',
                                    [WS_OP_CLOSE] = 'C',
                                    [WS_OP_PING] = 'I',
                                    [WS_OP_PONG] = 'O'};
    if (op == WS_OP_CLOSE) {
        size_t rlen = len >= 2 ? len - 2 : 0;
        buf_printf(&want, "C%zu/%u:", rlen, len >= 2 ? 1000u : 1005u);
        buf_append(&want, payload + (len >= 2 ? 2 : 0), rlen < 16 ? rlen : 16);
    } else {
        buf_printf(&want, "%c%zu:", letter[op], len);
        buf_append(&want, payload, len < 16 ? len : 16);
    }
    buf_puts(&want, "|");
    /* byte by byte only for the small ones: 65536 single-byte feeds are slow under ASan */
    for (size_t chunk = 0; chunk < 2; chunk++) {
        char *log;
        size_t c = chunk ? (len > 200 ? 4093 : 1) : 0;
        CHECK_INT(parse(role, 1 << 20, &in, c, &log, NULL), 0);
        CHECK_STR(log, want.data);
        free(log);
    }
    free(payload);
    buf_release(&in);
    buf_release(&want);
}

static void test_roundtrip_data(void)
{
    static const size_t lens[] = {0, 125, 126, 65535, 65536};
    for (int r = 0; r < 2; r++)
        for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
            roundtrip(r ? WS_CLIENT : WS_SERVER, WS_OP_TEXT, lens[i]);
            roundtrip(r ? WS_CLIENT : WS_SERVER, WS_OP_BINARY, lens[i]);
        }
}

static void test_roundtrip_control(void)
{
    static const size_t lens[] = {0, 2, 125};
    for (int r = 0; r < 2; r++)
        for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
            roundtrip(r ? WS_CLIENT : WS_SERVER, WS_OP_PING, lens[i]);
            roundtrip(r ? WS_CLIENT : WS_SERVER, WS_OP_PONG, lens[i]);
            roundtrip(r ? WS_CLIENT : WS_SERVER, WS_OP_CLOSE, lens[i]);
        }
}

static void test_control_too_long(void)
{
    static const uint8_t ops[] = {WS_OP_PING, WS_OP_PONG, WS_OP_CLOSE};
    uint8_t *payload = pattern(126);
    for (size_t i = 0; i < sizeof ops; i++) {
        struct buf in;
        buf_init(&in, 0);
        frame(&in, WS_SERVER, 0x80 | ops[i], payload, 126);
        expect_error(WS_SERVER, 1000, &in, WS_CLOSE_PROTOCOL);
        buf_release(&in);
    }
    free(payload);
}

/* ---- masking ---- */

static void test_masking_rules(void)
{
    struct buf in;
    buf_init(&in, 0);
    frame_raw(&in, 0x81, "hi", 2, 0);
    expect_error(WS_SERVER, 100, &in, WS_CLOSE_PROTOCOL); /* clients must mask */
    expect_log(WS_CLIENT, 100, &in, "T2:hi|");
    buf_reset(&in);
    frame_raw(&in, 0x81, "hi", 2, 1);
    expect_error(WS_CLIENT, 100, &in, WS_CLOSE_PROTOCOL); /* servers must not */
    expect_log(WS_SERVER, 100, &in, "T2:hi|");
    buf_reset(&in);
    frame_raw(&in, 0x89, "", 0, 0); /* control frames too */
    expect_error(WS_SERVER, 100, &in, WS_CLOSE_PROTOCOL);
    buf_release(&in);
}

static void test_mask_offset(void)
{
    uint8_t a[10], b[10];
    for (int i = 0; i < 10; i++)
        a[i] = b[i] = (uint8_t)i;
    ws_mask(a, 10, MASK, 0);
    ws_mask(b, 3, MASK, 0);
    ws_mask(b + 3, 7, MASK, 3); /* streaming: continue at offset 3 */
    CHECK(memcmp(a, b, 10) == 0);
    ws_mask(a, 10, MASK, 0);
    for (int i = 0; i < 10; i++)
        CHECK_INT(a[i], i);
}

/* ---- fragmentation ---- */

static void test_fragments(void)
{
    for (int r = 0; r < 2; r++) {
        enum ws_role role = r ? WS_CLIENT : WS_SERVER;
        struct buf in;
        buf_init(&in, 0);
        frame(&in, role, 0x01, "Hel", 3);  /* text, FIN clear */
        frame(&in, role, 0x89, "p1", 2);   /* ping in between */
        frame(&in, role, 0x00, "", 0);     /* empty continuation */
        frame(&in, role, 0x8A, "", 0);     /* pong in between */
        frame(&in, role, 0x80, "lo!", 3);  /* final continuation */
        frame(&in, role, 0x02, "\x01", 1); /* binary, fragmented */
        frame(&in, role, 0x80, "\xff", 1);
        expect_log(role, 100, &in, "I2:p1|O0:|T6:Hello!|B2:\x01\xff|");
        buf_release(&in);
    }
}

static void test_fragments_binary(void)
{
    struct buf in;
    buf_init(&in, 0);
    frame(&in, WS_CLIENT, 0x02, "ab", 2);
    frame(&in, WS_CLIENT, 0x00, "cd", 2);
    frame(&in, WS_CLIENT, 0x88,
          "\x03\xe8"
          "bye",
          5); /* close between fragments is fine */
    frame(&in, WS_CLIENT, 0x80, "ef", 2);
    expect_log(WS_CLIENT, 100, &in, "C3/1000:bye|B6:abcdef|");
    buf_release(&in);
}

static void test_fragment_errors(void)
{
    struct buf in;
    buf_init(&in, 0);
    frame(&in, WS_SERVER, 0x80, "x", 1); /* continuation with nothing to continue */
    expect_error(WS_SERVER, 100, &in, WS_CLOSE_PROTOCOL);
    buf_reset(&in);
    frame(&in, WS_SERVER, 0x01, "x", 1);
    frame(&in, WS_SERVER, 0x81, "y", 1); /* a new message before the first ends */
    expect_error(WS_SERVER, 100, &in, WS_CLOSE_PROTOCOL);
    buf_reset(&in);
    frame(&in, WS_SERVER, 0x09, "", 0); /* fragmented ping */
    expect_error(WS_SERVER, 100, &in, WS_CLOSE_PROTOCOL);
    buf_reset(&in);
    frame(&in, WS_SERVER, 0x08, "\x03\xe8", 2); /* fragmented close */
    expect_error(WS_SERVER, 100, &in, WS_CLOSE_PROTOCOL);
    buf_release(&in);
}

/* ---- header checks ---- */

static void test_reserved_bits_and_opcodes(void)
{
    for (int rsv = 1; rsv < 8; rsv++) {
        struct buf in;
        buf_init(&in, 0);
        frame(&in, WS_SERVER, (uint8_t)(0x81 | rsv << 4), "x", 1);
        expect_error(WS_SERVER, 100, &in, WS_CLOSE_PROTOCOL);
        buf_release(&in);
    }
    static const uint8_t bad[] = {3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF};
    for (size_t i = 0; i < sizeof bad; i++) {
        struct buf in;
        buf_init(&in, 0);
        frame(&in, WS_SERVER, 0x80 | bad[i], "", 0);
        expect_error(WS_SERVER, 100, &in, WS_CLOSE_PROTOCOL);
        buf_release(&in);
    }
}

static void test_non_minimal_lengths(void)
{
    /* 16-bit length holding 125; 64-bit lengths holding 126 and 65535; top bit set */
    static const uint8_t cases[][10] = {
        {0x82, 126, 0, 125},
        {0x82, 127, 0, 0, 0, 0, 0, 0, 0, 126},
        {0x82, 127, 0, 0, 0, 0, 0, 0, 0xff, 0xff},
        {0x82, 127, 0x80, 0, 0, 0, 0, 1, 0, 0},
    };
    static const size_t lens[] = {4, 10, 10, 10};
    for (size_t i = 0; i < 4; i++) {
        struct buf in;
        buf_init(&in, 0);
        buf_append(&in, cases[i], lens[i]);
        buf_append(&in, "\0\0\0\0", 4); /* room for anything the parser might wait for */
        expect_error(WS_CLIENT, 1 << 20, &in, WS_CLOSE_PROTOCOL);
        buf_release(&in);
    }
}

/* ---- UTF-8 ---- */

static void test_utf8(void)
{
    static const char *valid[] = {"",
                                  "plain",
                                  "\xc3\xa9",
                                  "\xe2\x82\xac",
                                  "\xf0\x9f\x98\x80",
                                  "\xf4\x8f\xbf\xbf",
                                  "\xed\x9f\xbf",
                                  "\xee\x80\x80"};
    static const char *invalid[] = {
        "\x80",
        "\xc3",
        "\xc0\xaf",
        "\xc1\xbf",
        "\xe0\x80\xaf",
        "\xed\xa0\x80",
        "\xed\xbf\xbf",
        "\xf0\x80\x80\xaf",
        "\xf4\x90\x80\x80",
        "\xf5\x80\x80\x80",
        "\xf8\x88\x80\x80\x80",
        "\xfe",
        "\xff",
        "\xe2\x82",
        "a\xc3(",
    };
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++)
        CHECK(ws_utf8_valid((const uint8_t *)valid[i], strlen(valid[i])));
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++)
        CHECK(!ws_utf8_valid((const uint8_t *)invalid[i], strlen(invalid[i])));
}

static void test_text_utf8(void)
{
    struct buf in;
    buf_init(&in, 0);
    frame(&in, WS_SERVER, 0x81, "ok\xff", 3);
    expect_error(WS_SERVER, 100, &in, WS_CLOSE_INVALID_DATA);
    buf_reset(&in);
    /* a sequence split across fragments is fine as a whole ... */
    frame(&in, WS_SERVER, 0x01, "\xe2\x82", 2);
    frame(&in, WS_SERVER, 0x80, "\xac", 1);
    expect_log(WS_SERVER, 100, &in, "T3:\xe2\x82\xac|");
    buf_reset(&in);
    /* ... and a broken one across fragments is not */
    frame(&in, WS_SERVER, 0x01, "\xe2\x82", 2);
    frame(&in, WS_SERVER, 0x80, "x", 1);
    expect_error(WS_SERVER, 100, &in, WS_CLOSE_INVALID_DATA);
    buf_reset(&in);
    frame(&in, WS_SERVER, 0x01, "ab", 2);
    frame(&in, WS_SERVER, 0x80, "\xe2\x82", 2); /* ends mid-sequence */
    expect_error(WS_SERVER, 100, &in, WS_CLOSE_INVALID_DATA);
    buf_reset(&in);
    /* binary messages are not checked */
    frame(&in, WS_SERVER, 0x82, "\xff", 1);
    expect_log(WS_SERVER, 100, &in, "B1:\xff|");
    buf_release(&in);
}

/* ---- close frames ---- */

static void close_frame(struct buf *in, uint16_t code, const char *reason)
{
    uint8_t p[125] = {(uint8_t)(code >> 8), (uint8_t)code};
    size_t n = strlen(reason);
    memcpy(p + 2, reason, n);
    buf_reset(in);
    frame(in, WS_SERVER, 0x88, p, n + 2);
}

static void test_close_codes(void)
{
    static const uint16_t good[] = {1000, 1001, 1002, 1003, 1007, 1008, 1009,
                                    1010, 1011, 3000, 3999, 4000, 4999};
    static const uint16_t bad[] = {0,    999,  1004, 1005, 1006, 1015,
                                   1016, 1100, 2000, 2999, 5000, 65535};
    struct buf in;
    buf_init(&in, 0);
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        close_frame(&in, good[i], "r");
        char want[32];
        snprintf(want, sizeof want, "C1/%u:r|", good[i]);
        expect_log(WS_SERVER, 100, &in, want);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        close_frame(&in, bad[i], "");
        expect_error(WS_SERVER, 100, &in, WS_CLOSE_PROTOCOL);
    }
    close_frame(&in, 1000, "bad \xc3");
    expect_error(WS_SERVER, 100, &in, WS_CLOSE_INVALID_DATA);
    buf_reset(&in);
    frame(&in, WS_SERVER, 0x88, "\x03", 1); /* a 1-byte close payload */
    expect_error(WS_SERVER, 100, &in, WS_CLOSE_PROTOCOL);
    buf_reset(&in);
    frame(&in, WS_SERVER, 0x88, "", 0); /* no code: 1005 reported, not sent */
    expect_log(WS_SERVER, 100, &in, "C0/1005:|");
    buf_release(&in);
}

/* ---- size cap ---- */

static void test_size_cap(void)
{
    uint8_t *payload = pattern(200);
    struct buf in;
    buf_init(&in, 0);
    frame(&in, WS_SERVER, 0x82, payload, 100);
    expect_log(WS_SERVER, 100, &in, "B100:abcdefghijklmnop|");
    buf_reset(&in);
    frame(&in, WS_SERVER, 0x82, payload, 101);
    expect_error(WS_SERVER, 100, &in, WS_CLOSE_TOO_BIG);
    buf_reset(&in);
    /* the cap is on the reassembled message, not on each fragment */
    frame(&in, WS_SERVER, 0x02, payload, 60);
    frame(&in, WS_SERVER, 0x80, payload, 41);
    expect_error(WS_SERVER, 100, &in, WS_CLOSE_TOO_BIG);
    buf_reset(&in);
    frame(&in, WS_SERVER, 0x02, payload, 60);
    frame(&in, WS_SERVER, 0x80, payload, 40);
    expect_log(WS_SERVER, 100, &in, "B100:abcdefghijklmnop|");
    buf_reset(&in);
    /* a huge declared length fails at once, before any payload arrives */
    static const uint8_t huge[] = {0x82, 127, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    buf_append(&in, huge, sizeof huge);
    expect_error(WS_CLIENT, 1 << 20, &in, WS_CLOSE_TOO_BIG);
    buf_release(&in);
    free(payload);
}

/* Many small frames in one read are fine even when together they pass the message cap
 * (the hub's cap is 4 KiB, and one TCP read can hold many pings). */
static void test_many_frames_in_one_feed(void)
{
    struct buf in, want;
    buf_init(&in, 0);
    buf_init(&want, 0);
    for (int i = 0; i < 50; i++) {
        frame(&in, WS_SERVER, 0x89, "0123456789", 10);
        buf_puts(&want, "I10:0123456789|");
    }
    CHECK(in.len > 100 + WS_MAX_HEADER);
    expect_log(WS_SERVER, 100, &in, want.data);
    buf_release(&in);
    buf_release(&want);
}

/* ---- streaming ---- */

static void test_chunking_is_invisible(void)
{
    struct buf in;
    buf_init(&in, 0);
    uint8_t *payload = pattern(70000);
    frame(&in, WS_SERVER, 0x81, "first", 5);
    frame(&in, WS_SERVER, 0x02, payload, 300);
    frame(&in, WS_SERVER, 0x89, "ping", 4);
    frame(&in, WS_SERVER, 0x80, payload, 70000);
    frame(&in, WS_SERVER, 0x81, "\xf0\x9f\x98\x80", 4);
    frame(&in, WS_SERVER, 0x88,
          "\x03\xe8"
          "done",
          6);
    char *once;
    CHECK_INT(parse(WS_SERVER, 1 << 20, &in, 0, &once, NULL), 0);
    CHECK_STR(once, "T5:first|I4:ping|B70300:abcdefghijklmnop|T4:\xf0\x9f\x98\x80|C4/1000:done|");
    static const size_t chunks[] = {1, 2, 3, 7, 13, 125, 126, 4096, 65536};
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        char *log;
        CHECK_INT(parse(WS_SERVER, 1 << 20, &in, chunks[i], &log, NULL), 0);
        CHECK_STR(log, once);
        free(log);
    }
    free(once);
    free(payload);
    buf_release(&in);
}

static void test_stop_and_resume(void)
{
    struct buf in;
    buf_init(&in, 0);
    frame(&in, WS_SERVER, 0x81, "a", 1);
    frame(&in, WS_SERVER, 0x81, "b", 1);
    frame(&in, WS_SERVER, 0x81, "c", 1);
    struct log l = {.stop_after = 1};
    buf_init(&l.b, 0);
    struct ws_parser p;
    ws_parser_init(&p, WS_SERVER, 100, on_message, &l);
    CHECK_INT(ws_parser_feed(&p, (uint8_t *)in.data, in.len), 1);
    CHECK_STR(l.b.data, "T1:a|");
    CHECK_INT(ws_parser_feed(&p, NULL, 0), 1); /* the rest is kept for the next call */
    CHECK_STR(l.b.data, "T1:a|T1:b|");
    l.stop_after = 0;
    CHECK_INT(ws_parser_feed(&p, NULL, 0), 0);
    CHECK_STR(l.b.data, "T1:a|T1:b|T1:c|");
    ws_parser_release(&p);
    buf_release(&l.b);
    buf_release(&in);
}

static void test_error_is_sticky(void)
{
    struct buf in;
    buf_init(&in, 0);
    frame(&in, WS_SERVER, 0xC1, "x", 1);
    struct log l = {0};
    buf_init(&l.b, 0);
    struct ws_parser p;
    ws_parser_init(&p, WS_SERVER, 100, on_message, &l);
    CHECK_INT(ws_parser_feed(&p, (uint8_t *)in.data, in.len), -1);
    buf_reset(&in);
    frame(&in, WS_SERVER, 0x81, "ok", 2);
    CHECK_INT(ws_parser_feed(&p, (uint8_t *)in.data, in.len), -1);
    CHECK_INT(l.messages, 0);
    ws_parser_release(&p);
    buf_release(&l.b);
    buf_release(&in);
}

/* ---- handshake ---- */

static void test_accept_key(void)
{
    char out[29];
    const char *key = "dGhlIHNhbXBsZSBub25jZQ==";
    CHECK(ws_accept_key(key, strlen(key), out) == 0);
    CHECK_STR(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    CHECK(ws_accept_key(key, 0, out) < 0);
    char long_key[100];
    memset(long_key, 'A', sizeof long_key);
    CHECK(ws_accept_key(long_key, sizeof long_key, out) < 0);
}

static const struct unit_test tests[] = {
    {"header length forms (7, 16, 64 bit)", test_header_lengths},
    {"RFC 6455 section 5.7 examples", test_rfc_examples},
    {"close frames encode code and a UTF-8-safe reason", test_close_encoding},
    {"text and binary round trips at 0, 125, 126, 65535, 65536", test_roundtrip_data},
    {"ping, pong and close round trips", test_roundtrip_control},
    {"control frames over 125 bytes are rejected", test_control_too_long},
    {"masking required from clients, forbidden from servers", test_masking_rules},
    {"ws_mask streams with an offset", test_mask_offset},
    {"fragments reassembled with control frames between", test_fragments},
    {"a close frame may sit between fragments", test_fragments_binary},
    {"stray continuations, nested messages, fragmented controls", test_fragment_errors},
    {"reserved bits and opcodes are rejected", test_reserved_bits_and_opcodes},
    {"non-minimal length encodings are rejected", test_non_minimal_lengths},
    {"UTF-8 validation", test_utf8},
    {"invalid UTF-8 in text, also split across fragments, is 1007", test_text_utf8},
    {"close codes and reasons are validated", test_close_codes},
    {"size cap is 1009", test_size_cap},
    {"many small frames in one feed pass the cap on input", test_many_frames_in_one_feed},
    {"byte at a time equals one shot", test_chunking_is_invisible},
    {"a callback can stop; the rest stays buffered", test_stop_and_resume},
    {"an error is sticky", test_error_is_sticky},
    {"Sec-WebSocket-Accept of RFC 6455's example", test_accept_key},
    {0},
};
UNIT_MAIN(tests)
