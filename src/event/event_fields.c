/* Type-checked access to EventSub fields, and the helpers decoders build an event with.
 * Twitch adds fields, sends null where documented and, in a few examples, numbers where
 * strings belong (and back): accessors look fields up by name and never trust the type. */
#include "event/event_int.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"

const char *field_str(json_t *obj, const char *key)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_string(v) ? json_string_value(v) : NULL;
}

const char *field_nonempty(json_t *obj, const char *key)
{
    const char *s = field_str(obj, key);
    return s && *s ? s : NULL;
}

json_t *field_obj(json_t *obj, const char *key)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_object(v) ? v : NULL;
}

json_t *field_array(json_t *obj, const char *key)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_array(v) ? v : NULL;
}

static int parse_decimal(const char *s, int64_t *out)
{
    if (!s || !*s || strlen(s) > 18) /* 18 digits cannot overflow int64_t */
        return -1;
    const char *p = s + (*s == '-');
    if (!*p)
        return -1;
    for (const char *q = p; *q; q++)
        if (!isdigit((unsigned char)*q))
            return -1;
    *out = strtoll(s, NULL, 10);
    return 0;
}

int field_int(json_t *obj, const char *key, int64_t *out)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return 0;
    }
    if (json_is_real(v)) {
        double x = json_real_value(v);
        if (!isfinite(x) || x != floor(x) || fabs(x) > 9e15)
            return -1;
        *out = (int64_t)x;
        return 0;
    }
    return json_is_string(v) ? parse_decimal(json_string_value(v), out) : -1;
}

int64_t field_int_or(json_t *obj, const char *key, int64_t dflt)
{
    int64_t v;
    return field_int(obj, key, &v) == 0 ? v : dflt;
}

int field_bool(json_t *obj, const char *key)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    if (json_is_string(v))
        return strcmp(json_string_value(v), "true") == 0;
    return json_is_true(v);
}

char *field_id_dup(json_t *obj, const char *key)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    if (json_is_string(v))
        return text_clean_dup(json_string_value(v), EVENT_ID_MAX);
    if (json_is_integer(v)) {
        char num[32];
        snprintf(num, sizeof num, "%" PRId64, (int64_t)json_integer_value(v));
        return strdup(num);
    }
    return NULL;
}

/* "<prefix>_<suffix>" of obj, a non-empty string, or NULL. */
static const char *prefixed_str(json_t *obj, const char *prefix, const char *suffix)
{
    char key[64];
    snprintf(key, sizeof key, "%s_%s", prefix, suffix);
    return field_nonempty(obj, key);
}

static char *prefixed_id_dup(json_t *obj, const char *prefix)
{
    char key[64];
    snprintf(key, sizeof key, "%s_id", prefix);
    return field_id_dup(obj, key);
}

/* 1 when "<prefix>_id" is a string or an integer (what prefixed_id_dup copies). */
static int prefixed_has_id(json_t *obj, const char *prefix)
{
    char key[64];
    snprintf(key, sizeof key, "%s_id", prefix);
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_string(v) || json_is_integer(v);
}

static void set_owned(char **slot, char *value)
{
    free(*slot);
    *slot = value;
}

