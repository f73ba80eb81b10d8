/* twitch.c: the request engine. libcurl's multi interface runs on the libuv loop (curl's
 * "multi-uv" pattern): curl tells us which sockets to watch (uv_poll each) and when to wake
 * it (one uv_timer); we hand readiness back with curl_multi_socket_action.
 *
 * One logical call is a struct tw_req:
 *
 *   TOKEN ──token──▶ FLIGHT ──answer──▶ (5xx/no answer, retriable) ──▶ WAIT ──timer──▶ FLIGHT
 *     ▲                 │   ──429──▶ WAIT (until Ratelimit-Reset)
 *     └──401, once──────┘   ──else──▶ delivered (cb), then freed once nothing refers to it
 *
 * A req is freed when its callback has run (or been cancelled) and no token provider still
 * holds it (a provider always calls back, even at shutdown, so the req waits for it). The
 * struct twitch is freed when twitch_free has run, every req is gone and every handle closed.
 */
#include "twitch/twitch.h"

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/rand.h"
#include "twitch/twitch_int.h"

#define RESPONSE_MAX (4u << 20) /* the largest answer we read (Helix pages are ~100 KiB) */
#define RETRY_CAP_MS 5000
#define MAX_RATE_WAITS 3

enum req_state { S_TOKEN, S_FLIGHT, S_WAIT, S_DELIVER, S_DONE };

struct tw_req {
    struct tw_req *prev, *next; /* t->reqs */
    struct twitch *t;
    enum req_state state;
    char method[8];
    char *url;  /* owned */
    char *body; /* owned, wiped when secret */
    size_t body_len;
    char content_type[48];
    enum tw_auth auth;
    char as_user[32];
    char *token; /* owned, wiped */
    enum tw_retry retry;
    int secret;
    int attempts, rate_waits, reauthed;
    int token_pending; /* a provider holds this req until it calls back */
    CURL *easy;
    struct curl_slist *headers;
    struct buf resp;
    int64_t rate_reset; /* Ratelimit-Reset of the last answer (epoch s), 0 if none */
    uv_timer_t timer;   /* backoff, rate wait, deferred delivery */
    tw_call_fn cb;
    void *arg;
    /* the result being delivered */
    int error, status;
    json_t *json;
    char message[256];
};

struct twitch {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t curl_timer;
    unsigned handles_open; /* uv handles not yet closed (timers, polls) */
    struct tw_req *reqs;   /* every live req */
    struct tw_sock *socks; /* sockets curl asked us to watch */
    unsigned nreqs;
    int freeing;
    char client_id[128];
    char client_secret[128];
    char auth_url[256];
    char api_url[256];
    int timeout_ms, connect_timeout_ms, max_attempts, retry_base_ms, max_rate_wait_ms;
    struct twitch_token_provider tokens; /* where Bearer tokens come from */
    struct twitch_stats stats;
};

struct tw_sock {
    uv_poll_t poll; /* first: the handle is the struct */
    curl_socket_t fd;
    struct twitch *t;
    struct tw_sock *prev, *next; /* t->socks: watched, not closing */
};

static int curl_initialised;

static void maybe_destroy(struct twitch *t);
static void on_sock_closed(uv_handle_t *h);
static void req_attempt(struct tw_req *r);
static void req_get_token(struct tw_req *r);

/* ---- small helpers ---- */

static void wipe_free(char *s)
{
    if (!s)
        return;
    OPENSSL_cleanse(s, strlen(s));
    free(s);
}

int twitch_ok(const struct twitch_result *r)
{
    return r && r->error == TWITCH_OK && r->status >= 200 && r->status < 300;
}

struct twitch_result tw_result_error(int error, const char *message)
{
    return (struct twitch_result){.error = error, .status = 0, .message = message, .body = NULL};
}

