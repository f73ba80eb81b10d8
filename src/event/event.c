/* struct event: lifecycle, the decode pipeline, gap markers and the contract's JSON. */
#include "event/event_int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/rand.h"

#define SUMMARY_MAX 4096 /* bytes; decoders clip what they quote, so this is never reached */

struct event *event_new(void)
{
    return calloc(1, sizeof(struct event));
}

void event_free(struct event *ev)
{
    if (!ev)
        return;
    free(ev->id);
    free(ev->type);
    free(ev->dedupe_key);
    free(ev->streamer_id);
    free(ev->streamer_login);
    free(ev->streamer_name);
    free(ev->viewer_id);
    free(ev->viewer_login);
    free(ev->viewer_name);
    free(ev->summary);
    json_decref(ev->data);
    free(ev->data_json);
    free(ev);
}

/* --- decoding --- */

static void decoding_release(struct event_decoding *d)
{
    for (int i = 0; i < d->nscratch; i++)
        free(d->scratch[i]);
    d->nscratch = 0;
    buf_release(&d->summary);
}

static int run_decoder(struct event_decoding *d)
{
    json_t *obj = d->obj;
    if ((json_object_get(obj, "broadcaster_user_login") ||
         json_object_get(obj, "broadcaster_user_id")) &&
        decoding_streamer(d, obj, "broadcaster_user") < 0)
        return -1;
    if (event_type_decoder(d->type)(d) < 0)
        return -1;
    if (d->oom) /* before judging the content: a failed copy is not a missing field */
        return err_set(d->err, "%.64s event: out of memory", d->type);
    if (!d->ev->streamer_login)
        return err_set(d->err, "%.64s event names no broadcaster", d->type);
    return 0;
}

static char *dedupe_key_new(const struct event_decoding *d)
{
    struct buf key;
    buf_init(&key, 0);
    if (buf_printf(&key, "%s:%s:%s", d->dedupe_type ? d->dedupe_type : d->ev->type,
                   d->ev->streamer_id, d->dedupe_id) < 0) {
        buf_release(&key);
        return NULL;
    }
    char *clean = text_clean_dup(key.data, 3 * EVENT_ID_MAX);
    buf_release(&key);
    return clean;
}

/* The parts every decoder leaves to the pipeline: dedupe key, summary, allocation check. */
static int finish_event(struct event_decoding *d)
{
    struct event *ev = d->ev;
    if (d->dedupe_id && !(ev->dedupe_key = dedupe_key_new(d)))
        d->oom = 1;
    if (d->summary.len == 0)
        decoding_say(d, "%s event", decoding_clip(d, ev->type, EVENT_TEXT_CLIP));
    if (!d->oom && !(ev->summary = buf_detach(&d->summary, NULL)))
        d->oom = 1;
    if (d->oom || !ev->id || !ev->type)
        return err_set(d->err, "%.64s event: out of memory", d->type);
    return 0;
}

int event_decode_with_condition(const char *message_id, const char *sub_type,
                                int64_t message_timestamp_us, json_t *event_obj, json_t *condition,
                                struct event **out, struct err *err)
{
    *out = NULL;
    if (!message_id || !*message_id)
        return err_set(err, "EventSub notification without a message id");
    if (!sub_type || !*sub_type)
        return err_set(err, "EventSub notification without a subscription type");
    if (!json_is_object(event_obj))
        return err_set(err, "%.64s notification: event is not a JSON object", sub_type);
    struct event_decoding d = {
        .type = sub_type,
        .obj = event_obj,
        .condition = json_is_object(condition) ? condition : NULL,
        .err = err,
    };
    buf_init(&d.summary, SUMMARY_MAX);
    if (!(d.ev = event_new())) {
        err_set(err, "%.64s event: out of memory", sub_type);
        return EVENT_ENOMEM;
    }
    d.ev->id = text_clean_dup(message_id, EVENT_ID_MAX);
    d.ev->type = text_clean_dup(sub_type, EVENT_ID_MAX);
    d.ev->created_at_us = message_timestamp_us;
    d.ev->data = json_incref(event_obj);
    if (!d.ev->id || !d.ev->type)
        d.oom = 1;
    int rc = run_decoder(&d);
    if (rc == 0)
        rc = finish_event(&d);
    decoding_release(&d);
    if (rc < 0) {
        if (d.oom) /* whatever a decoder said after an allocation failed */
            err_set(err, "%.64s event: out of memory", sub_type);
        event_free(d.ev);
        return d.oom ? EVENT_ENOMEM : -1;
    }
    *out = d.ev;
    return 0;
}

