/* eventsub/backfill: what Helix can tell about a streamer's recent past, as events.
 *
 * EventSub cannot replay. Where Helix knows what happened, SEV stores it the way EventSub would
 * have told it, so a streamer's page is not empty on first view and a gap is filled where it
 * can be: the stream that is live now (Get Streams: the stream id is the id stream.online
 * carries) and the latest followers when the broadcaster consented (Get Channel Followers
 * with moderator:read:followers). The events are keyed like EventSub's (stream id; follower and
 * whole second), so what arrives both ways is stored once.
 *
 * Pure: the subscription manager makes the Helix calls and hands the answers here.
 */
#ifndef SEV_EVENTSUB_BACKFILL_H
#define SEV_EVENTSUB_BACKFILL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "event/event.h"

#define BACKFILL_FOLLOWS 20 /* latest followers asked for on first view */

/* A Get Streams answer (body borrowed) → a stream.online event (owned) when the streamer is
 * live and the stream started at or after since_us; NULL otherwise. */
struct event *backfill_stream_online(json_t *body, const char *streamer_id, int64_t since_us);

/* A Get Channel Followers answer → channel.follow events (owned, oldest first) of follows at or
 * after since_us; at most max. login is the broadcaster's. Returns how many were put in out. */
size_t backfill_follows(json_t *body, const char *streamer_id, const char *login, int64_t since_us,
                        struct event **out, size_t max);

#endif
