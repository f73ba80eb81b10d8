/* webhook: POST /eventsub/webhook, Twitch's EventSub webhook callback.
 *
 * Order of checks (each failure answered and logged once, nothing stored):
 *   1. body cap (the route's max_body → 413)
 *   2. Twitch-Eventsub-Message-Id/-Timestamp/-Signature present → else 403
 *   3. HMAC-SHA256 over id + timestamp + raw body, constant time → else 403
 *   4. timestamp within 10 minutes of now (either way) → else 403
 *   5. JSON body (one lenient retry without trailing commas, as some of Twitch's reference
 *      examples have them) → else 400
 * then by Twitch-Eventsub-Message-Type:
 *   webhook_callback_verification → 200 text/plain, the challenge verbatim
 *   notification → decode → ingest; 204 once durable (a redelivery: 204, stored once);
 *                  503 if the store failed, so Twitch redelivers. A notification SEV cannot
 *                  decode (no event, batched `events`, no broadcaster) is answered 204 and
 *                  counted as skipped, never 4xx: failures make Twitch revoke the
 *                  subscription (notification_failures_exceeded)
 *   revocation   → hooks.on_revocation, 204
 */
#ifndef SEV_EVENTSUB_WEBHOOK_H
#define SEV_EVENTSUB_WEBHOOK_H

#include <stdint.h>

#include "http/server.h"
#include "ingest/ingest.h"

#define WEBHOOK_MAX_BODY (256 * 1024)
#define WEBHOOK_MAX_AGE_US (10LL * 60 * 1000000)

struct webhook_hooks {
    void (*on_verified)(void *arg, const char *subscription_id, const char *type);
    void (*on_revocation)(void *arg, const char *subscription_id, const char *type,
                          const char *reason);
    void *arg;
};

struct webhook_stats {
    uint64_t accepted;
    uint64_t duplicates;
    uint64_t challenges;
    uint64_t revocations;
    uint64_t rejected; /* 4xx answers */
    uint64_t skipped;  /* authentic notifications SEV could not use: 204, nothing stored */
};

struct webhook;

/* secret is copied. hooks may be NULL. */
struct webhook *webhook_new(struct ingest *ingest, const char *secret,
                            const struct webhook_hooks *hooks);
void webhook_free(struct webhook *wh);
void webhook_handle(struct webhook *wh, struct http_request *req);
void webhook_stats(const struct webhook *wh, struct webhook_stats *out);

#endif
