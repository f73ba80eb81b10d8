/*
 * wsload - WebSocket fan-out (pub/sub hub) load generator and latency meter.
 *
 * Opens N WebSocket connections to ws://HOST:PORT/PATH?channel=<prefix><i % K>
 * from one or more forked worker processes (epoll, non-blocking, minimal
 * RFC 6455 client: random Sec-WebSocket-Key, verified Sec-WebSocket-Accept,
 * masked client frames, fragmented reads and fragmented messages handled),
 * waits until all are established (ramp time), then publishes M events at a
 * fixed rate by POSTing them to the server's HTTP endpoint
 *     POST <pub-path>?channel=<name>     (default pub-path: /publish)
 * over a small pool of keep-alive connections. Every event is a JSON object
 *     {"ch":"c17","seq":123,"ts":<CLOCK_MONOTONIC ns at scheduled send>,"pad":"xxx.."}
 * padded to --size bytes. Receivers compute delivery latency = now - ts
 * (same host, same monotonic clock). The timestamp is the *scheduled* send
 * time, so a publisher that falls behind does not hide latency (no
 * coordinated omission).
 *
 * Reports: ramp time, connect failures, server RSS per connection (VmRSS of
 * --server-pid before/after the ramp), delivered messages/s, p50/p90/p99/
 * p99.9/max latency, lost messages (expected - delivered, per channel),
 * out-of-order deliveries (seq not increasing on a connection; only meaningful
 * with --pub-conns 1, since parallel publishes may legitimately reorder), server
 * CPU time per delivered message (utime+stime of --server-pid), client CPU.
 * A final line "RESULT {...}" is JSON for scripts.
 *
 * Build:  cc -O2 -Wall -o wsload wsload.c
 * Example:
 *   taskset -c 1 ./wsload --url ws://127.0.0.1:8080/ws -n 10000 -k 1 \
 *       --events 200 --rate 10 --server-pid $(pidof hub)
 *
 * Limits: each worker process needs one fd per connection; workers are added
 * automatically so that no worker exceeds (RLIMIT_NOFILE hard limit - 64).
 * Use --src-ips to spread connections over 127.0.0.2.. source addresses when
 * more than ~28k connections (the ephemeral port range) target one ip:port.
 *
 * SEV's copy (bench/, adapted from the team's tools/wsload.c):
 *   --sub-param NAME   the subscribe query parameter (sev: streamer; nchan: channel)
 *   --sev-secret S     publish as Twitch would: a signed EventSub webhook notification
 *                      (channel.follow) to --pub-path (default then /eventsub/webhook); the
 *                      channel name is the broadcaster login; seq and ts ride in the event
 *                      object, which sev passes through in "data"
 *   avg_msg_bytes in RESULT: mean payload size received (to size the peer's messages alike)
 *   -r 0               closed-loop publishing (ingest throughput): each publisher connection
 *                      sends its next event as soon as the previous one is answered
 *   pub_ok, pub_per_s, http_p50_ms, http_p99_ms in RESULT: 2xx publish answers, their rate over
 *                      the publishing time, and the publish request latency
 * -k K (channels) spreads connection i over <prefix><i % K> and publishes event j to
 * <prefix><j % K>: round-robin across K streamers.
 * Timing fields are "bench_seq"/"bench_ts", looked for anywhere in a message.
 *
 * Public domain / CC0. libc and OpenSSL's libcrypto (HMAC for --sev-secret), Linux only.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

/* ------------------------------------------------------------------ */
/* options */
static struct {
    char host[256];
    int port;
    char path[512];
    char pub_path[256];
    char prefix[64];
    char protocol[128];
    long conns;
    long channels;
    int workers;
    int src_ips;
    int burst;
    double ramp_timeout;
    long events;
    double rate;
    int size;
    int pub_conns;
    double settle;
    double drain;
    double hold;
    int server_pid;
    long slow;
    int quiet;
    char sub_param[64];
    char sev_secret[256];
} opt = {
    .host = "127.0.0.1", .port = 8080, .path = "/ws", .pub_path = "/publish", .prefix = "c",
    .conns = 1000, .channels = 1, .workers = 0, .src_ips = -1, .burst = 256, .ramp_timeout = 60,
    .events = 0, .rate = 10, .size = 300, .pub_conns = 4, .settle = 1.0, .drain = 3.0, .hold = 0,
    .server_pid = 0, .slow = 0, .quiet = 0, .sub_param = "channel", .sev_secret = "",
};

static void usage(FILE *f)
{
    fprintf(f,
"usage: wsload [options]\n"
"  -u, --url URL           ws://HOST:PORT/PATH of the hub (default ws://127.0.0.1:8080/ws);\n"
"                          '?channel=NAME' is appended (or '&channel=' if PATH has a query)\n"
"  -n, --conns N           subscriber connections (default 1000; 0: publish only, e.g. a\n"
"                          receiver that stores without pushing)\n"
"  -k, --channels K        channels; connection i subscribes to <prefix><i %% K> (default 1)\n"
"      --prefix STR        channel name prefix (default \"c\")\n"
"  -w, --workers W         client processes (default: as few as the fd limit allows)\n"
"      --src-ips S         bind connections round-robin to 127.0.0.2 .. 127.0.0.(S+1). Default\n"
"                          (auto): for a 127.x target and N > 4000, S = N/4000 + 1; 0 = off.\n"
"                          Without it Linux's ephemeral port search gets O(n) per connect()\n"
"                          beyond ~14k connections to one ip:port (ramp becomes client-bound),\n"
"                          and more than ~28k connections exhaust the port range.\n"
"      --burst B           max concurrent in-progress handshakes per worker (default 256)\n"
"      --ramp-timeout SEC  give up waiting for the ramp after SEC (default 60)\n"
"  -m, --events M          events to publish after the ramp (default 0: ramp + hold only)\n"
"  -r, --rate R            events per second, total over all channels (default 10);\n"
"                          event j goes to channel j %% K. 0: closed loop, as fast as the\n"
"                          publisher connections are answered (an ingest test; latency is\n"
"                          then measured from the actual send, not a schedule)\n"
"  -s, --size BYTES        event JSON size in bytes (default 300)\n"
"      --pub-path PATH     HTTP publish path (default /publish); POST PATH?channel=NAME\n"
"      --pub-conns P       keep-alive publisher connections, one request in flight each\n"
"                          (default 4; use 1 to make the out_of_order check meaningful)\n"
"      --protocol NAME     send Sec-WebSocket-Protocol: NAME\n"
"      --settle SEC        pause between ramp and first publish (default 1)\n"
"      --drain SEC         wait after last publish for deliveries (default 3)\n"
"      --hold SEC          keep connections open SEC before exiting (default 0)\n"
"  -p, --server-pid PID    read VmRSS and CPU time of the server from /proc/PID\n"
"      --slow N            the last N connections stop reading once open (slow consumers;\n"
"                          excluded from latency/loss figures)\n"
"      --sub-param NAME    subscribe query parameter (default channel; sev: streamer)\n"
"      --sev-secret S      publish signed EventSub webhooks (sev) instead of raw POSTs\n"
"      --sub-ports P1,P2.. subscriber connection i goes to port P[i %% count] of the URL's\n"
"                          host (several nodes); publishing still goes to the URL's port\n"
"  -q, --quiet             only print the RESULT line\n"
"  -h, --help              this text\n"
"Output: human-readable lines plus 'RESULT {json}'. Latencies are CLOCK_MONOTONIC\n"
"deltas from the scheduled publish time to frame receipt. Pin with taskset for benchmarks.\n");
}

