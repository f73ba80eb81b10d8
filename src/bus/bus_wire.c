#include "bus/bus_wire.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

char *bus_wire_encode(const struct event *ev, size_t *len)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "seq", json_integer(ev->seq));
    json_object_set_new(o, "sseq", json_integer(ev->streamer_seq));
    json_object_set_new(o, "id", str_or_null(ev->id));
    json_object_set_new(o, "type", str_or_null(ev->type));
    json_object_set_new(o, "dkey", str_or_null(ev->dedupe_key));
    json_object_set_new(o, "sid", str_or_null(ev->streamer_id));
    json_object_set_new(o, "slogin", str_or_null(ev->streamer_login));
    json_object_set_new(o, "sname", str_or_null(ev->streamer_name));
    json_object_set_new(o, "vid", str_or_null(ev->viewer_id));
    json_object_set_new(o, "vlogin", str_or_null(ev->viewer_login));
    json_object_set_new(o, "vname", str_or_null(ev->viewer_name));
    json_object_set_new(o, "at", json_integer(ev->created_at_us));
    json_object_set_new(o, "summary", str_or_null(ev->summary));
    json_object_set(o, "data", ev->data ? ev->data : json_null());
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (s && len)
        *len = strlen(s);
    return s;
}

/* 0 and *out (owned copy or NULL for JSON null), -1 when the field is missing or not a
 * string (or null where allowed). */
static int take_str(json_t *o, const char *key, int nullable, char **out)
{
    json_t *v = json_object_get(o, key);
    *out = NULL;
    if (v && json_is_null(v) && nullable)
        return 0;
    if (!v || !json_is_string(v))
        return -1;
    *out = strdup(json_string_value(v));
    return *out ? 0 : -1;
}

struct event *bus_wire_decode(const char *msg, size_t len)
{
    json_t *o = json_loadb(msg, len, 0, NULL);
    if (!o)
        return NULL;
    struct event *ev = event_new();
    json_t *seq = json_object_get(o, "seq"), *sseq = json_object_get(o, "sseq");
    json_t *at = json_object_get(o, "at"), *data = json_object_get(o, "data");
    int bad = !ev || !json_is_object(o) || !json_is_integer(seq) || !json_is_integer(sseq) ||
              !json_is_integer(at) || !data;
    if (!bad) {
        ev->seq = json_integer_value(seq);
        ev->streamer_seq = json_integer_value(sseq);
        ev->created_at_us = json_integer_value(at);
        bad = take_str(o, "id", 0, &ev->id) < 0 || take_str(o, "type", 0, &ev->type) < 0 ||
              take_str(o, "dkey", 1, &ev->dedupe_key) < 0 ||
              take_str(o, "sid", 0, &ev->streamer_id) < 0 ||
              take_str(o, "slogin", 0, &ev->streamer_login) < 0 ||
              take_str(o, "sname", 1, &ev->streamer_name) < 0 ||
              take_str(o, "vid", 1, &ev->viewer_id) < 0 ||
              take_str(o, "vlogin", 1, &ev->viewer_login) < 0 ||
              take_str(o, "vname", 1, &ev->viewer_name) < 0 ||
              take_str(o, "summary", 1, &ev->summary) < 0;
        if (!bad && !json_is_null(data))
            ev->data = json_incref(data);
    }
    json_decref(o);
    if (bad) {
        event_free(ev);
        return NULL;
    }
    return ev;
}

struct event *bus_event_clone(const struct event *ev)
{
    size_t len;
    char *s = bus_wire_encode(ev, &len);
    if (!s)
        return NULL;
    struct event *copy = bus_wire_decode(s, len);
    free(s);
    return copy;
}
