/* bus_redis: Redis pub/sub between sev nodes, on the loop (hiredis + its libuv adapter).
 *
 * Two connections: one PUBLISHes, one PSUBSCRIBEs to every streamer's channel
 * ("sev:ev:<login>"). Each reconnects by itself with backoff (100 ms doubling to 1 s). The
 * publishing connection PINGs every second; a ping unanswered for REDIS_STALL_MS (a stalled
 * Redis) drops both connections, which then reconnect. Every (re)subscription calls the
 * resync hook: messages published meanwhile are lost to this node and are read from the store.
 * A publication is delivered to this node at once (when it has a streamer_seq) and again
 * through Redis; bus_order drops the second. Without a streamer_seq only the echo delivers.
 *
 * Peers: every node PUBLISHes a heartbeat each second on "sev:hb:<instance>" (a random id per
 * process) carrying its epoch, a number that grows whenever it may have failed to publish an
 * event (a publication while its publish connection was down, a reconnect). A peer silent for
 * REDIS_PEER_LOST_MS (killed, stalled, cut off) or whose epoch moved calls the resync hook:
 * what it stored and acknowledged but never published is read from the store within seconds,
 * whether or not its streamers have events after it.
 */
#include <hiredis/adapters/libuv.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/rand.h"
#include "bus/bus_int.h"
#include "bus/bus_wire.h"

#define REDIS_TICK_MS 250
#define REDIS_PING_MS 1000
#define REDIS_STALL_MS 3000
#define REDIS_BACKOFF_MIN_MS 100
#define REDIS_BACKOFF_MAX_MS 1000
/* hiredis 0.14's libuv adapter ignores a poll error, so a refused connect never calls back:
 * an attempt not connected after this long is dropped and retried */
#define REDIS_CONNECT_TIMEOUT_MS 1000
#define CHANNEL_PREFIX "sev:ev:"
#define HEARTBEAT_PREFIX "sev:hb:"
#define REDIS_PEER_LOST_MS 3000
#define REDIS_PEERS_MAX 256 /* peers tracked; beyond, the others are not watched */

struct redis_bus;

struct rconn {
    struct redis_bus *rb;
    const char *name;      /* "publish" or "subscribe", for logs */
    redisAsyncContext *ac; /* owned by hiredis; NULL while down */
    int up;                /* connected */
    int subscribed;        /* the subscribe connection's PSUBSCRIBE was confirmed */
    int is_sub;
    int backoff_ms;
    int64_t next_try_us;
    int64_t ping_sent_us; /* 0: no ping outstanding */
    int64_t last_ping_us;
    int64_t started_us; /* when the connection attempt began */
};

struct peer {
    char id[33];         /* its instance */
    unsigned long epoch; /* the last it announced */
    int64_t seen_us;     /* when its last heartbeat came */
};

struct redis_bus {
    struct bus *bus;
    char host[256];
    int port;
    struct rconn pub, sub;
    uv_timer_t timer;
    int stopping;
    uint64_t published, unpublished, received, bad;
    char instance[33];   /* this process, in heartbeats */
    unsigned long epoch; /* grows when a publication may have been lost */
    struct peer peers[REDIS_PEERS_MAX];
    size_t npeers;
};

static void resync(struct redis_bus *rb)
{
    if (rb->bus->resync && !rb->stopping)
        rb->bus->resync(rb->bus->resync_arg);
}