/* ------------------------------------------------------------------ */
/* small utilities */
static inline uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static uint64_t rng_state;
static inline uint64_t rng(void)
{ /* xorshift64* */
    uint64_t x = rng_state;
    x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
    rng_state = x;
    return x * 0x2545F4914F6CDD1Dull;
}

struct shared;
static struct shared *sh;
static void die(const char *m)
{
    perror(m);
    if (sh) *(volatile int *)sh = 2; /* phase = stop: let workers exit */
    exit(2);
}

/* SHA-1 (RFC 3174), only used to verify Sec-WebSocket-Accept */
static void sha1(const uint8_t *data, size_t len, uint8_t out[20])
{
    uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    size_t total = ((len + 8) / 64 + 1) * 64;
    uint8_t *m = calloc(1, total);
    memcpy(m, data, len);
    m[len] = 0x80;
    uint64_t bits = (uint64_t)len * 8;
    for (int i = 0; i < 8; i++) m[total - 1 - i] = (uint8_t)(bits >> (8 * i));
    for (size_t off = 0; off < total; off += 64) {
        uint32_t w[80];
        for (int i = 0; i < 16; i++)
            w[i] = (uint32_t)m[off + 4 * i] << 24 | (uint32_t)m[off + 4 * i + 1] << 16 |
                   (uint32_t)m[off + 4 * i + 2] << 8 | m[off + 4 * i + 3];
        for (int i = 16; i < 80; i++) {
            uint32_t t = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16];
            w[i] = t << 1 | t >> 31;
        }
        uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
        for (int i = 0; i < 80; i++) {
            uint32_t f, k;
            if (i < 20) { f = (b & c) | (~b & d); k = 0x5A827999; }
            else if (i < 40) { f = b ^ c ^ d; k = 0x6ED9EBA1; }
            else if (i < 60) { f = (b & c) | (b & d) | (c & d); k = 0x8F1BBCDC; }
            else { f = b ^ c ^ d; k = 0xCA62C1D6; }
            uint32_t t = (a << 5 | a >> 27) + f + e + k + w[i];
            e = d; d = c; c = b << 30 | b >> 2; b = a; a = t;
        }
        h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e;
    }
    free(m);
    for (int i = 0; i < 5; i++) {
        out[4 * i] = h[i] >> 24; out[4 * i + 1] = h[i] >> 16;
        out[4 * i + 2] = h[i] >> 8; out[4 * i + 3] = h[i];
    }
}

static void b64(const uint8_t *in, size_t n, char *out)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i, o = 0;
    for (i = 0; i + 2 < n; i += 3) {
        uint32_t v = in[i] << 16 | in[i + 1] << 8 | in[i + 2];
        out[o++] = t[v >> 18]; out[o++] = t[(v >> 12) & 63];
        out[o++] = t[(v >> 6) & 63]; out[o++] = t[v & 63];
    }
    if (i < n) {
        uint32_t v = in[i] << 16 | (i + 1 < n ? in[i + 1] << 8 : 0);
        out[o++] = t[v >> 18]; out[o++] = t[(v >> 12) & 63];
        out[o++] = i + 1 < n ? t[(v >> 6) & 63] : '=';
        out[o++] = '=';
    }
    out[o] = 0;
}

/* ------------------------------------------------------------------ */
/* latency histogram: log-linear, 64 sub-buckets per power of two (~1.6%) */
#define HSUB 64
#define HBUCKETS (HSUB + 40 * HSUB)
static inline int hidx(uint64_t v)
{
    if (v < HSUB) return (int)v;
    int e = 63 - __builtin_clzll(v); /* >= 6 */
    int i = HSUB + (e - 6) * HSUB + (int)((v >> (e - 6)) & (HSUB - 1));
    return i < HBUCKETS ? i : HBUCKETS - 1;
}
static inline uint64_t hval(int i)
{ /* representative (midpoint) value of bucket i */
    if (i < HSUB) return i;
    int e = (i - HSUB) / HSUB + 6, s = (i - HSUB) % HSUB;
    uint64_t lo = ((uint64_t)(HSUB + s)) << (e - 6);
    return lo + ((1ull << (e - 6)) >> 1);
}

/* ------------------------------------------------------------------ */
/* shared state between the parent (publisher/coordinator) and workers */
#define MAXW 64
struct wstats {
    _Atomic long established, failed, closed, opened_slow;
    _Atomic long received;       /* data messages on non-slow conns */
    _Atomic long bad;            /* protocol errors, unparsable messages */
    _Atomic long ooo;            /* messages whose seq is not greater than the previous one on that connection */
    _Atomic long rx_bytes;       /* payload bytes of data messages */
    uint64_t last_rx_ns; /* last data message receipt (read after workers exit) */
    uint64_t max_lat;
    uint64_t hist[HBUCKETS];
    char err[128];
};
struct shared {
    _Atomic int phase; /* 0 ramp, 1 running, 2 stop */
    struct wstats w[MAXW];
};
static uint32_t *conn_rx; /* shared: messages received per connection */
static long *conn_seq;    /* per worker: last seq seen per connection (order check) */
static long conn_lo;      /* first global connection index of this worker */

/* ------------------------------------------------------------------ */
/* worker: subscriber connections */
enum { C_IDLE, C_CONNECTING, C_HANDSHAKE, C_OPEN, C_DEAD };
struct conn {
    int fd;
    uint8_t state, slow, in_msg;
    uint16_t hlen;      /* handshake response bytes buffered */
    char key[25];       /* Sec-WebSocket-Key */
    uint8_t *buf;       /* leftover partial frame / handshake bytes */
    uint32_t blen, bcap;
    uint8_t *msg;       /* fragmented message being assembled */
    uint32_t mlen, mcap;
};

