/* fuzz_event: an EventSub notification body (webhook body or WebSocket payload) → struct
 * event → the event JSON the hub sends (event_decode_notification, event_encode_json).
 *
 * Input: [type][JSON body]. When the first byte names a row of the type table (byte %
 * (rows + 1); the extra value means "keep the body's own type"), subscription.type is set to
 * that row's type, so every decoder is reached from any body shape.
 * Checks beyond the sanitizers: a decoded event has what event.h promises (id, type,
 * streamer), and its encoding is a JSON object jansson reads back. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "event/event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t ntypes;
    const struct event_type_info *types = event_types(&ntypes);
    size_t pick = data[0] % (ntypes + 1);
    /* parsed as the webhook and the EventSub WebSocket parse (no JSON_ALLOW_NUL): a body
     * with "\u0000" never reaches the decoder there, and its encoding would not read back */
    json_t *body = json_loadb((const char *)data + 1, size - 1, 0, NULL);
    if (!body)
        return 0;
    if (pick < ntypes && json_is_object(body)) {
        json_t *sub = json_object_get(body, "subscription");
        if (json_is_object(sub))
            json_object_set_new(sub, "type", json_string(types[pick].type));
    }
    struct event *ev = NULL;
    struct err err = {0};
    if (event_decode_notification("fuzz-message-id", 1764000000000000LL, body, &ev, &err) == 0) {
        if (!ev || !ev->id || !ev->type || !ev->streamer_id || !ev->streamer_login || !ev->summary)
            abort();
        (void)event_worth_keeping(ev);
        struct buf out;
        buf_init(&out, 0);
        if (event_encode_json(ev, &out) == 0) {
            json_error_t jerr;
            json_t *back = json_loadb(out.data, out.len, 0, &jerr);
            if (!json_is_object(back))
                abort();
            json_decref(back);
        }
        buf_release(&out);
        event_free(ev);
    } else if (ev) {
        abort(); /* *out is NULL on failure */
    }
    json_decref(body);
    return 0;
}