/* A heartbeat from instance id (not this one) announcing epoch. */
static void peer_heard(struct redis_bus *rb, const char *id, size_t len, unsigned long epoch)
{
    if (len == 0 || len >= sizeof rb->peers[0].id ||
        (len == strlen(rb->instance) && memcmp(id, rb->instance, len) == 0))
        return;
    int64_t now = clock_mono_us();
    for (size_t i = 0; i < rb->npeers; i++) {
        struct peer *p = &rb->peers[i];
        if (strlen(p->id) == len && memcmp(p->id, id, len) == 0) {
            p->seen_us = now;
            if (p->epoch != epoch) {
                p->epoch = epoch;
                log_info("bus.peer_epoch", "peer=%s epoch=%lu", p->id, epoch);
                resync(rb); /* it may have stored events it could not publish */
            }
            return;
        }
    }
    if (rb->npeers == REDIS_PEERS_MAX)
        return;
    struct peer *p = &rb->peers[rb->npeers++];
    memcpy(p->id, id, len);
    p->id[len] = 0;
    p->epoch = epoch;
    p->seen_us = now;
    log_info("bus.peer_seen", "peer=%s", p->id);
}

/* Peers silent for REDIS_PEER_LOST_MS are forgotten, and the store read for what they may
 * have acknowledged without publishing. Only while this node hears the bus. */
static void peers_check(struct redis_bus *rb, int64_t now)
{
    if (!rb->sub.subscribed)
        return;
    int lost = 0;
    for (size_t i = 0; i < rb->npeers;) {
        struct peer *p = &rb->peers[i];
        if (now - p->seen_us > (int64_t)REDIS_PEER_LOST_MS * 1000) {
            log_warn("bus.peer_lost", "peer=%s silent_ms=%lld", p->id,
                     (long long)((now - p->seen_us) / 1000));
            rb->peers[i] = rb->peers[--rb->npeers];
            lost = 1;
        } else {
            i++;
        }
    }
    if (lost)
        resync(rb);
}

static void conn_start(struct rconn *rc);
static void conn_down(struct rconn *rc);

/* Drops rc's connection now (not from inside a hiredis callback). */
static void conn_kill(struct rconn *rc)
{
    redisAsyncContext *ac = rc->ac;
    if (!ac)
        return;
    ac->data = NULL; /* its callbacks ignore it from here */
    redisAsyncFree(ac);
    conn_down(rc);
}

static void conn_down(struct rconn *rc)
{
    rc->ac = NULL;
    rc->up = 0;
    rc->subscribed = 0;
    rc->ping_sent_us = 0;
    rc->next_try_us = clock_mono_us() + (int64_t)rc->backoff_ms * 1000;
    rc->backoff_ms =
        rc->backoff_ms * 2 > REDIS_BACKOFF_MAX_MS ? REDIS_BACKOFF_MAX_MS : rc->backoff_ms * 2;
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    struct rconn *rc = ac->data;
    if (!rc)
        return;
    if (status != REDIS_OK) { /* hiredis frees ac after this callback */
        log_debug("bus.redis_connect_failed", "conn=%s error=\"%s\"", rc->name, ac->errstr);
        conn_down(rc);
        return;
    }
    rc->up = 1;
    rc->backoff_ms = REDIS_BACKOFF_MIN_MS;
    log_info("bus.redis_connected", "conn=%s host=%s port=%d", rc->name, rc->rb->host,
             rc->rb->port);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    struct rconn *rc = ac->data;
    if (!rc)
        return;
    if (!rc->rb->stopping)
        log_warn("bus.redis_disconnected", "conn=%s error=\"%s\"", rc->name,
                 status == REDIS_OK ? "" : ac->errstr);
    conn_down(rc);
}