const char *tw_auth_url(const struct twitch *t)
{
    return t->auth_url;
}
const char *tw_api_url(const struct twitch *t)
{
    return t->api_url;
}
const char *tw_client_id(const struct twitch *t)
{
    return t->client_id;
}
const char *tw_client_secret(const struct twitch *t)
{
    return t->client_secret;
}
int tw_freeing(const struct twitch *t)
{
    return t->freeing;
}

void tw_json_str(json_t *obj, const char *key, char *out, size_t size)
{
    const char *v = json_string_value(json_object_get(obj, key));
    if (!v)
        v = "";
    size_t n = strlen(v);
    if (n >= size) { /* cut at a UTF-8 boundary */
        n = size - 1;
        while (n > 0 && ((unsigned char)v[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(out, v, n);
    out[n] = 0;
}

int64_t tw_json_int(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

/* ---- handles and the struct's lifetime ---- */

static void on_handle_closed(uv_handle_t *h)
{
    struct twitch *t = h->data;
    t->handles_open--;
    maybe_destroy(t);
}

static void sock_close(struct twitch *t, struct tw_sock *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        t->socks = s->next;
    if (s->next)
        s->next->prev = s->prev;
    uv_poll_stop(&s->poll);
    uv_close((uv_handle_t *)&s->poll, on_sock_closed);
}

static void on_sock_closed(uv_handle_t *h)
{
    struct tw_sock *s = (struct tw_sock *)h;
    struct twitch *t = s->t;
    free(s);
    t->handles_open--;
    maybe_destroy(t);
}

static void maybe_destroy(struct twitch *t)
{
    if (!t->freeing || t->nreqs || t->handles_open)
        return;
    OPENSSL_cleanse(t->client_secret, sizeof t->client_secret);
    free(t);
}

/* ---- requests: lifetime ---- */

static void req_release_curl(struct tw_req *r)
{
    if (r->easy) {
        curl_multi_remove_handle(r->t->multi, r->easy);
        curl_easy_cleanup(r->easy);
        r->easy = NULL;
    }
    for (struct curl_slist *h = r->headers; h; h = h->next)
        OPENSSL_cleanse(h->data, strlen(h->data)); /* the Authorization header */
    curl_slist_free_all(r->headers);
    r->headers = NULL;
}

static void on_req_timer_closed(uv_handle_t *h)
{
    struct tw_req *r = h->data;
    struct twitch *t = r->t;
    free(r);
    t->nreqs--;
    maybe_destroy(t);
}

/* Frees r once delivered and no provider holds it. */
static void req_maybe_free(struct tw_req *r)
{
    if (r->state != S_DONE || r->token_pending)
        return;
    struct twitch *t = r->t;
    req_release_curl(r);
    if (r->secret && r->resp.data)
        OPENSSL_cleanse(r->resp.data, r->resp.len);
    buf_release(&r->resp);
    if (r->secret && r->body)
        OPENSSL_cleanse(r->body, r->body_len);
    free(r->body);
    free(r->url);
    wipe_free(r->token);
    r->token = NULL;
    json_decref(r->json);
    r->json = NULL;
    if (r->prev)
        r->prev->next = r->next;
    else
        t->reqs = r->next;
    if (r->next)
        r->next->prev = r->prev;
    uv_close((uv_handle_t *)&r->timer, on_req_timer_closed);
}

/* Calls the callback with the stored result (now) and frees what can be freed. */
static void req_deliver(struct tw_req *r)
{
    struct twitch_result res = {
        .error = r->error, .status = r->status, .message = r->message, .body = r->json};
    if (!twitch_ok(&res))
        r->t->stats.errors++;
    r->state = S_DONE;
    r->t->stats.inflight--;
    uv_timer_stop(&r->timer);
    r->cb(r->arg, &res);
    req_maybe_free(r);
}

static void on_deliver_timer(uv_timer_t *h)
{
    req_deliver(h->data);
}

/* Ends r with an error of our own, delivered on the next loop turn. */
static void req_fail_later(struct tw_req *r, int error, const char *message)
{
    r->error = error;
    r->status = 0;
    snprintf(r->message, sizeof r->message, "%s", message);
    r->state = S_DELIVER;
    uv_timer_start(&r->timer, on_deliver_timer, 0, 0);
}

/* ---- requests: token ---- */

static void on_req_token(void *arg, const char *token, const char *error)
{
    struct tw_req *r = arg;
    r->token_pending = 0;
    if (r->state != S_TOKEN) { /* cancelled meanwhile */
        req_maybe_free(r);
        return;
    }
    if (!token || !*token) {
        req_fail_later(r, TWITCH_ENOTOKEN, error && *error ? error : "no token");
        return;
    }
    wipe_free(r->token);
    r->token = strdup(token);
    if (!r->token) {
        req_fail_later(r, TWITCH_ENOMEM, "out of memory");
        return;
    }
    req_attempt(r);
}

static void req_get_token(struct tw_req *r)
{
    struct twitch *t = r->t;
    r->state = S_TOKEN;
    r->token_pending = 1;
    const char *as_user = r->auth == TW_AUTH_APP ? NULL : r->as_user;
    int rc = t->tokens.get ? t->tokens.get(t->tokens.ctx, as_user, on_req_token, r) : -1;
    if (rc < 0) {
        r->token_pending = 0;
        if (r->state == S_TOKEN)
            req_fail_later(r, TWITCH_ENOTOKEN,
                           r->auth == TW_AUTH_APP ? "no app token" : "no token for that user");
    }
}

/* ---- requests: one attempt ---- */

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    struct tw_req *r = arg;
    return buf_append(&r->resp, data, size * n) == 0 ? size * n : 0; /* 0 aborts: too big */
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
    struct tw_req *r = arg;
    size_t len = size * n;
    static const char name[] = "ratelimit-reset:";
    if (len > sizeof name && strncasecmp(data, name, sizeof name - 1) == 0)
        r->rate_reset = strtoll(data + sizeof name - 1, NULL, 10);
    return len;
}

static int add_header(struct tw_req *r, const char *fmt, const char *a, const char *b)
{
    char line[1024];
    int n = snprintf(line, sizeof line, fmt, a, b);
    struct curl_slist *h =
        n > 0 && (size_t)n < sizeof line ? curl_slist_append(r->headers, line) : NULL;
    OPENSSL_cleanse(line, sizeof line);
    if (!h)
        return -1;
    r->headers = h;
    return 0;
}

static void req_attempt(struct tw_req *r)
{
    struct twitch *t = r->t;
    req_release_curl(r);
    buf_reset(&r->resp);
    r->rate_reset = 0;
    r->attempts++;
    CURL *e = curl_easy_init();
    if (!e)
        goto fail;
    r->easy = e;
    int bad = 0;
    if (r->auth == TW_AUTH_APP || r->auth == TW_AUTH_USER) {
        bad |= add_header(r, "Authorization: Bearer %s%s", r->token, "");
        bad |= add_header(r, "Client-Id: %s%s", t->client_id, "");
    } else if (r->auth == TW_AUTH_OAUTH) {
        bad |= add_header(r, "Authorization: OAuth %s%s", r->token, "");
    }
    if (r->body)
        bad |= add_header(r, "Content-Type: %s%s", r->content_type, "");
    bad |= add_header(r, "Accept: application/json%s%s", "", "");
    if (bad)
        goto fail;
    curl_easy_setopt(e, CURLOPT_URL, r->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, r);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)t->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)t->connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "sev/1 (+https://github.com/)");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    if (strcmp(r->method, "GET") == 0) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else {
        if (strcmp(r->method, "POST") != 0)
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
        if (r->body || strcmp(r->method, "POST") == 0) {
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body ? r->body : "");
            curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)(r->body ? r->body_len : 0));
        }
    }
    if (curl_multi_add_handle(t->multi, e) != CURLM_OK)
        goto fail;
    r->state = S_FLIGHT;
    t->stats.requests++;
    return;
