/* signature: EventSub webhook message signatures.
 *   expected = "sha256=" + hex(HMAC-SHA256(secret, message_id + timestamp + raw_body))
 * compared in constant time. */
#ifndef SEV_EVENTSUB_SIGNATURE_H
#define SEV_EVENTSUB_SIGNATURE_H

#include <stddef.h>

/* Writes "sha256=<64 hex>" (72 bytes with NUL) into out. Returns 0 or -1. */
int signature_compute(const char *secret, const char *message_id, const char *timestamp,
                      const void *body, size_t body_len, char out[72]);

/* 1 when header equals the expected signature (constant time in the signature bytes), else 0. */
int signature_verify(const char *secret, const char *message_id, const char *timestamp,
                     const void *body, size_t body_len, const char *header);

#endif