static void on_message(redisAsyncContext *ac, void *r, void *priv)
{
    struct rconn *rc = priv;
    redisReply *reply = r;
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < 3 ||
        reply->element[0]->type != REDIS_REPLY_STRING)
        return;
    struct redis_bus *rb = rc->rb;
    const char *kind = reply->element[0]->str;
    if (strcmp(kind, "psubscribe") == 0) {
        if (reply->element[1]->type != REDIS_REPLY_STRING ||
            strcmp(reply->element[1]->str, CHANNEL_PREFIX "*") != 0)
            return; /* the heartbeats' pattern */
        rc->subscribed = 1;
        rb->npeers = 0; /* heard afresh from here */
        log_info("bus.redis_subscribed", "pattern=%s*", CHANNEL_PREFIX);
        resync(rb);
        return;
    }
    if (strcmp(kind, "pmessage") != 0 || reply->elements < 4 ||
        reply->element[2]->type != REDIS_REPLY_STRING ||
        reply->element[3]->type != REDIS_REPLY_STRING || rb->stopping)
        return;
    const char *channel = reply->element[2]->str;
    if (strncmp(channel, HEARTBEAT_PREFIX, strlen(HEARTBEAT_PREFIX)) == 0) {
        const char *id = channel + strlen(HEARTBEAT_PREFIX);
        peer_heard(rb, id, reply->element[2]->len - strlen(HEARTBEAT_PREFIX),
                   strtoul(reply->element[3]->str, NULL, 10));
        return;
    }
    struct event *ev = bus_wire_decode(reply->element[3]->str, reply->element[3]->len);
    if (!ev) {
        rb->bad++;
        log_warn("bus.redis_bad_message", "channel=%.64s", reply->element[2]->str);
        return;
    }
    rb->received++;
    rb->bus->deliver(rb->bus->deliver_arg, ev);
    event_free(ev);
}

static void on_pong(redisAsyncContext *ac, void *r, void *priv)
{
    struct rconn *rc = priv;
    if (r && rc->ac == ac)
        rc->ping_sent_us = 0;
}

static void conn_start(struct rconn *rc)
{
    struct redis_bus *rb = rc->rb;
    redisAsyncContext *ac = redisAsyncConnect(rb->host, rb->port);
    if (!ac || ac->err) {
        log_debug("bus.redis_connect_failed", "conn=%s error=\"%s\"", rc->name,
                  ac ? ac->errstr : "out of memory");
        if (ac)
            redisAsyncFree(ac);
        conn_down(rc);
        return;
    }
    if (redisLibuvAttach(ac, rb->bus->loop) != REDIS_OK) {
        redisAsyncFree(ac);
        conn_down(rc);
        return;
    }
    ac->data = rc;
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    rc->ac = ac;
    rc->started_us = clock_mono_us();
    if (rc->is_sub) /* queued: sent once connected */
        redisAsyncCommand(ac, on_message, rc,
                          "PSUBSCRIBE " CHANNEL_PREFIX "* " HEARTBEAT_PREFIX "*");
    else
        rb->epoch++; /* publications may have been lost while it was away */
}

static void on_tick(uv_timer_t *t)
{
    struct redis_bus *rb = t->data;
    int64_t now = clock_mono_us();
    struct rconn *pub = &rb->pub;
    if (pub->ac && pub->up && pub->ping_sent_us &&
        now - pub->ping_sent_us > (int64_t)REDIS_STALL_MS * 1000) {
        log_warn("bus.redis_stalled", "unanswered_ms=%lld",
                 (long long)((now - pub->ping_sent_us) / 1000));
        /* both connections go; their disconnect callbacks schedule the reconnects */
        conn_kill(pub);
        conn_kill(&rb->sub);
        return;
    }
    if (pub->ac && pub->up && !pub->ping_sent_us &&
        now - pub->last_ping_us >= (int64_t)REDIS_PING_MS * 1000) {
        pub->ping_sent_us = pub->last_ping_us = now;
        redisAsyncCommand(pub->ac, on_pong, pub, "PING");
        redisAsyncCommand(pub->ac, NULL, NULL, "PUBLISH " HEARTBEAT_PREFIX "%s %lu", rb->instance,
                          rb->epoch);
    }
    peers_check(rb, now);
    struct rconn *conns[2] = {&rb->pub, &rb->sub};
    for (int i = 0; i < 2; i++) {
        struct rconn *rc = conns[i];
        if (rc->ac && !rc->up && now - rc->started_us > (int64_t)REDIS_CONNECT_TIMEOUT_MS * 1000) {
            log_debug("bus.redis_connect_timeout", "conn=%s", rc->name);
            conn_kill(rc);
        }
        if (!rc->ac && now >= rc->next_try_us)
            conn_start(rc);
    }
}

