/* fuzz_webhook: what the webhook checks before it trusts a body, as pure functions:
 * the signature (signature_compute / signature_verify) and the message timestamp
 * (clock_parse_rfc3339).
 *
 * Input: secret \n message-id \n timestamp \n signature-header \n body (the body is the rest,
 * any bytes). Checks beyond the sanitizers: verify accepts exactly the computed header (and
 * nothing else), and a parsed timestamp formats and parses back to itself at millisecond
 * precision. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "eventsub/signature.h"

/* Cuts the next '\n'-terminated field out of *p; NULL when there is none. */
static char *field(const uint8_t **p, const uint8_t *end)
{
    const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
    if (!nl)
        return NULL;
    size_t n = (size_t)(nl - *p);
    char *s = malloc(n + 1);
    memcpy(s, *p, n);
    s[n] = 0;
    *p = nl + 1;
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size;
    char *secret = field(&p, end), *id = NULL, *ts = NULL, *header = NULL;
    if (secret)
        id = field(&p, end);
    if (id)
        ts = field(&p, end);
    if (ts)
        header = field(&p, end);
    if (!header)
        goto out;
    const void *body = p;
    size_t body_len = (size_t)(end - p);

    char expected[72];
    if (signature_compute(secret, id, ts, body, body_len, expected) != 0)
        abort();
    if (strlen(expected) != 71 || strncmp(expected, "sha256=", 7) != 0)
        abort();
    if (signature_verify(secret, id, ts, body, body_len, expected) != 1)
        abort();
    int same = strcmp(header, expected) == 0;
    if (signature_verify(secret, id, ts, body, body_len, header) != same)
        abort();

    int64_t us;
    if (clock_parse_rfc3339(ts, &us) == 0 && us >= 0 && us < 253402300800000000LL) {
        char again[64];
        clock_format_rfc3339(us, again, sizeof again);
        int64_t us2;
        if (clock_parse_rfc3339(again, &us2) != 0 || us2 != us - us % 1000)
            abort();
    }
out:
    free(secret);
    free(id);
    free(ts);
    free(header);
    return 0;
}