static struct sockaddr_in dst;
static char hostport[300];
#define MAX_SUB_PORTS 64
static int sub_ports[MAX_SUB_PORTS], n_sub_ports; /* --sub-ports: subscribers spread over nodes */

static void append(uint8_t **b, uint32_t *len, uint32_t *cap, const uint8_t *d, size_t n)
{
    if (*len + n > *cap) {
        uint32_t nc = *cap ? *cap : 1024;
        while (nc < *len + n) nc *= 2;
        *b = realloc(*b, nc);
        if (!*b) die("realloc");
        *cap = nc;
    }
    memcpy(*b + *len, d, n);
    *len += n;
}

static void send_masked(int fd, int opcode, const uint8_t *p, size_t n)
{ /* control frames only (<=125 bytes); best effort */
    uint8_t f[2 + 4 + 125];
    if (n > 125) n = 125;
    f[0] = 0x80 | opcode;
    f[1] = 0x80 | (uint8_t)n;
    uint32_t mk = (uint32_t)rng();
    memcpy(f + 2, &mk, 4);
    for (size_t i = 0; i < n; i++) f[6 + i] = p[i] ^ f[2 + (i & 3)];
    ssize_t r = write(fd, f, 6 + n);
    (void)r;
}

static struct wstats *ws_me;
static uint64_t rx_now;

static void on_message(long idx, struct conn *c, const uint8_t *p, size_t n)
{
    (void)c;
    /* find "bench_seq": and "bench_ts": anywhere (sev wraps the event in an envelope) */
    const uint8_t *end = p + n;
    const uint8_t *sq = memmem(p, n, "\"bench_seq\":", 12);
    if (sq) {
        long seq = 0;
        for (sq += 12; sq < end && *sq >= '0' && *sq <= '9'; sq++) seq = seq * 10 + (*sq - '0');
        if (seq <= conn_seq[idx - conn_lo]) atomic_fetch_add(&ws_me->ooo, 1);
        conn_seq[idx - conn_lo] = seq;
    }
    const uint8_t *q = memmem(p, n, "\"bench_ts\":", 11);
    if (!q) { atomic_fetch_add(&ws_me->bad, 1); return; }
    q += 11;
    uint64_t ts = 0;
    while (q < p + n && *q >= '0' && *q <= '9') ts = ts * 10 + (*q++ - '0');
    uint64_t lat = rx_now > ts ? rx_now - ts : 0;
    ws_me->hist[hidx(lat)]++;
    if (lat > ws_me->max_lat) ws_me->max_lat = lat;
    ws_me->last_rx_ns = rx_now;
    conn_rx[idx]++;
    atomic_fetch_add_explicit(&ws_me->received, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&ws_me->rx_bytes, (long)n, memory_order_relaxed);
}

/* returns number of bytes consumed; -1 on fatal error */
static long parse_frames(long idx, struct conn *c, const uint8_t *p, size_t n)
{
    size_t off = 0;
    while (n - off >= 2) {
        const uint8_t *f = p + off;
        int fin = f[0] & 0x80, op = f[0] & 0x0f, masked = f[1] & 0x80;
        uint64_t plen = f[1] & 0x7f;
        size_t hdr = 2;
        if (plen == 126) {
            if (n - off < 4) break;
            plen = (uint64_t)f[2] << 8 | f[3];
            hdr = 4;
        } else if (plen == 127) {
            if (n - off < 10) break;
            plen = 0;
            for (int i = 0; i < 8; i++) plen = plen << 8 | f[2 + i];
            hdr = 10;
        }
        if (masked) hdr += 4; /* servers must not mask; tolerate */
        if (n - off < hdr + plen) break;
        uint8_t *pl = (uint8_t *)f + hdr;
        if (masked)
            for (uint64_t i = 0; i < plen; i++) pl[i] ^= f[hdr - 4 + (i & 3)];
        switch (op) {
        case 0x0: /* continuation */
            if (!c->in_msg) { atomic_fetch_add(&ws_me->bad, 1); break; }
            append(&c->msg, &c->mlen, &c->mcap, pl, plen);
            if (fin) { on_message(idx, c, c->msg, c->mlen); c->mlen = 0; c->in_msg = 0; }
            break;
        case 0x1: case 0x2:
            if (fin) on_message(idx, c, pl, plen);
            else { c->in_msg = 1; c->mlen = 0; append(&c->msg, &c->mlen, &c->mcap, pl, plen); }
            break;
        case 0x8: /* close */
            send_masked(c->fd, 0x8, pl, plen >= 2 ? 2 : 0);
            atomic_fetch_add(&ws_me->closed, 1);
            return -1;
        case 0x9: send_masked(c->fd, 0xA, pl, plen); break; /* ping -> pong */
        case 0xA: break;
        default: atomic_fetch_add(&ws_me->bad, 1); return -1;
        }
        off += hdr + plen;
    }
    return (long)off;
}

static int start_connect(struct conn *c, long idx, int ep)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (opt.src_ips > 0) {
        struct sockaddr_in src = {.sin_family = AF_INET};
        src.sin_addr.s_addr = htonl(0x7f000002 + (uint32_t)(idx % opt.src_ips));
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0) { close(fd); return -1; }
    }
    struct sockaddr_in to = dst;
    if (n_sub_ports) to.sin_port = htons((uint16_t)sub_ports[idx % n_sub_ports]);
    if (connect(fd, (struct sockaddr *)&to, sizeof to) < 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    c->fd = fd;
    c->state = C_CONNECTING;
    struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN, .data.u64 = (uint64_t)idx};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl");
    return 0;
}