fail:
    req_release_curl(r);
    req_fail_later(r, TWITCH_ENOMEM, "cannot start a request");
}

static void on_retry_timer(uv_timer_t *h)
{
    req_attempt(h->data);
}

static int backoff_ms(const struct tw_req *r)
{
    int64_t d = (int64_t)r->t->retry_base_ms << (r->attempts - 1 < 10 ? r->attempts - 1 : 10);
    if (d > RETRY_CAP_MS)
        d = RETRY_CAP_MS;
    unsigned char j = 0;
    rand_bytes(&j, 1);
    return (int)(d / 2 + d / 2 * j / 255); /* equal jitter: [d/2, d] */
}

/* The URL without its query, for logs (queries hold ids and cursors, never secrets, but the
 * line stays short). */
static void log_path(const struct tw_req *r, char *out, size_t size)
{
    const char *p = strstr(r->url, "://");
    p = p ? strchr(p + 3, '/') : NULL;
    snprintf(out, size, "%.*s", p ? (int)strcspn(p, "?") : 0, p ? p : "");
}

static void schedule(struct tw_req *r, int delay_ms, const char *why)
{
    char path[160];
    log_path(r, path, sizeof path);
    log_info("twitch.retry", "method=%s path=%s why=\"%s\" attempt=%d delay_ms=%d", r->method, path,
             why, r->attempts, delay_ms);
    r->state = S_WAIT;
    uv_timer_start(&r->timer, on_retry_timer, (uint64_t)delay_ms, 0);
}

