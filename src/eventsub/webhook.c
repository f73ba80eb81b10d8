#include "eventsub/webhook.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "eventsub/signature.h"

/* Seconds a sender is asked to wait after a 503 (the store could not take the event). */
#define WEBHOOK_RETRY_AFTER_S "5"

struct webhook {
    struct ingest *ingest;
    char secret[128];
    struct webhook_hooks hooks;
    struct webhook_stats stats;
    int64_t log_at_us; /* monotonic: when the last rejection was logged (0: never) */
    uint64_t unlogged; /* rejections since then, not logged */
};

int webhook_timestamp_fresh(int64_t ts_us, int64_t now_us)
{
    /* Twitch: reject messages "older than 10 minutes"; exactly 10 minutes is not older. A
     * timestamp ahead of our clock gets the same allowance, for clock skew. */
    return ts_us >= now_us - WEBHOOK_MAX_AGE_US && ts_us <= now_us + WEBHOOK_MAX_AGE_US;
}

struct webhook *webhook_new(struct ingest *ingest, const char *secret,
                            const struct webhook_hooks *hooks)
{
    struct webhook *wh = calloc(1, sizeof *wh);
    if (!wh)
        return NULL;
    wh->ingest = ingest;
    snprintf(wh->secret, sizeof wh->secret, "%s", secret);
    if (hooks)
        wh->hooks = *hooks;
    return wh;
}

void webhook_free(struct webhook *wh)
{
    if (wh)
        OPENSSL_cleanse(wh->secret, sizeof wh->secret);
    free(wh);
}

/* Answers a rejection. Anyone can send them, so the log gets at most one line per
 * WEBHOOK_LOG_INTERVAL_US, saying how many were not logged since. message_id is logged only
 * when the signature was good (NULL before): an unsigned sender chooses no text of our logs. */
static void reject(struct webhook *wh, struct http_request *req, int status, const char *why,
                   const char *message_id)
{
    wh->stats.rejected++;
    int64_t now = clock_mono_us();
    if (wh->log_at_us && now - wh->log_at_us < WEBHOOK_LOG_INTERVAL_US) {
        wh->unlogged++;
    } else {
        log_warn("webhook.rejected", "status=%d reason=\"%s\" message_id=%.64s unlogged=%llu",
                 status, why, message_id ? message_id : "-", (unsigned long long)wh->unlogged);
        wh->log_at_us = now;
        wh->unlogged = 0;
    }
    http_respond_error(req, status, why);
}