static void send_handshake(struct conn *c, long idx, int ep)
{
    uint8_t k[16];
    for (int i = 0; i < 16; i += 8) { uint64_t r = rng(); memcpy(k + i, &r, 8); }
    b64(k, 16, c->key);
    char req[1024];
    const char *sep = strchr(opt.path, '?') ? "&" : "?";
    int n = snprintf(req, sizeof req,
                     "GET %s%s%s=%s%ld HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
                     "%s%s%s\r\n",
                     opt.path, sep, opt.sub_param, opt.prefix, idx % opt.channels, hostport, c->key,
                     opt.protocol[0] ? "Sec-WebSocket-Protocol: " : "", opt.protocol,
                     opt.protocol[0] ? "\r\n" : "");
    if (write(c->fd, req, n) != n) { c->state = C_DEAD; return; }
    c->state = C_HANDSHAKE;
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)idx};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* returns 1 when the handshake completed, 0 need more, -1 error */
static int check_handshake(struct conn *c, long idx, const uint8_t *d, size_t n, size_t *used)
{
    append(&c->buf, &c->blen, &c->bcap, d, n);
    uint8_t *e = memmem(c->buf, c->blen, "\r\n\r\n", 4);
    if (!e) { *used = n; return c->blen > 8192 ? -1 : 0; }
    size_t hl = e + 4 - c->buf;
    if (c->blen < 12 || memcmp(c->buf, "HTTP/1.1 101", 12) != 0) return -1;
    char src[64], want[32];
    uint8_t dg[20];
    snprintf(src, sizeof src, "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", c->key);
    sha1((uint8_t *)src, strlen(src), dg);
    b64(dg, 20, want);
    if (!memmem(c->buf, hl, want, strlen(want))) return -1;
    /* bytes of this read chunk that belong to frames after the header */
    size_t extra = c->blen - hl;
    *used = n - extra;
    c->blen = 0;
    (void)idx;
    return 1;
}

static void kill_conn(struct conn *c, int ep)
{
    if (c->fd >= 0) { epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL); close(c->fd); }
    c->fd = -1;
    c->state = C_DEAD;
    free(c->buf); c->buf = NULL; c->blen = c->bcap = 0;
    free(c->msg); c->msg = NULL; c->mlen = c->mcap = 0;
}

static void worker(int wi, long lo, long hi)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the coordinator */
    ws_me = &sh->w[wi];
    rng_state = now_ns() ^ ((uint64_t)getpid() << 32) ^ 0x9E3779B97F4A7C15ull;
    if (!rng_state) rng_state = 1;
    long n = hi - lo;
    struct conn *cs = calloc(n, sizeof *cs);
    conn_lo = lo;
    conn_seq = malloc(n * sizeof *conn_seq);
    for (long i = 0; i < n; i++) conn_seq[i] = -1;
    for (long i = 0; i < n; i++) cs[i].fd = -1;
    int ep = epoll_create1(EPOLL_CLOEXEC);
    long next = 0, inflight = 0;
    long slow_from = opt.conns - opt.slow;
    static uint8_t rbuf[256 * 1024];
    struct epoll_event evs[512];
    for (;;) {
        while (next < n && inflight < opt.burst) {
            if (start_connect(&cs[next], lo + next, ep) < 0) {
                atomic_fetch_add(&ws_me->failed, 1);
                if (!ws_me->err[0]) snprintf(ws_me->err, sizeof ws_me->err, "connect: %s", strerror(errno));
                cs[next].state = C_DEAD;
            } else inflight++;
            next++;
        }
        if (sh->phase == 2) break;
        int ne = epoll_wait(ep, evs, 512, 50);
        if (ne < 0 && errno != EINTR) die("epoll_wait");
        for (int e = 0; e < ne; e++) {
            long li = (long)evs[e].data.u64 - lo;
            struct conn *c = &cs[li];
            long gi = lo + li;
            if (c->state == C_CONNECTING) {
                int err = 0; socklen_t el = sizeof err;
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
                if (err || (evs[e].events & (EPOLLERR | EPOLLHUP))) {
                    if (!ws_me->err[0]) snprintf(ws_me->err, sizeof ws_me->err, "connect: %s", strerror(err));
                    kill_conn(c, ep); inflight--; atomic_fetch_add(&ws_me->failed, 1);
                    continue;
                }
                send_handshake(c, gi, ep);
                if (c->state == C_DEAD) { kill_conn(c, ep); inflight--; atomic_fetch_add(&ws_me->failed, 1); }
                continue;
            }
            if (c->state != C_HANDSHAKE && c->state != C_OPEN) continue;
            ssize_t r = read(c->fd, rbuf, sizeof rbuf);
            if (r <= 0) {
                if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
                if (c->state == C_HANDSHAKE) {
                    inflight--; atomic_fetch_add(&ws_me->failed, 1);
                    if (!ws_me->err[0]) snprintf(ws_me->err, sizeof ws_me->err, "handshake: %s", r == 0 ? "EOF" : strerror(errno));
                } else atomic_fetch_add(&ws_me->closed, 1);
                kill_conn(c, ep);
                continue;
            }
            rx_now = now_ns();
            uint8_t *d = rbuf;
            size_t dn = (size_t)r;
            if (c->state == C_HANDSHAKE) {
                size_t used = 0;
                int h = check_handshake(c, gi, d, dn, &used);
                if (h < 0) {
                    inflight--; atomic_fetch_add(&ws_me->failed, 1);
                    if (!ws_me->err[0]) {
                        int l = c->blen < 60 ? (int)c->blen : 60;
                        snprintf(ws_me->err, sizeof ws_me->err, "bad handshake: %.*s", l, (char *)c->buf);
                        for (char *q = ws_me->err; *q; q++) if (*q == '\r' || *q == '\n') *q = ' ';
                    }
                    kill_conn(c, ep);
                    continue;
                }
                if (h == 0) continue;
                inflight--;
                c->state = C_OPEN;
                atomic_fetch_add(&ws_me->established, 1);
                if (gi >= slow_from) { /* slow consumer: never read again */
                    c->slow = 1;
                    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                    atomic_fetch_add(&ws_me->opened_slow, 1);
                    continue;
                }
                d += used; dn -= used;
                if (!dn) continue;
            }
            /* frames: use buffered leftover first */
            if (c->blen) {
                append(&c->buf, &c->blen, &c->bcap, d, dn);
                long u = parse_frames(gi, c, c->buf, c->blen);
                if (u < 0) { kill_conn(c, ep); continue; }
                memmove(c->buf, c->buf + u, c->blen - u);
                c->blen -= u;
            } else {
                long u = parse_frames(gi, c, d, dn);
                if (u < 0) { kill_conn(c, ep); continue; }
                if ((size_t)u < dn) append(&c->buf, &c->blen, &c->bcap, d + u, dn - u);
            }
        }
    }
    /* exit closes all sockets */
    _exit(0);
}