static void parse_answer(struct tw_req *r, int status)
{
    r->error = TWITCH_OK;
    r->status = status;
    r->message[0] = 0;
    json_decref(r->json);
    r->json = r->resp.len ? json_loadb(r->resp.data, r->resp.len, 0, NULL) : NULL;
    if (status >= 200 && status < 300)
        return;
    const char *m = json_string_value(json_object_get(r->json, "message"));
    if (m && *m)
        snprintf(r->message, sizeof r->message, "%s", m);
    else
        snprintf(r->message, sizeof r->message, "HTTP %d", status);
}

/* curl finished an attempt. */
static void req_finished(struct tw_req *r, CURLcode rc)
{
    struct twitch *t = r->t;
    long status = 0;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    req_release_curl(r);
    int can_retry = r->attempts < t->max_attempts;
    if (rc != CURLE_OK) {
        int before_send = rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
                          rc == CURLE_COULDNT_RESOLVE_PROXY;
        if (can_retry && (r->retry == TW_RETRY_ALL || before_send) && rc != CURLE_WRITE_ERROR) {
            t->stats.retries++;
            schedule(r, backoff_ms(r), curl_easy_strerror(rc));
            return;
        }
        r->error = rc == CURLE_OPERATION_TIMEDOUT ? TWITCH_ETIMEOUT : TWITCH_ENET;
        r->status = 0;
        snprintf(r->message, sizeof r->message, "%s",
                 rc == CURLE_WRITE_ERROR ? "answer too large" : curl_easy_strerror(rc));
        req_deliver(r);
        return;
    }
    if (status == 429) {
        t->stats.rate_limited++;
        if (r->rate_waits < MAX_RATE_WAITS) {
            r->rate_waits++;
            int64_t wait = r->rate_reset ? r->rate_reset * 1000 - clock_wall_us() / 1000 : 1000;
            if (wait < 50)
                wait = 50;
            if (wait <= t->max_rate_wait_ms) {
                r->attempts--; /* a rate wait is not a failed attempt */
                schedule(r, (int)wait, "429 rate limited");
                return;
            }
        }
    }
    if (status == 401 && (r->auth == TW_AUTH_APP || r->auth == TW_AUTH_USER) && !r->reauthed) {
        r->reauthed = 1;
        if (t->tokens.rejected)
            t->tokens.rejected(t->tokens.ctx, r->auth == TW_AUTH_APP ? NULL : r->as_user, r->token);
        wipe_free(r->token);
        r->token = NULL;
        r->attempts--;
        req_get_token(r);
        return;
    }
    if (status >= 500 && r->retry == TW_RETRY_ALL && can_retry) {
        t->stats.retries++;
        char why[32];
        snprintf(why, sizeof why, "HTTP %ld", status);
        schedule(r, backoff_ms(r), why);
        return;
    }
    parse_answer(r, (int)status);
    req_deliver(r);
}