static const char *json_str(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

struct delivery {
    struct webhook *wh;
    struct http_request *req;
};

static void on_ingested(void *arg, int status)
{
    struct delivery *d = arg;
    if (status == STORE_STORED) {
        d->wh->stats.accepted++;
        http_respond(d->req, 204, NULL, "", 0);
    } else if (status == STORE_DUPLICATE) {
        d->wh->stats.duplicates++;
        http_respond(d->req, 204, NULL, "", 0);
    } else {
        http_add_header(d->req, "Retry-After", WEBHOOK_RETRY_AFTER_S);
        http_respond_error(d->req, 503, "could not store the event; retry later");
    }
    free(d);
}

/* An authentic notification SEV cannot use (unknown shape, batched `events`, no
 * broadcaster): answered 2xx all the same, since failing deliveries make Twitch revoke the
 * subscription (notification_failures_exceeded); logged and counted, nothing stored. */
static void skip_notification(struct webhook *wh, struct http_request *req, const char *id,
                              json_t *body, const char *why)
{
    json_t *sub = json_object_get(body, "subscription");
    wh->stats.skipped++;
    log_warn("webhook.notification_skipped",
             "message_id=%.64s type=%.64s version=%.16s reason=\"%.160s\"", id,
             json_str(sub, "type") ? json_str(sub, "type") : "-",
             json_str(sub, "version") ? json_str(sub, "version") : "-", why);
    http_respond(req, 204, NULL, "", 0);
}

static void handle_notification(struct webhook *wh, struct http_request *req, const char *id,
                                int64_t ts_us, json_t *body, const char *data_text,
                                size_t data_len)
{
    struct err err = {{0}};
    struct event *ev = NULL;
    if (json_is_array(json_object_get(body, "events"))) {
        skip_notification(wh, req, id, body, "batched events: no type SEV uses batches");
        return;
    }
    if (!json_is_object(json_object_get(body, "event"))) {
        skip_notification(wh, req, id, body, "notification without an event object");
        return;
    }
    int rc = event_decode_notification(id, ts_us, body, &ev, &err);
    if (rc == EVENT_ENOMEM) { /* not the message's fault: Twitch redelivers after a 503 */
        http_add_header(req, "Retry-After", WEBHOOK_RETRY_AFTER_S);
        http_respond_error(req, 503, "out of memory");
        return;
    }
    if (rc < 0) {
        skip_notification(wh, req, id, body, err.msg[0] ? err.msg : "event could not be decoded");
        return;
    }
    /* the event object's text is already its compact JSON: stored and sent as it is (left
     * NULL when out of memory: then it is encoded from data) */
    if (data_text && ev->data == json_object_get(body, "event") && !ev->data_json)
        ev->data_json = strndup(data_text, data_len);
    struct delivery *d = malloc(sizeof *d);
    if (!d) {
        event_free(ev);
        http_add_header(req, "Retry-After", WEBHOOK_RETRY_AFTER_S);
        http_respond_error(req, 503, "out of memory");
        return;
    }
    d->wh = wh;
    d->req = req;
    if (ingest_submit(wh->ingest, ev, INGEST_WEBHOOK, on_ingested, d) < 0) {
        free(d);
        http_add_header(req, "Retry-After", WEBHOOK_RETRY_AFTER_S);
        http_respond_error(req, 503, "could not queue the event; retry later");
    }
}

/* A copy of text without the commas that end a JSON object or array ("…,}"), outside strings:
 * the few examples on Twitch's reference pages that carry them (channel.ad_break.begin) then
 * still parse. NULL when out of memory. */
static char *without_trailing_commas(const char *text, size_t len)
{
    char *out = malloc(len + 1);
    size_t o = 0;
    int in_string = 0;
    for (size_t i = 0; out && i < len; i++) {
        char c = text[i];
        if (in_string) {
            if (c == '\\' && i + 1 < len)
                out[o++] = text[i++];
            else if (c == '"')
                in_string = 0;
        } else if (c == '"') {
            in_string = 1;
        } else if (c == ',') {
            size_t k = i + 1;
            while (k < len &&
                   (text[k] == ' ' || text[k] == '\t' || text[k] == '\r' || text[k] == '\n'))
                k++;
            if (k < len && (text[k] == '}' || text[k] == ']'))
                continue;
        }
        out[o++] = text[i];
    }
    if (out)
        out[o] = 0;
    return out;
}

static void handle_challenge(struct webhook *wh, struct http_request *req, const char *id,
                             json_t *body)
{
    const char *challenge = json_str(body, "challenge");
    if (!challenge) {
        reject(wh, req, 400, "verification without a challenge", id);
        return;
    }
    json_t *sub = json_object_get(body, "subscription");
    wh->stats.challenges++;
    log_info("webhook.challenge", "subscription_id=%.64s type=%.64s",
             json_str(sub, "id") ? json_str(sub, "id") : "-",
             json_str(sub, "type") ? json_str(sub, "type") : "-");
    if (wh->hooks.on_verified && json_str(sub, "id"))
        wh->hooks.on_verified(wh->hooks.arg, json_str(sub, "id"), json_str(sub, "type"));
    http_respond(req, 200, "text/plain", challenge, strlen(challenge));
}

static void handle_revocation(struct webhook *wh, struct http_request *req, json_t *body)
{
    json_t *sub = json_object_get(body, "subscription");
    const char *sub_id = json_str(sub, "id"), *type = json_str(sub, "type");
    const char *reason = json_str(sub, "status");
    wh->stats.revocations++;
    log_warn("webhook.revocation", "subscription_id=%.64s type=%.64s reason=%.64s",
             sub_id ? sub_id : "-", type ? type : "-", reason ? reason : "-");
    if (wh->hooks.on_revocation && sub_id)
        wh->hooks.on_revocation(wh->hooks.arg, sub_id, type ? type : "",
                                reason ? reason : "unknown");
    http_respond(req, 204, NULL, "", 0);
}

void webhook_handle(struct webhook *wh, struct http_request *req)
{
    const char *id = http_header(req, "Twitch-Eventsub-Message-Id");
    const char *ts = http_header(req, "Twitch-Eventsub-Message-Timestamp");
    const char *sig = http_header(req, "Twitch-Eventsub-Message-Signature");
    const char *kind = http_header(req, "Twitch-Eventsub-Message-Type");
    if (!sig || !*sig) {
        reject(wh, req, 403, "missing Twitch-Eventsub-Message-Signature", NULL);
        return;
    }
    if (!id || !*id || !ts || !*ts || strlen(id) > 100) {
        reject(wh, req, 403, "missing or bad Twitch-Eventsub-Message-Id or -Timestamp", NULL);
        return;
    }
    if (!signature_verify(wh->secret, id, ts, req->body, req->body_len, sig)) {
        reject(wh, req, 403, "signature does not match", NULL);
        return;
    }
    /* From here on the sender knows the secret: its message id may be logged. */
    int64_t ts_us;
    int64_t now = clock_wall_us();
    if (clock_parse_rfc3339(ts, &ts_us) < 0) {
        reject(wh, req, 403, "Twitch-Eventsub-Message-Timestamp is not RFC 3339", id);
        return;
    }
    if (!webhook_timestamp_fresh(ts_us, now)) {
        reject(wh, req, 403, "message timestamp is more than 10 minutes away from now", id);
        return;
    }
    json_error_t jerr;
    const char *data_text = NULL; /* in req->body */
    size_t data_len = 0;
    json_t *body = event_json_parse(req->body, req->body_len, "event", &data_text, &data_len);
    if (!body) /* not a shape the fast parser reads: jansson's reading, and its errors */
        body = json_loadb(req->body, req->body_len, 0, &jerr);
    if (!body && req->body_len) { /* authentic but not strict JSON: one lenient try */
        char *lenient = without_trailing_commas(req->body, req->body_len);
        body = lenient ? json_loads(lenient, 0, &jerr) : NULL;
        free(lenient);
    }
    if (!json_is_object(body)) {
        json_decref(body);
        reject(wh, req, 400, "body is not a JSON object", id);
        return;
    }
    if (kind && strcmp(kind, "notification") == 0)
        handle_notification(wh, req, id, ts_us, body, data_text, data_len);
    else if (kind && strcmp(kind, "webhook_callback_verification") == 0)
        handle_challenge(wh, req, id, body);
    else if (kind && strcmp(kind, "revocation") == 0)
        handle_revocation(wh, req, body);
    else
        reject(wh, req, 400, "unknown Twitch-Eventsub-Message-Type", id);
    json_decref(body);
}

void webhook_stats(const struct webhook *wh, struct webhook_stats *out)
{
    *out = wh->stats;
}