/* ------------------------------------------------------------------ */
/* parent: /proc helpers */
static long read_rss_kb(int pid)
{
    char p[64], line[256];
    snprintf(p, sizeof p, "/proc/%d/status", pid);
    FILE *f = fopen(p, "r");
    if (!f) return -1;
    long v = -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6)) { v = atol(line + 6); break; }
    fclose(f);
    return v;
}
static double read_cpu_s(int pid)
{ /* utime+stime of the whole process (all threads) */
    char p[64], b[2048];
    snprintf(p, sizeof p, "/proc/%d/stat", pid);
    FILE *f = fopen(p, "r");
    if (!f) return -1;
    size_t n = fread(b, 1, sizeof b - 1, f);
    fclose(f);
    b[n] = 0;
    char *q = strrchr(b, ')');
    if (!q) return -1;
    unsigned long ut = 0, st = 0;
    /* after ") " : state(3) ... utime is field 14, stime 15 */
    if (sscanf(q + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2) return -1;
    return (double)(ut + st) / sysconf(_SC_CLK_TCK);
}

/* ------------------------------------------------------------------ */
/* parent: HTTP publisher */
struct pubc {
    int fd, busy;
    char rb[4096];
    int rl;
    uint64_t sent_at;
};
static uint64_t pub_hist[HBUCKETS];
static long pub_errors, pub_ok;

static int pub_connect(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (connect(fd, (struct sockaddr *)&dst, sizeof dst) < 0) { close(fd); return -1; }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
}

static int pub_reconnect(struct pubc *p, int pep, int idx)
{
    epoll_ctl(pep, EPOLL_CTL_DEL, p->fd, NULL);
    close(p->fd);
    p->rl = 0;
    p->busy = 0;
    if ((p->fd = pub_connect()) < 0) return -1;
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)idx};
    return epoll_ctl(pep, EPOLL_CTL_ADD, p->fd, &ev);
}

/* returns 1 when a full response is buffered (and consumes it), 0 otherwise, -1 error */
static int pub_response_done(struct pubc *p)
{
    char *e = memmem(p->rb, p->rl, "\r\n\r\n", 4);
    if (!e) return 0;
    int hl = (int)(e + 4 - p->rb);
    long cl = 0;
    for (char *q = p->rb; q < e; q++) {
        if ((*q == 'c' || *q == 'C') && !strncasecmp(q, "content-length:", 15)) { cl = atol(q + 15); break; }
    }
    if (p->rl < hl + cl) return 0;
    if (strncmp(p->rb, "HTTP/1.1 2", 10) && strncmp(p->rb, "HTTP/1.0 2", 10)) pub_errors++;
    else pub_ok++;
    memmove(p->rb, p->rb + hl + cl, p->rl - hl - cl);
    p->rl -= hl + cl;
    return 1;
}

static double hist_pct(const uint64_t *h, uint64_t total, double pct)
{
    if (!total) return 0;
    uint64_t want = (uint64_t)ceil(total * pct / 100.0), acc = 0;
    if (want == 0) want = 1;
    for (int i = 0; i < HBUCKETS; i++) {
        acc += h[i];
        if (acc >= want) return (double)hval(i);
    }
    return (double)hval(HBUCKETS - 1);
}

static void msleep(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) ;
}

static int parse_url(const char *u)
{
    if (strncmp(u, "ws://", 5)) return -1;
    u += 5;
    const char *slash = strchr(u, '/');
    const char *colon = strchr(u, ':');
    size_t hl;
    if (colon && (!slash || colon < slash)) {
        hl = colon - u;
        opt.port = atoi(colon + 1);
    } else {
        hl = slash ? (size_t)(slash - u) : strlen(u);
        opt.port = 80;
    }
    if (hl >= sizeof opt.host) return -1;
    memcpy(opt.host, u, hl);
    opt.host[hl] = 0;
    snprintf(opt.path, sizeof opt.path, "%s", slash ? slash : "/");
    return 0;
}

/* ------------------------------------------------------------------ */
/* sev: a signed EventSub webhook notification, as Twitch sends it */
static void rfc3339_now(char *out, size_t size)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec);
}

/* channel.follow for broadcaster <prefix><chn>, a distinct follower per event (sev keys a
 * follow by who and when, so equal followers in one second would be stored once). */
static int sev_body(char *out, size_t size, long chn, long seq, uint64_t sched)
{
    char now[64];
    rfc3339_now(now, sizeof now);
    long bid = 900000 + chn, uid = 10000000 + seq;
    int n = snprintf(out, size,
        "{\"subscription\":{\"id\":\"bench-sub-%ld\",\"status\":\"enabled\",\"type\":\"channel.follow\","
        "\"version\":\"2\",\"cost\":0,\"condition\":{\"broadcaster_user_id\":\"%ld\",\"moderator_user_id\":\"%ld\"},"
        "\"transport\":{\"method\":\"webhook\",\"callback\":\"http://%s/eventsub/webhook\"},\"created_at\":\"%s\"},"
        "\"event\":{\"user_id\":\"%ld\",\"user_login\":\"viewer%ld\",\"user_name\":\"Viewer%ld\","
        "\"broadcaster_user_id\":\"%ld\",\"broadcaster_user_login\":\"%s%ld\",\"broadcaster_user_name\":\"%s%ld\","
        "\"followed_at\":\"%s\",\"bench_seq\":%ld,\"bench_ts\":%llu,\"pad\":\"",
        chn, bid, bid, hostport, now, uid, seq, seq, bid, opt.prefix, chn, opt.prefix, chn, now, seq,
        (unsigned long long)sched);
    while (n < opt.size - 3 && (size_t)n < size - 4) out[n++] = 'x';
    out[n++] = '"'; out[n++] = '}'; out[n++] = '}'; out[n] = 0;
    return n;
}

static int sev_request(char *out, size_t size, const char *body, int bl, long seq)
{
    char id[64], ts[64], hex[65];
    snprintf(id, sizeof id, "bench-%d-%ld", (int)getpid(), seq);
    rfc3339_now(ts, sizeof ts);
    /* HMAC-SHA256(secret, id + timestamp + body) */
    size_t il = strlen(id), tl = strlen(ts);
    char *msg = malloc(il + tl + bl);
    memcpy(msg, id, il); memcpy(msg + il, ts, tl); memcpy(msg + il + tl, body, bl);
    unsigned char mac[32];
    unsigned int ml = 0;
    HMAC(EVP_sha256(), opt.sev_secret, (int)strlen(opt.sev_secret), (unsigned char *)msg, il + tl + bl, mac, &ml);
    free(msg);
    for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", mac[i]);
    return snprintf(out, size,
        "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
        "Twitch-Eventsub-Message-Id: %s\r\nTwitch-Eventsub-Message-Timestamp: %s\r\n"
        "Twitch-Eventsub-Message-Signature: sha256=%s\r\nTwitch-Eventsub-Message-Type: notification\r\n"
        "Twitch-Eventsub-Subscription-Type: channel.follow\r\nTwitch-Eventsub-Subscription-Version: 2\r\n"
        "Content-Length: %d\r\n\r\n%s", opt.pub_path, hostport, id, ts, hex, bl, body);
}