int tw_call(struct twitch *t, const struct tw_call *c, tw_call_fn cb, void *arg)
{
    if (t->freeing || !cb || !c->url || !c->method || strlen(c->method) >= 8)
        return -1;
    if (c->auth == TW_AUTH_USER && (!c->as_user || !*c->as_user || strlen(c->as_user) >= 32))
        return -1;
    if (c->auth == TW_AUTH_OAUTH && !c->token)
        return -1;
    struct tw_req *r = calloc(1, sizeof *r);
    if (!r)
        return -1;
    r->t = t;
    snprintf(r->method, sizeof r->method, "%s", c->method);
    r->url = strdup(c->url);
    if (c->body) {
        r->body = malloc(c->body_len + 1);
        if (r->body) {
            memcpy(r->body, c->body, c->body_len);
            r->body[c->body_len] = 0;
        }
        r->body_len = c->body_len;
        snprintf(r->content_type, sizeof r->content_type, "%s",
                 c->content_type ? c->content_type : "application/json");
    }
    if (c->token)
        r->token = strdup(c->token);
    if (!r->url || (c->body && !r->body) || (c->token && !r->token)) {
        free(r->url);
        free(r->body);
        wipe_free(r->token);
        free(r);
        return -1;
    }
    r->auth = c->auth;
    if (c->as_user)
        snprintf(r->as_user, sizeof r->as_user, "%s", c->as_user);
    r->retry = c->retry;
    r->secret = c->secret;
    buf_init(&r->resp, RESPONSE_MAX);
    r->cb = cb;
    r->arg = arg;
    uv_timer_init(t->loop, &r->timer);
    r->timer.data = r;
    r->next = t->reqs;
    if (t->reqs)
        t->reqs->prev = r;
    t->reqs = r;
    t->nreqs++;
    t->stats.inflight++;
    if (r->auth == TW_AUTH_APP || r->auth == TW_AUTH_USER) {
        req_get_token(r);
    } else {
        r->state = S_WAIT; /* starts on the next turn: nothing runs inside tw_call */
        uv_timer_start(&r->timer, on_retry_timer, 0, 0);
        r->attempts = 0;
    }
    return 0;
}

/* ---- curl ⇄ libuv ---- */

static void check_done(struct twitch *t)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(t->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        struct tw_req *r = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        CURLcode rc = m->data.result;
        if (r)
            req_finished(r, rc); /* m is invalid from here: the handle is removed */
    }
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    struct tw_sock *s = (struct tw_sock *)p;
    struct twitch *t = s->t;
    int flags = 0, running;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    curl_multi_socket_action(t->multi, s->fd, flags, &running);
    check_done(t);
}

static int on_curl_socket(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct twitch *t = userp;
    struct tw_sock *s = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (s) {
            sock_close(t, s);
            curl_multi_assign(t->multi, fd, NULL);
        }
        return 0;
    }
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s)
            return -1;
        s->fd = fd;
        s->t = t;
        if (uv_poll_init_socket(t->loop, &s->poll, fd) != 0) {
            free(s);
            return -1;
        }
        t->handles_open++;
        s->next = t->socks;
        if (t->socks)
            t->socks->prev = s;
        t->socks = s;
        curl_multi_assign(t->multi, fd, s);
    }
    int events = 0;
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
        events |= UV_READABLE;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
        events |= UV_WRITABLE;
    uv_poll_start(&s->poll, events, on_poll);
    return 0;
}