int event_decode(const char *message_id, const char *sub_type, int64_t message_timestamp_us,
                 json_t *event_obj, struct event **out, struct err *err)
{
    return event_decode_with_condition(message_id, sub_type, message_timestamp_us, event_obj, NULL,
                                       out, err);
}

int event_decode_notification(const char *message_id, int64_t message_timestamp_us, json_t *body,
                              struct event **out, struct err *err)
{
    *out = NULL;
    json_t *subscription = field_obj(body, "subscription");
    const char *type = field_str(subscription, "type");
    if (!type)
        return err_set(err, "EventSub notification without subscription.type");
    json_t *event_obj = json_object_get(body, "event");
    if (!event_obj)
        return err_set(err, "%.64s notification without an event", type);
    return event_decode_with_condition(message_id, type, message_timestamp_us, event_obj,
                                       field_obj(subscription, "condition"), out, err);
}

/* --- gap markers --- */

static void format_clock(int64_t wall_us, int with_date, char *out, size_t size)
{
    time_t secs = (time_t)(wall_us / 1000000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(out, size, with_date ? "%Y-%m-%d %H:%M:%S" : "%H:%M:%S", &tm);
}

static int same_utc_day(int64_t a_us, int64_t b_us)
{
    const int64_t day_us = INT64_C(86400000000);
    return a_us / day_us == b_us / day_us;
}

static char *gap_summary(int64_t from_us, int64_t to_us, const char *reason /* clean */)
{
    char from[32], to[32];
    int with_date = !same_utc_day(from_us, to_us);
    format_clock(from_us, with_date, from, sizeof from);
    format_clock(to_us, with_date, to, sizeof to);
    struct buf b;
    buf_init(&b, SUMMARY_MAX);
    int rc = buf_printf(&b, "Possible gap in events from %s to %s UTC", from, to);
    if (rc == 0 && reason && *reason) {
        rc = buf_puts(&b, " (");
        rc = rc < 0 ? rc : text_clip(&b, reason, EVENT_TEXT_CLIP);
        rc = rc < 0 ? rc : buf_puts(&b, ")");
    }
    if (rc < 0) {
        buf_release(&b);
        return NULL;
    }
    return buf_detach(&b, NULL);
}

static json_t *gap_data(int64_t from_us, int64_t to_us, const char *reason /* clean */)
{
    char from[40], to[40];
    clock_format_rfc3339(from_us, from, sizeof from);
    clock_format_rfc3339(to_us, to, sizeof to);
    return json_pack("{s:s, s:s, s:s?}", "from", from, "to", to, "reason", reason);
}

struct event *event_new_gap(const char *streamer_id, const char *streamer_login,
                            const char *streamer_name, int64_t from_us, int64_t to_us,
                            const char *reason)
{
    char uuid[37];
    if (!streamer_login || !*streamer_login || rand_uuid(uuid) < 0)
        return NULL;
    from_us = from_us < 0 ? 0 : from_us;
    to_us = to_us < from_us ? from_us : to_us;
    struct event *ev = event_new();
    char *clean_reason = text_clean_dup(reason, EVENT_ID_MAX); /* owned */
    if (!ev || (reason && !clean_reason))
        goto fail;
    ev->id = strdup(uuid);
    ev->type = strdup("sev.gap");
    ev->streamer_id = text_clean_dup(streamer_id ? streamer_id : "", EVENT_ID_MAX);
    ev->streamer_login = text_clean_dup(streamer_login, EVENT_ID_MAX);
    /* "" when the caller does not know it: the store and the hub keep the name they have */
    ev->streamer_name = text_clean_dup(streamer_name ? streamer_name : "", EVENT_ID_MAX);
    ev->created_at_us = from_us;
    ev->summary = gap_summary(from_us, to_us, clean_reason);
    ev->data = gap_data(from_us, to_us, clean_reason);
    if (!ev->id || !ev->type || !ev->streamer_id || !ev->streamer_login || !ev->streamer_name ||
        !ev->summary || !ev->data)
        goto fail;
    for (char *p = ev->streamer_login; *p; p++)
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
    free(clean_reason);
    return ev;
fail:
    free(clean_reason);
    event_free(ev);
    return NULL;
}

/* --- encoding --- */

/* jansson hands the dump over in chunks. '<' and '>' can only occur inside JSON strings, so
 * escaping them byte for byte keeps the JSON valid and makes it safe inside HTML. */
static int append_html_safe(const char *chunk, size_t size, void *arg /* struct buf * */)
{
    struct buf *out = arg;
    size_t run = 0;
    for (size_t i = 0; i < size; i++) {
        if (chunk[i] != '<' && chunk[i] != '>')
            continue;
        const char *esc = chunk[i] == '<' ? "\\u003c" : "\\u003e";
        if (buf_append(out, chunk + run, i - run) < 0 || buf_append(out, esc, 6) < 0)
            return -1;
        run = i + 1;
    }
    return buf_append(out, chunk + run, size - run);
}

static int dump_json(json_t *json, struct buf *out)
{
    size_t mark = out->len;
    if (json_dump_callback(json, append_html_safe, out, JSON_COMPACT | JSON_ENCODE_ANY) == 0)
        return 0;
    out->len = mark;
    if (out->data)
        out->data[mark] = 0;
    return -1;
}

#define CLEAN_DEPTH_MAX 512

/* A copy of v with invalid UTF-8 in strings and keys replaced (slow path, rare: only a json_t
 * built with the _nocheck functions can hold such strings). NULL when out of memory. */
static json_t *clean_copy(json_t *v, int depth)
{
    if (depth > CLEAN_DEPTH_MAX)
        return json_null();
    if (json_is_string(v)) {
        char *s = text_clean_dup(json_string_value(v), (size_t)-1);
        json_t *copy = s ? json_string(s) : NULL;
        free(s);
        return copy;
    }
    json_t *copy = json_is_object(v) ? json_object() : json_is_array(v) ? json_array() : NULL;
    if (!copy)
        return json_incref(v);
    const char *key;
    json_t *item;
    size_t i;
    int rc = 0;
    if (json_is_object(v)) {
        json_object_foreach(v, key, item)
        {
            char *clean_key = text_clean_dup(key, (size_t)-1);
            rc |=
                clean_key ? json_object_set_new(copy, clean_key, clean_copy(item, depth + 1)) : -1;
            free(clean_key);
        }
    } else {
        json_array_foreach(v, i, item) rc |=
            json_array_append_new(copy, clean_copy(item, depth + 1));
    }
    if (rc) {
        json_decref(copy);
        return NULL;
    }
    return copy;
}

static int encode_data(json_t *data, struct buf *out)
{
    if (!data)
        return buf_append(out, "{}", 2);
    if (dump_json(data, out) == 0)
        return 0;
    json_t *clean = clean_copy(data, 0); /* owned */
    int rc = clean ? dump_json(clean, out) : -1;
    json_decref(clean);
    return rc;
}

int event_encode_json(const struct event *ev, struct buf *out)
{
    char when[40];
    clock_format_rfc3339(ev->created_at_us < 0 ? 0 : ev->created_at_us, when, sizeof when);
    const struct {
        const char *key; /* with the separator before it */
        const char *value;
    } fields[] = {
        {"{\"id\":", ev->id},
        {",\"type\":", ev->type},
        {",\"streamer_login\":", ev->streamer_login},
        {",\"viewer_login\":", ev->viewer_login},
        {",\"viewer_name\":", ev->viewer_name},
        {",\"created_at\":", when},
        {",\"summary\":", ev->summary},
    };
    size_t mark = out->len, guess = 128 + (ev->data_json ? strlen(ev->data_json) : 256);
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        guess += fields[i].value ? strlen(fields[i].value) + 8 : 4;
    (void)buf_reserve(out, guess); /* a hint: one allocation, not a doubling per field; every
                                      append below still checks the cap */
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (buf_puts(out, fields[i].key) < 0 || text_json_string(out, fields[i].value) < 0)
            goto undo;
    if (buf_puts(out, ",\"data\":") < 0 ||
        (ev->data_json ? buf_puts(out, ev->data_json) : encode_data(ev->data, out)) < 0 ||
        buf_append(out, "}", 1) < 0)
        goto undo;
    return 0;
undo:
    out->len = mark;
    if (out->data)
        out->data[mark] = 0;
    return -1;
}

int event_worth_keeping(const struct event *ev)
{
    if (!ev->type || strcmp(ev->type, "channel.chat.message") != 0)
        return 1;
    json_t *bits = json_object_get(json_object_get(ev->data, "cheer"), "bits");
    return json_is_integer(bits) && json_integer_value(bits) > 0;
}