int main(int argc, char **argv)
{
    enum { O_PREFIX = 256, O_SRC, O_BURST, O_RT, O_PUBPATH, O_PUBC, O_PROTO, O_SETTLE, O_DRAIN, O_HOLD, O_SLOW, O_SUBP, O_SEV, O_SUBPORTS };
    static struct option lo[] = {
        {"url", 1, 0, 'u'}, {"conns", 1, 0, 'n'}, {"channels", 1, 0, 'k'}, {"prefix", 1, 0, O_PREFIX},
        {"workers", 1, 0, 'w'}, {"src-ips", 1, 0, O_SRC}, {"burst", 1, 0, O_BURST},
        {"ramp-timeout", 1, 0, O_RT}, {"events", 1, 0, 'm'}, {"rate", 1, 0, 'r'}, {"size", 1, 0, 's'},
        {"pub-path", 1, 0, O_PUBPATH}, {"pub-conns", 1, 0, O_PUBC}, {"protocol", 1, 0, O_PROTO},
        {"settle", 1, 0, O_SETTLE}, {"drain", 1, 0, O_DRAIN}, {"hold", 1, 0, O_HOLD},
        {"server-pid", 1, 0, 'p'}, {"slow", 1, 0, O_SLOW}, {"sub-param", 1, 0, O_SUBP}, {"sev-secret", 1, 0, O_SEV}, {"sub-ports", 1, 0, O_SUBPORTS}, {"quiet", 0, 0, 'q'}, {"help", 0, 0, 'h'},
        {0, 0, 0, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "u:n:k:w:m:r:s:p:qh", lo, NULL)) != -1) {
        switch (ch) {
        case 'u': if (parse_url(optarg)) { fprintf(stderr, "bad url (want ws://host:port/path)\n"); return 2; } break;
        case 'n': opt.conns = atol(optarg); break;
        case 'k': opt.channels = atol(optarg); break;
        case O_PREFIX: snprintf(opt.prefix, sizeof opt.prefix, "%s", optarg); break;
        case 'w': opt.workers = atoi(optarg); break;
        case O_SRC: opt.src_ips = atoi(optarg); break;
        case O_BURST: opt.burst = atoi(optarg); break;
        case O_RT: opt.ramp_timeout = atof(optarg); break;
        case 'm': opt.events = atol(optarg); break;
        case 'r': opt.rate = atof(optarg); break;
        case 's': opt.size = atoi(optarg); break;
        case O_PUBPATH: snprintf(opt.pub_path, sizeof opt.pub_path, "%s", optarg); break;
        case O_PUBC: opt.pub_conns = atoi(optarg); break;
        case O_PROTO: snprintf(opt.protocol, sizeof opt.protocol, "%s", optarg); break;
        case O_SETTLE: opt.settle = atof(optarg); break;
        case O_DRAIN: opt.drain = atof(optarg); break;
        case O_HOLD: opt.hold = atof(optarg); break;
        case 'p': opt.server_pid = atoi(optarg); break;
        case O_SLOW: opt.slow = atol(optarg); break;
        case O_SUBP: snprintf(opt.sub_param, sizeof opt.sub_param, "%s", optarg); break;
        case O_SEV:
            snprintf(opt.sev_secret, sizeof opt.sev_secret, "%s", optarg);
            if (!strcmp(opt.pub_path, "/publish")) snprintf(opt.pub_path, sizeof opt.pub_path, "/eventsub/webhook");
            break;
        case O_SUBPORTS:
            for (char *t = optarg, *end; *t; t = *end ? end + 1 : end) {
                long v = strtol(t, &end, 10);
                if (end == t || (*end && *end != ',') || v < 1 || v > 65535 || n_sub_ports == MAX_SUB_PORTS) {
                    fprintf(stderr, "bad --sub-ports (want up to %d ports, comma-separated)\n", MAX_SUB_PORTS);
                    return 2;
                }
                sub_ports[n_sub_ports++] = (int)v;
            }
            break;
        case 'q': opt.quiet = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (opt.conns < 0 || opt.channels < 1 || opt.rate < 0 || opt.size < 64 || opt.pub_conns < 1 ||
        opt.slow > opt.conns || opt.burst < 1) {
        fprintf(stderr, "invalid arguments (size must be >= 64)\n");
        return 2;
    }
    /* fd limits -> number of workers */
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    long per = (long)rl.rlim_cur - 64;
    int minw = (int)((opt.conns + per - 1) / per);
    if (opt.workers < minw) opt.workers = minw;
    if (opt.workers > MAXW) { fprintf(stderr, "too many workers needed (%d)\n", opt.workers); return 2; }

    memset(&dst, 0, sizeof dst);
    dst.sin_family = AF_INET;
    dst.sin_port = htons(opt.port);
    if (inet_pton(AF_INET, opt.host, &dst.sin_addr) != 1) { fprintf(stderr, "host must be an IPv4 address\n"); return 2; }
    snprintf(hostport, sizeof hostport, "%s:%d", opt.host, opt.port);
    if (opt.src_ips < 0)
        opt.src_ips = (!strncmp(opt.host, "127.", 4) && opt.conns > 4000) ? (int)(opt.conns / 4000 + 1) : 0;
    signal(SIGPIPE, SIG_IGN);

    sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    conn_rx = mmap(NULL, (opt.conns ? opt.conns : 1) * sizeof(uint32_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED || conn_rx == MAP_FAILED) die("mmap");

    if (!opt.quiet)
        printf("wsload: url=ws://%s%s conns=%ld channels=%ld workers=%d src_ips=%d events=%ld rate=%.1f/s size=%d\n",
               hostport, opt.path, opt.conns, opt.channels, opt.workers, opt.src_ips, opt.events, opt.rate, opt.size);
    long rss0 = opt.server_pid ? read_rss_kb(opt.server_pid) : -1;
    uint64_t t0 = now_ns();
    pid_t pids[MAXW];
    for (int w = 0; w < opt.workers; w++) {
        long a = opt.conns * w / opt.workers, b = opt.conns * (w + 1) / opt.workers;
        pid_t p = fork();
        if (p < 0) die("fork");
        if (p == 0) worker(w, a, b);
        pids[w] = p;
    }
    /* ramp */
    long est = 0, fail = 0;
    double ramp_s = 0;
    for (;;) {
        est = fail = 0;
        for (int w = 0; w < opt.workers; w++) { est += sh->w[w].established; fail += sh->w[w].failed; }
        ramp_s = (now_ns() - t0) / 1e9;
        if (est + fail >= opt.conns || ramp_s > opt.ramp_timeout) break;
        msleep(0.002);
    }
    msleep(0.5); /* let the server settle its per-connection state */
    long rss1 = opt.server_pid ? read_rss_kb(opt.server_pid) : -1;
    double rss_per_conn = (rss0 >= 0 && rss1 >= 0 && est > 0) ? (rss1 - rss0) * 1024.0 / est : -1;
    char firsterr[128] = "";
    for (int w = 0; w < opt.workers; w++) if (sh->w[w].err[0]) { snprintf(firsterr, sizeof firsterr, "%s", sh->w[w].err); break; }
    if (!opt.quiet) {
        printf("ramp: established=%ld failed=%ld time=%.3fs (%.0f conn/s)%s%s\n", est, fail, ramp_s,
               est / (ramp_s > 0 ? ramp_s : 1), firsterr[0] ? " first_error=" : "", firsterr);
        if (opt.server_pid)
            printf("server memory: rss_before=%ld kB rss_after=%ld kB => %.0f bytes/conn\n", rss0, rss1, rss_per_conn);
    }

    /* publish */
    long *pubcnt = calloc(opt.channels, sizeof(long));
    long sent = 0, backlog_max = 0;
    double pub_dur = 0, cpu_s = -1, deliver_window = 0;
    uint64_t tpub0 = 0;
    double cpu0 = -1, ccpu0 = 0, ccpu_win = -1;
    if (opt.events > 0 && (est > 0 || opt.conns == 0)) { /* -n 0: publish only */
        msleep(opt.settle);
        struct pubc *pc = calloc(opt.pub_conns, sizeof *pc);
        for (int i = 0; i < opt.pub_conns; i++) {
            pc[i].fd = pub_connect();
            if (pc[i].fd < 0) die("publisher connect");
        }
        int pep = epoll_create1(0);
        for (int i = 0; i < opt.pub_conns; i++) {
            struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
            epoll_ctl(pep, EPOLL_CTL_ADD, pc[i].fd, &ev);
        }
        char *body = malloc(opt.size + 2048), *req = malloc(opt.size + 4096);
        cpu0 = opt.server_pid ? read_cpu_s(opt.server_pid) : -1;
        for (int w = 0; w < opt.workers; w++) ccpu0 += read_cpu_s(pids[w]);
        tpub0 = now_ns();
        sh->phase = 1;
        uint64_t interval = opt.rate > 0 ? (uint64_t)(1e9 / opt.rate) : 0; /* 0: closed loop */
        long done = 0;
        uint64_t last_progress = now_ns();
        while (done < opt.events) {
            uint64_t now = now_ns();
            if (now - last_progress > 15000000000ull) {
                fprintf(stderr, "publisher: no HTTP response for 15 s, giving up (%ld/%ld answered)\n", done, sent);
                break;
            }
            /* send every event whose scheduled time has come, if a connection is free */
            while (sent < opt.events && tpub0 + (uint64_t)sent * interval <= now) {
                int fi = -1;
                for (int i = 0; i < opt.pub_conns; i++) if (!pc[i].busy) { fi = i; break; }
                if (fi < 0) break;
                uint64_t sched = interval ? tpub0 + (uint64_t)sent * interval : now_ns();
                long chn = sent % opt.channels;
                int bl, rlen;
                if (opt.sev_secret[0]) {
                    bl = sev_body(body, opt.size + 2048, chn, sent, sched);
                    rlen = sev_request(req, opt.size + 4096, body, bl, sent);
                } else {
                    bl = snprintf(body, opt.size + 1, "{\"ch\":\"%s%ld\",\"bench_seq\":%ld,\"bench_ts\":%llu,\"pad\":\"",
                                  opt.prefix, chn, sent, (unsigned long long)sched);
                    while (bl < opt.size - 2) body[bl++] = 'x';
                    body[bl++] = '"'; body[bl++] = '}'; body[bl] = 0;
                    rlen = snprintf(req, opt.size + 1024,
                                    "POST %s?%s=%s%ld HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                                    "Content-Length: %d\r\n\r\n%s",
                                    opt.pub_path, opt.sub_param, opt.prefix, chn, hostport, bl, body);
                }
                ssize_t wr = write(pc[fi].fd, req, rlen);
                if (wr != rlen) { /* server closed an idle keep-alive connection: reconnect once */
                    if (pub_reconnect(&pc[fi], pep, fi) < 0 || write(pc[fi].fd, req, rlen) != rlen) {
                        fprintf(stderr, "publisher write failed\n");
                        goto pubout;
                    }
                }
                pc[fi].busy = 1;
                pc[fi].sent_at = now_ns();
                pubcnt[chn]++;
                sent++;
            }
            long lag = interval ? (long)((now - tpub0) / interval) + 1 - sent : 0;
            if (lag > backlog_max && sent < opt.events) backlog_max = lag;
            /* wait for responses or the next schedule tick */
            int tmo = 1;
            if (sent < opt.events && interval) {
                uint64_t nxt = tpub0 + (uint64_t)sent * interval;
                tmo = nxt > now ? (int)((nxt - now) / 1000000) : 0;
            } else tmo = 100;
            struct epoll_event evs[64];
            int ne = epoll_wait(pep, evs, 64, tmo);
            for (int e = 0; e < ne; e++) {
                struct pubc *p = &pc[evs[e].data.u32];
                ssize_t r = read(p->fd, p->rb + p->rl, sizeof p->rb - p->rl);
                if (r <= 0) {
                    if (r < 0 && errno == EAGAIN) continue;
                    /* closed by the server (e.g. keep-alive idle timeout); an in-flight publish is an error */
                    if (p->busy) { pub_errors++; done++; p->busy = 0; last_progress = now_ns(); }
                    if (pub_reconnect(p, pep, evs[e].data.u32) < 0) { fprintf(stderr, "publisher reconnect failed\n"); goto pubout; }
                    continue;
                }
                p->rl += r;
                while (p->busy && pub_response_done(p) == 1) {
                    p->busy = 0;
                    pub_hist[hidx(now_ns() - p->sent_at)]++;
                    done++;
                    last_progress = now_ns();
                }
            }
        }
    pubout:
        pub_dur = (now_ns() - tpub0) / 1e9;
        /* drain: wait until all expected messages arrived or drain timeout */
        long expected_total = 0;
        for (long i = 0; i < opt.conns - opt.slow; i++) expected_total += pubcnt[i % opt.channels];
        uint64_t dend = now_ns() + (uint64_t)(opt.drain * 1e9);
        while (now_ns() < dend) {
            long got = 0;
            for (int w = 0; w < opt.workers; w++) got += sh->w[w].received;
            if (got >= expected_total) break;
            msleep(0.005);
        }
        cpu_s = opt.server_pid ? read_cpu_s(opt.server_pid) - cpu0 : -1;
        ccpu_win = -ccpu0;
        for (int w = 0; w < opt.workers; w++) ccpu_win += read_cpu_s(pids[w]);
        for (int i = 0; i < opt.pub_conns; i++) close(pc[i].fd);
        close(pep);
    }
    if (opt.hold > 0) msleep(opt.hold);
    long rss2 = opt.server_pid ? read_rss_kb(opt.server_pid) : -1;
    sh->phase = 2;
    for (int w = 0; w < opt.workers; w++) waitpid(pids[w], NULL, 0);
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    double client_cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;

    /* aggregate */
    static uint64_t h[HBUCKETS];
    long recv = 0, bad = 0, closed = 0, ooo = 0, rxb = 0;
    uint64_t last_rx = 0, maxlat = 0;
    for (int w = 0; w < opt.workers; w++) {
        struct wstats *s = &sh->w[w];
        for (int i = 0; i < HBUCKETS; i++) h[i] += s->hist[i];
        recv += s->received; bad += s->bad; closed += s->closed; ooo += s->ooo; rxb += s->rx_bytes;
        if (s->last_rx_ns > last_rx) last_rx = s->last_rx_ns;
        if (s->max_lat > maxlat) maxlat = s->max_lat;
    }
    long expected = 0, lossconns = 0, extra = 0;
    for (long i = 0; i < opt.conns - opt.slow; i++) {
        long ex = opt.events > 0 ? pubcnt[i % opt.channels] : 0;
        expected += ex;
        if (conn_rx[i] < ex) lossconns++;
        if (conn_rx[i] > ex) extra += conn_rx[i] - ex;
    }
    long lost = expected - recv + extra;
    if (tpub0 && last_rx > tpub0) deliver_window = (last_rx - tpub0) / 1e9;
    double mps = deliver_window > 0 ? recv / deliver_window : 0;
    double p50 = hist_pct(h, recv, 50) / 1e6, p90 = hist_pct(h, recv, 90) / 1e6, p99 = hist_pct(h, recv, 99) / 1e6,
           p999 = hist_pct(h, recv, 99.9) / 1e6, mx = maxlat / 1e6;
    /* bucket midpoints can exceed the exact maximum; clamp */
    if (p50 > mx) p50 = mx;
    if (p90 > mx) p90 = mx;
    if (p99 > mx) p99 = mx;
    if (p999 > mx) p999 = mx;
    uint64_t pubn = 0;
    for (int i = 0; i < HBUCKETS; i++) pubn += pub_hist[i];
    double pp50 = hist_pct(pub_hist, pubn, 50) / 1e6, pp99 = hist_pct(pub_hist, pubn, 99) / 1e6;
    double ns_per_msg = (cpu_s >= 0 && recv > 0) ? cpu_s * 1e9 / recv : -1;
    double util = (cpu_s >= 0 && deliver_window > 0) ? 100.0 * cpu_s / deliver_window : -1;
    if (!opt.quiet && opt.events > 0) {
        printf("publish: sent=%ld in %.2fs (target %.1f/s) max_backlog=%ld http_errors=%ld http_p50=%.3fms http_p99=%.3fms\n",
               sent, pub_dur, opt.rate, backlog_max, pub_errors, pp50, pp99);
        printf("delivery: expected=%ld received=%ld lost=%ld (conns_with_loss=%ld) extra=%ld out_of_order=%ld bad=%ld "
               "closed_by_server=%ld\n", expected, recv, lost, lossconns, extra, ooo, bad, closed);
        printf("throughput: %.0f msg/s over %.2fs\n", mps, deliver_window);
        printf("latency ms: p50=%.3f p90=%.3f p99=%.3f p99.9=%.3f max=%.3f\n", p50, p90, p99, p999, mx);
        if (opt.server_pid)
            printf("server: cpu=%.2fs (%.0f ns/msg, %.0f%% of one core over the delivery window) rss_end=%ld kB\n",
                   cpu_s, ns_per_msg, util, rss2);
        printf("client: cpu=%.2fs total, %.2fs during publish+drain (%.0f%% of one core over the delivery window)\n",
               client_cpu, ccpu_win, deliver_window > 0 ? 100.0 * ccpu_win / deliver_window : -1.0);
    }
    printf("RESULT {\"conns\":%ld,\"channels\":%ld,\"established\":%ld,\"failed\":%ld,\"ramp_s\":%.3f,"
           "\"rss_before_kb\":%ld,\"rss_after_kb\":%ld,\"rss_end_kb\":%ld,\"bytes_per_conn\":%.0f,"
           "\"events\":%ld,\"rate\":%.1f,\"sent\":%ld,\"expected\":%ld,\"received\":%ld,\"lost\":%ld,"
           "\"out_of_order\":%ld,\"closed\":%ld,\"msg_per_s\":%.0f,\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,"
           "\"max_ms\":%.3f,\"server_cpu_s\":%.3f,\"server_ns_per_msg\":%.0f,\"server_util_pct\":%.0f,"
           "\"client_cpu_s\":%.3f,\"client_util_pct\":%.0f,\"pub_backlog_max\":%ld,\"http_errors\":%ld,"
           "\"avg_msg_bytes\":%.0f,\"bad\":%ld,\"pub_ok\":%ld,\"pub_s\":%.3f,\"pub_per_s\":%.0f,"
           "\"http_p50_ms\":%.3f,\"http_p99_ms\":%.3f,\"deliver_s\":%.3f}\n",
           opt.conns, opt.channels, est, fail, ramp_s, rss0, rss1, rss2, rss_per_conn, opt.events, opt.rate,
           sent, expected, recv, lost, ooo, closed, mps, p50, p90, p99, p999, mx, cpu_s, ns_per_msg, util, client_cpu,
           deliver_window > 0 ? 100.0 * ccpu_win / deliver_window : -1.0, backlog_max, pub_errors,
           recv > 0 ? (double)rxb / recv : 0.0, bad, pub_ok, pub_dur, pub_dur > 0 ? pub_ok / pub_dur : 0.0,
           pp50, pp99, deliver_window);
    return 0;
}