static void on_curl_timeout(uv_timer_t *h)
{
    struct twitch *t = h->data;
    int running;
    curl_multi_socket_action(t->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(t);
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    struct twitch *t = userp;
    if (timeout_ms < 0)
        uv_timer_stop(&t->curl_timer);
    else /* 0: on the next turn, never inside the curl call that asked */
        uv_timer_start(&t->curl_timer, on_curl_timeout, (uint64_t)timeout_ms, 0);
    return 0;
}

/* ---- the client ---- */

int twitch_new(uv_loop_t *loop, const struct twitch_options *o, struct twitch **out,
               struct err *err)
{
    *out = NULL;
    if (!o->client_id || !*o->client_id || !o->auth_url || !o->api_url)
        return err_set(err, "twitch: client id and URLs are required");
    if (!curl_initialised) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return err_set(err, "twitch: libcurl failed to initialise");
        curl_initialised = 1;
    }
    struct twitch *t = calloc(1, sizeof *t);
    if (!t)
        return err_set(err, "out of memory");
    t->loop = loop;
    snprintf(t->client_id, sizeof t->client_id, "%s", o->client_id);
    snprintf(t->client_secret, sizeof t->client_secret, "%s",
             o->client_secret ? o->client_secret : "");
    snprintf(t->auth_url, sizeof t->auth_url, "%s", o->auth_url);
    snprintf(t->api_url, sizeof t->api_url, "%s", o->api_url);
    t->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 10000;
    t->connect_timeout_ms = o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 5000;
    t->max_attempts = o->max_attempts > 0 ? o->max_attempts : 3;
    t->retry_base_ms = o->retry_base_ms > 0 ? o->retry_base_ms : 300;
    t->max_rate_wait_ms = o->max_rate_wait_ms > 0 ? o->max_rate_wait_ms : 60000;
    t->multi = curl_multi_init();
    if (!t->multi) {
        free(t);
        return err_set(err, "twitch: cannot create a curl multi handle");
    }
    curl_multi_setopt(t->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
    curl_multi_setopt(t->multi, CURLMOPT_SOCKETDATA, t);
    curl_multi_setopt(t->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
    curl_multi_setopt(t->multi, CURLMOPT_TIMERDATA, t);
    curl_multi_setopt(t->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 16L);
    uv_timer_init(loop, &t->curl_timer);
    t->curl_timer.data = t;
    t->handles_open = 1;
    *out = t;
    return 0;
}

void twitch_set_token_provider(struct twitch *t, const struct twitch_token_provider *p)
{
    t->tokens = p ? *p : (struct twitch_token_provider){0};
}

void twitch_stats(const struct twitch *t, struct twitch_stats *out)
{
    *out = t->stats;
}

void twitch_free(struct twitch *t)
{
    if (!t || t->freeing)
        return;
    t->freeing = 1;
    /* Cancel every live req; callbacks may start nothing new (freeing refuses). */
    for (struct tw_req *r = t->reqs, *next; r; r = next) {
        next = r->next;
        if (r->state == S_DONE)
            continue;
        req_release_curl(r);
        r->error = TWITCH_ECANCELED;
        r->status = 0;
        snprintf(r->message, sizeof r->message, "shutting down");
        json_decref(r->json);
        r->json = NULL;
        req_deliver(r); /* may free r, never next (only r itself is unlinked) */
    }
    curl_multi_cleanup(t->multi); /* closes its sockets (REMOVE closes our polls) */
    t->multi = NULL;
    while (t->socks) /* any it did not report */
        sock_close(t, t->socks);
    uv_close((uv_handle_t *)&t->curl_timer, on_handle_closed);
}
