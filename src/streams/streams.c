#include "streams/streams.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/map.h"
#include "event/event.h"
#include "twitch/twitch.h"

struct waiter {
    streams_fn cb;
    void *arg;
    struct waiter *next;
};

struct entry {
    struct streams *owner; /* NULL once streams_free ran while Helix still had our call */
    char login[32];
    struct stream_status st;
    int64_t fetched_us;       /* monotonic time of the last Helix answer (or failure), 0 never */
    int64_t fetch_started_us; /* of the call in flight */
    int64_t live_event_us;    /* when an event last said online/offline */
    int64_t used_us;          /* last asked for */
    int fetching;             /* Helix calls in flight for this entry (streams, users) */
    int profile_asked;        /* Get Users was asked once (the picture rarely changes) */
    struct waiter *waiters; /* owned; answered in order of arrival */
    struct waiter **waiters_tail; /* where the next waiter goes (O(1) under a burst of askers) */
};

struct streams {
    struct twitch *twitch; /* borrowed; NULL: events only */
    int64_t ttl_us;
    struct map by_login; /* login -> struct entry (owned) */
};

struct streams *streams_new(struct twitch *twitch, int ttl_s)
{
    struct streams *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->twitch = twitch;
    s->ttl_us = (int64_t)(ttl_s > 0 ? ttl_s : 30) * 1000000;
    map_init(&s->by_login);
    return s;
}

static void answer_waiters(struct entry *e)
{
    struct waiter *w = e->waiters;
    e->waiters = NULL;
    while (w) {
        struct waiter *next = w->next;
        w->cb(w->arg, &e->st);
        free(w);
        w = next;
    }
}

void streams_free(struct streams *s)
{
    if (!s)
        return;
    const char *key;
    void *value;
    for (size_t i = 0; map_next(&s->by_login, &i, &key, &value);) {
        struct entry *e = value;
        answer_waiters(e);
        if (e->fetching)
            e->owner = NULL; /* the Helix callback frees it */
        else
            free(e);
    }
    map_release(&s->by_login);
    free(s);
}

/* Keeps the map bounded: drops entries nobody asked for within a ttl. */
static void sweep(struct streams *s, int64_t now)
{
    const char *key;
    void *value;
    size_t n = 0;
    char(*stale)[32] = calloc(s->by_login.count, sizeof *stale);
    if (!stale)
        return;
    for (size_t i = 0; map_next(&s->by_login, &i, &key, &value);) {
        struct entry *e = value;
        if (!e->fetching && !e->waiters && now - e->used_us > s->ttl_us)
            snprintf(stale[n++], sizeof stale[0], "%s", key);
    }
    for (size_t i = 0; i < n; i++)
        free(map_remove(&s->by_login, stale[i]));
    free(stale);
    log_info("streams.swept", "dropped=%zu kept=%zu", n, s->by_login.count);
}

static struct entry *entry_for(struct streams *s, const char *login, int64_t now)
{
    struct entry *e = map_get(&s->by_login, login);
    if (e)
        return e;
    if (strlen(login) >= sizeof e->login)
        return NULL;
    if (s->by_login.count >= STREAMS_MAX)
        sweep(s, now);
    if (s->by_login.count >= STREAMS_MAX)
        return NULL;
    e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->owner = s;
    snprintf(e->login, sizeof e->login, "%s", login);
    e->st.viewer_count = -1;
    e->used_us = now;
    if (map_put(&s->by_login, login, e) < 0) {
        free(e);
        return NULL;
    }
    return e;
}

/* An answer for an entry whose streams_free already ran: the last one frees it. 1 when e was
 * such an orphan (do not touch it any more). */
static int orphan_answered(struct entry *e)
{
    if (e->owner)
        return 0;
    if (--e->fetching == 0)
        free(e);
    return 1;
}

/* One answer of an owned entry is in: the last one answers the waiters. */
static void call_done(struct entry *e)
{
    if (--e->fetching == 0)
        answer_waiters(e);
}

static void on_users(void *arg, const struct twitch_result *r, const struct twitch_user *users,
                     size_t n)
{
    struct entry *e = arg;
    if (orphan_answered(e))
        return;
    if (twitch_ok(r) && n > 0)
        snprintf(e->st.profile_image_url, sizeof e->st.profile_image_url, "%s",
                 users[0].profile_image_url);
    call_done(e);
}