static void lower_ascii(char *s)
{
    for (; s && *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

int decoding_streamer(struct event_decoding *d, json_t *obj, const char *prefix)
{
    const char *login = prefixed_str(obj, prefix, "login");
    if (!login)
        return err_set(d->err, "%.64s event: no %s_login", d->type, prefix);
    if (strlen(login) > EVENT_LOGIN_MAX)
        return err_set(d->err, "%.64s event: %s_login is not a Twitch login", d->type, prefix);
    char *id = prefixed_id_dup(obj, prefix);
    if (!id && prefixed_has_id(obj, prefix)) { /* there is one: its copy failed */
        d->oom = 1;
        return err_set(d->err, "%.64s event: out of memory", d->type);
    }
    if (!id || !*id || strlen(id) > EVENT_LOGIN_MAX) {
        free(id);
        return err_set(d->err, "%.64s event: no usable %s_id", d->type, prefix);
    }
    const char *name = prefixed_str(obj, prefix, "name");
    set_owned(&d->ev->streamer_id, id);
    set_owned(&d->ev->streamer_login, text_clean_dup(login, EVENT_ID_MAX));
    set_owned(&d->ev->streamer_name, text_clean_dup(name ? name : login, EVENT_ID_MAX));
    lower_ascii(d->ev->streamer_login);
    if (!d->ev->streamer_login || !d->ev->streamer_name)
        d->oom = 1;
    return 0;
}

void decoding_clear_viewer(struct event_decoding *d)
{
    set_owned(&d->ev->viewer_id, NULL);
    set_owned(&d->ev->viewer_login, NULL);
    set_owned(&d->ev->viewer_name, NULL);
}

int decoding_viewer(struct event_decoding *d, json_t *obj, const char *prefix)
{
    const char *login = prefixed_str(obj, prefix, "login");
    const char *name = prefixed_str(obj, prefix, "name");
    if (!login && !name)
        return 0;
    decoding_clear_viewer(d);
    d->ev->viewer_id = prefixed_id_dup(obj, prefix);
    d->ev->viewer_login = login ? text_clean_dup(login, EVENT_ID_MAX) : NULL;
    d->ev->viewer_name = text_clean_dup(name ? name : login, EVENT_ID_MAX);
    lower_ascii(d->ev->viewer_login);
    if ((login && !d->ev->viewer_login) || !d->ev->viewer_name)
        d->oom = 1;
    return 1;
}

void decoding_time(struct event_decoding *d, const char *field)
{
    int64_t us;
    const char *s = field_str(d->obj, field);
    /* before 1970 or after 9999 is not a time Twitch sends: keep the message time */
    if (s && clock_parse_rfc3339(s, &us) == 0 && us >= 0 && us < INT64_C(253402300800000000))
        d->ev->created_at_us = us;
}

void decoding_dedupe(struct event_decoding *d, const char *field)
{
    json_t *v = json_object_get(d->obj, field);
    if (json_is_string(v) && *json_string_value(v))
        d->dedupe_id = json_string_value(v);
}

void decoding_dedupe_who_when(struct event_decoding *d, const char *who, const char *when)
{
    const char *id = field_nonempty(d->obj, who), *t = field_str(d->obj, when);
    int64_t us;
    if (!id || !t || clock_parse_rfc3339(t, &us) < 0)
        return;
    if (d->nscratch == EVENT_SCRATCH_MAX) {
        d->oom = 1;
        return;
    }
    struct buf key;
    buf_init(&key, 0);
    /* whole seconds: Helix says 2026-11-22T10:00:00Z where EventSub says …:00.123456789Z */
    if (buf_printf(&key, "%.*s@%lld", EVENT_ID_MAX / 2, id, (long long)(us / 1000000)) < 0) {
        buf_release(&key);
        d->oom = 1;
        return;
    }
    d->dedupe_id = d->scratch[d->nscratch++] = buf_detach(&key, NULL);
}

const char *decoding_clip(struct event_decoding *d, const char *s, size_t max_cp)
{
    if (!s)
        return NULL;
    if (d->nscratch == EVENT_SCRATCH_MAX) {
        d->oom = 1; /* a decoder bug: it asked for more than it may hold */
        return "";
    }
    struct buf b;
    buf_init(&b, 0);
    if (text_clip(&b, s, max_cp) < 0) {
        buf_release(&b);
        d->oom = 1;
        return "";
    }
    return d->scratch[d->nscratch++] = buf_detach(&b, NULL);
}

const char *decoding_viewer_label(struct event_decoding *d, const char *fallback)
{
    const char *who = d->ev->viewer_name ? d->ev->viewer_name : d->ev->viewer_login;
    return who ? decoding_clip(d, who, EVENT_NAME_CLIP) : fallback;
}

int decoding_say(struct event_decoding *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (buf_vprintf(&d->summary, fmt, ap) < 0)
        d->oom = 1;
    va_end(ap);
    return 0;
}

int decoding_say_text(struct event_decoding *d, const char *text)
{
    const char *clipped = decoding_clip(d, text, EVENT_TEXT_CLIP);
    if (clipped && *clipped)
        decoding_say(d, ": %s", clipped);
    return 0;
}

void decoding_dedupe_cheer(struct event_decoding *d, int64_t bits, const char *text)
{
    if (d->nscratch == EVENT_SCRATCH_MAX) {
        d->oom = 1;
        return;
    }
    uint32_t h = 2166136261u; /* FNV-1a over the message text */
    for (const unsigned char *p = (const unsigned char *)(text ? text : ""); *p; p++)
        h = (h ^ *p) * 16777619u;
    const char *who = d->ev->viewer_id ? d->ev->viewer_id : "anonymous";
    int64_t slot = d->ev->created_at_us / (EVENT_CHEER_WINDOW_S * 1000000);
    struct buf key;
    buf_init(&key, 0);
    if (buf_printf(&key, "%.*s/%lld/%08x@%lld", EVENT_ID_MAX / 2, who, (long long)bits, (unsigned)h,
                   (long long)slot) < 0) {
        buf_release(&key);
        d->oom = 1;
        return;
    }
    d->dedupe_id = d->scratch[d->nscratch++] = buf_detach(&key, NULL);
    d->dedupe_type = "channel.cheer";
}

const char *decoding_viewer_from(struct event_decoding *d, const char *prefix, const char *fallback)
{
    decoding_viewer(d, d->obj, prefix);
    return decoding_viewer_label(d, fallback);
}

const char *decoding_title(struct event_decoding *d, json_t *obj, const char *key)
{
    const char *title = decoding_clip(d, field_str(obj, key), EVENT_TEXT_CLIP);
    return title && *title ? title : "(untitled)";
}

const char *field_message_text(json_t *obj)
{
    return field_str(field_obj(obj, "message"), "text");
}
