/* fuzz_event_json: event_json_parse (the webhook's one-pass JSON parse) against jansson.
 *
 * Input: any bytes, read as a webhook body. Checks beyond the sanitizers: whenever the fast
 * parser gives a tree, json_loadb gives the same one (equal, and the same compact dump, so
 * the same member order); whenever it gives the "event" member's text, that text is exactly
 * json_dumps(event, JSON_COMPACT | JSON_ENCODE_ANY) and holds no '<' or '>'. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "event/event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data, *slice = NULL;
    size_t slice_len = 0;
    json_t *fast = event_json_parse(text, size, "event", &slice, &slice_len);
    if (!fast) {
        if (slice)
            abort();
        return 0;
    }
    json_error_t jerr;
    json_t *slow = json_loadb(text, size, 0, &jerr);
    if (!slow || !json_equal(fast, slow))
        abort();
    char *a = json_dumps(fast, JSON_COMPACT), *b = json_dumps(slow, JSON_COMPACT);
    if (!a || !b || strcmp(a, b) != 0)
        abort();
    free(a);
    free(b);
    if (slice) {
        char *dump = json_dumps(json_object_get(slow, "event"), JSON_COMPACT | JSON_ENCODE_ANY);
        if (!dump || strlen(dump) != slice_len || memcmp(dump, slice, slice_len) != 0 ||
            memchr(slice, '<', slice_len) || memchr(slice, '>', slice_len))
            abort();
        free(dump);
    }
    json_decref(fast);
    json_decref(slow);
    return 0;
}