/* redis://HOST[:PORT][/] */
static int parse_uri(const char *uri, char *host, size_t hsize, int *port, struct err *err)
{
    const char *p = uri + strlen("redis://");
    size_t n = strcspn(p, ":/");
    if (n == 0 || n >= hsize)
        return err_set(err, "SEV_BUS: '%s' must be redis://host:port", uri);
    memcpy(host, p, n);
    host[n] = 0;
    p += n;
    *port = 6379;
    if (*p == ':') {
        char *end;
        long v = strtol(p + 1, &end, 10);
        if (end == p + 1 || v < 1 || v > 65535)
            return err_set(err, "SEV_BUS: '%s': the port must be 1 to 65535", uri);
        *port = (int)v;
        p = end;
    }
    if (*p == '/')
        p++;
    if (*p)
        return err_set(err,
                       "SEV_BUS: '%s' must be redis://host:port (no database, user or "
                       "options)",
                       uri);
    return 0;
}

static int redis_open(struct bus *bus, const char *uri, struct err *err)
{
    struct redis_bus *rb = calloc(1, sizeof *rb);
    if (!rb)
        return err_set(err, "out of memory");
    if (parse_uri(uri, rb->host, sizeof rb->host, &rb->port, err) < 0) {
        free(rb);
        return -1;
    }
    if (rand_hex(rb->instance, 8) < 0) {
        free(rb);
        return err_set(err, "SEV_BUS: no random bytes for the node's instance id");
    }
    log_info("bus.redis_instance", "id=%s", rb->instance);
    rb->bus = bus;
    rb->pub = (struct rconn){.rb = rb, .name = "publish", .backoff_ms = REDIS_BACKOFF_MIN_MS};
    rb->sub = (struct rconn){
        .rb = rb, .name = "subscribe", .is_sub = 1, .backoff_ms = REDIS_BACKOFF_MIN_MS};
    bus->impl = rb;
    uv_timer_init(bus->loop, &rb->timer);
    rb->timer.data = rb;
    uv_timer_start(&rb->timer, on_tick, REDIS_TICK_MS, REDIS_TICK_MS);
    conn_start(&rb->pub);
    conn_start(&rb->sub);
    return 0;
}

static void redis_publish(struct bus *bus, const struct event *ev)
{
    struct redis_bus *rb = bus->impl;
    if (ev->streamer_seq > 0) /* here at once; the echo is dropped by its streamer_seq */
        bus->deliver(bus->deliver_arg, ev);
    if (!rb->pub.up || !ev->streamer_login) {
        rb->unpublished++; /* the other nodes find it in the store (resync, periodic check) */
        rb->epoch++;       /* told by the next heartbeat */
        return;
    }
    size_t len;
    char *msg = bus_wire_encode(ev, &len);
    if (!msg) {
        rb->unpublished++;
        rb->epoch++;
        return;
    }
    redisAsyncCommand(rb->pub.ac, NULL, NULL, "PUBLISH " CHANNEL_PREFIX "%s %b", ev->streamer_login,
                      msg, len);
    free(msg);
    rb->published++;
}

static int redis_ping(struct bus *bus)
{
    struct redis_bus *rb = bus->impl;
    return rb->pub.up && rb->sub.up && rb->sub.subscribed ? 0 : -1;
}

static void redis_stop(struct bus *bus)
{
    struct redis_bus *rb = bus->impl;
    rb->stopping = 1;
    uv_timer_stop(&rb->timer);
    uv_close((uv_handle_t *)&rb->timer, NULL);
    conn_kill(&rb->pub);
    conn_kill(&rb->sub);
}

static void redis_close(struct bus *bus)
{
    free(bus->impl);
}

const struct bus_backend bus_redis_backend = {
    .name = "redis",
    .scheme = "redis://",
    .open = redis_open,
    .publish = redis_publish,
    .ping = redis_ping,
    .stop = redis_stop,
    .close = redis_close,
    .shared = 1,
};