static void on_streams(void *arg, const struct twitch_result *r, const struct twitch_stream *list,
                       size_t n)
{
    struct entry *e = arg;
    if (orphan_answered(e))
        return;
    e->fetched_us = clock_mono_us(); /* failures are remembered too: Helix is not hammered */
    /* an online/offline event newer than our question beats Helix, which lags a little */
    int event_newer = e->live_event_us > e->fetch_started_us;
    if (!twitch_ok(r)) {
        log_warn("streams.helix_failed", "streamer=%s status=%d message=\"%.120s\"", e->login,
                 r->status, r->message);
    } else if (n > 0 && (!event_newer || e->st.live)) {
        e->st.known = e->st.live = 1;
        snprintf(e->st.title, sizeof e->st.title, "%s", list[0].title);
        snprintf(e->st.game_name, sizeof e->st.game_name, "%s", list[0].game_name);
        snprintf(e->st.started_at, sizeof e->st.started_at, "%s", list[0].started_at);
        e->st.viewer_count = list[0].viewer_count;
    } else if (n == 0 && !event_newer) {
        e->st.known = 1;
        e->st.live = 0;
        e->st.started_at[0] = '\0';
        e->st.viewer_count = -1;
    }
    call_done(e);
}

int streams_get(struct streams *s, const char *login, streams_fn cb, void *arg)
{
    int64_t now = clock_mono_us();
    struct entry *e = entry_for(s, login, now);
    if (!e) { /* full or out of memory: answer "unknown" rather than fail the page */
        struct stream_status unknown = {.viewer_count = -1};
        cb(arg, &unknown);
        return 0;
    }
    e->used_us = now;
    int fresh = e->fetched_us && now - e->fetched_us < s->ttl_us;
    if (!s->twitch || (fresh && !e->fetching)) {
        cb(arg, &e->st);
        return 0;
    }
    struct waiter *w = malloc(sizeof *w);
    if (!w)
        return -1;
    w->cb = cb;
    w->arg = arg;
    w->next = NULL;
    if (!e->waiters)
        e->waiters_tail = &e->waiters;
    *e->waiters_tail = w;
    e->waiters_tail = &w->next;
    if (e->fetching)
        return 0;
    e->fetch_started_us = now;
    const char *logins[1] = {e->login};
    e->fetching = 1; /* held while the calls start: an answer inside a call cannot finish us */
    if (twitch_get_streams(s->twitch, NULL, NULL, 0, logins, 1, on_streams, e) == 0)
        e->fetching++;
    else
        e->fetched_us = now;
    if (!e->profile_asked) {
        e->profile_asked = 1;
        if (twitch_get_users(s->twitch, NULL, NULL, 0, logins, 1, on_users, e) == 0)
            e->fetching++;
    }
    call_done(e);
    return 0;
}

static void copy_field(char *dst, size_t size, json_t *obj, const char *key)
{
    const char *v = json_string_value(json_object_get(obj, key));
    if (v)
        snprintf(dst, size, "%s", v);
}

void streams_on_event(struct streams *s, const struct event *ev)
{
    if (!s || !ev->streamer_login)
        return;
    int online = strcmp(ev->type, "stream.online") == 0;
    int offline = strcmp(ev->type, "stream.offline") == 0;
    int update = strcmp(ev->type, "channel.update") == 0;
    if (!online && !offline && !update)
        return;
    int64_t now = clock_mono_us();
    struct entry *e = entry_for(s, ev->streamer_login, now);
    if (!e)
        return;
    if (online || offline) {
        e->live_event_us = now;
        e->st.known = 1;
        e->st.live = online;
        e->st.viewer_count = online ? 0 : -1;
        e->st.started_at[0] = '\0';
        if (online)
            e->fetched_us = 0; /* the next asker learns title and viewers from Helix */
        if (online)
            copy_field(e->st.started_at, sizeof e->st.started_at, ev->data, "started_at");
    } else {
        copy_field(e->st.title, sizeof e->st.title, ev->data, "title");
        copy_field(e->st.game_name, sizeof e->st.game_name, ev->data, "category_name");
    }
}
