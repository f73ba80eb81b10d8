/* streams: whether a streamer is live now, with title, game and viewer count.
 *
 * The streamer page asks on every load, so answers come from memory: Helix Get Streams (app
 * token) is asked at most once per login per ttl, and concurrent askers of one login share
 * one call. EventSub events keep the answer fresh between calls (stream.online/offline flip
 * it at once, channel.update changes title and game). Without a Twitch client only the events
 * tell; until one arrives the status is unknown.
 *
 * Memory: one small entry per login ever asked about or seen in an event, capped
 * (STREAMS_MAX); the oldest unrequested entries go first.
 */
#ifndef SEV_STREAMS_STREAMS_H
#define SEV_STREAMS_STREAMS_H

#include <stdint.h>

struct streams;
struct twitch;
struct event;

#define STREAMS_MAX 100000

struct stream_status {
    int known;       /* 0: nobody has told us yet (no Twitch client, no event) */
    int live;        /* valid when known */
    char title[512]; /* "" when unknown; kept while offline if an event told it */
    char game_name[256];
    int64_t viewer_count; /* -1 unknown */
    char started_at[40];  /* RFC 3339, "" when offline or unknown */
    char profile_image_url[512]; /* the streamer's picture (Get Users), "" unknown */
};

/* st is borrowed for the call. */
typedef void (*streams_fn)(void *arg, const struct stream_status *st);

/* twitch may be NULL (events only). ttl_s: how long a Helix answer is trusted. */
struct streams *streams_new(struct twitch *twitch, int ttl_s);
/* Callers still waiting are answered with what is known. Free it after the Twitch client (whose
 * free cancels our calls) or before any call is in flight. */
void streams_free(struct streams *s);

/* The status of login (lower case); cb runs inside this call when the cached answer is fresh,
 * else once Helix answers (or fails: then with what is known). Returns 0, or -1 when out of
 * memory (cb never runs). */
int streams_get(struct streams *s, const char *login, streams_fn cb, void *arg);

/* Learns from an event that was just stored (stream.online/offline, channel.update). */
void streams_on_event(struct streams *s, const struct event *ev);

#endif
