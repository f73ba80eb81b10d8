#include "eventsub/backfill.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/err.h"
#include "base/log.h"

/* Helix times have whole seconds: compare in seconds, or what happened in the gap's first
 * second would look older than the gap */
static int before_since(int64_t at_us, int64_t since_us)
{
    return at_us / 1000000 < since_us / 1000000;
}

static const char *str_at(json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s && *s ? s : NULL;
}

/* Decodes obj (stolen) as sub_type under a message id made from what identifies it, so a
 * second backfill of the same thing is a duplicate at the store. */
static struct event *decode_made(const char *message_id, const char *sub_type, json_t *obj,
                                 int keep_name)
{
    struct event *ev = NULL;
    struct err err = {{0}};
    if (!obj || event_decode(message_id, sub_type, clock_wall_us(), obj, &ev, &err) < 0) {
        log_warn("eventsub.backfill_bad", "type=%s error=\"%s\"", sub_type,
                 obj ? err.msg : "out of memory");
        json_decref(obj);
        return NULL;
    }
    json_decref(obj);
    if (!keep_name && ev->streamer_name) { /* Helix did not say it: the store keeps its own */
        ev->streamer_name[0] = '\0';
    }
    return ev;
}

struct event *backfill_stream_online(json_t *body, const char *streamer_id, int64_t since_us)
{
    json_t *s = json_array_get(json_object_get(body, "data"), 0);
    const char *id = str_at(s, "id"), *user_id = str_at(s, "user_id"),
               *login = str_at(s, "user_login"), *started = str_at(s, "started_at");
    int64_t started_us;
    if (!id || !user_id || !login || !started || strcmp(user_id, streamer_id) != 0 ||
        clock_parse_rfc3339(started, &started_us) < 0 || before_since(started_us, since_us))
        return NULL;
    const char *type = json_string_value(json_object_get(s, "type"));
    if (type && strcmp(type, "live") != 0)
        return NULL; /* Helix says "" when the stream ended a moment ago */
    char mid[160];
    snprintf(mid, sizeof mid, "helix-stream-%.120s", id);
    const char *name = str_at(s, "user_name");
    json_t *obj = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "id", id, "broadcaster_user_id",
                            user_id, "broadcaster_user_login", login, "broadcaster_user_name",
                            name ? name : login, "type", "live", "started_at", started);
    return decode_made(mid, "stream.online", obj, name != NULL);
}

size_t backfill_follows(json_t *body, const char *streamer_id, const char *login, int64_t since_us,
                        struct event **out, size_t max)
{
    json_t *data = json_object_get(body, "data");
    size_t n = 0;
    /* Helix lists newest first; the events go out oldest first */
    for (size_t i = json_array_size(data); i-- > 0 && n < max;) {
        json_t *f = json_array_get(data, i);
        const char *uid = str_at(f, "user_id"), *ulogin = str_at(f, "user_login"),
                   *when = str_at(f, "followed_at");
        int64_t when_us;
        if (!uid || !ulogin || !when || clock_parse_rfc3339(when, &when_us) < 0 ||
            before_since(when_us, since_us))
            continue;
        const char *uname = str_at(f, "user_name");
        char mid[200];
        snprintf(mid, sizeof mid, "helix-follow-%.30s-%.30s-%lld", streamer_id, uid,
                 (long long)(when_us / 1000000));
        json_t *obj = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "user_id", uid, "user_login",
                                ulogin, "user_name", uname ? uname : ulogin, "broadcaster_user_id",
                                streamer_id, "broadcaster_user_login", login, "followed_at", when);
        struct event *ev = decode_made(mid, "channel.follow", obj, 0);
        if (ev)
            out[n++] = ev;
    }
    return n;
}
