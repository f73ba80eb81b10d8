/* event: SEV's one model of "something happened on a streamer's channel".
 *
 * An EventSub notification (webhook body or WebSocket payload) is decoded once into a
 * struct event by a row of the EventSub type table (event_types.c): type, streamer,
 * viewer, time, a human summary, and the original event object. The same struct is what
 * the store keeps and what the hub sends, encoded once by event_encode_json().
 *
 * Ownership: every char * in struct event is owned by the event (event_free frees them);
 * `data` is one jansson reference owned by the event. Not thread-safe; an event may be
 * handed to another thread as a whole (the store's writer does).
 */
#ifndef SEV_EVENT_H
#define SEV_EVENT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

struct event {
    int64_t seq;            /* store sequence, assigned when stored; 0 before */
    char *id;               /* EventSub message id (or a SEV-made UUID for gap markers) */
    char *type;             /* subscription type, e.g. "channel.follow"; "sev.gap" for gap markers */
    char *dedupe_key;       /* the event's own id where it has one (e.g. redemption id), or NULL */
    char *streamer_id;      /* broadcaster user id, numeric string */
    char *streamer_login;   /* lower case */
    char *streamer_name;    /* display name, may equal login */
    char *viewer_id;        /* NULL when the event has no viewer (or anonymous) */
    char *viewer_login;     /* NULL likewise */
    char *viewer_name;      /* NULL likewise */
    int64_t created_at_us;  /* when it happened per Twitch (e.g. followed_at), else message time */
    char *summary;          /* human text, e.g. "Alice gifted 5 subs" */
    json_t *data;           /* owned: the original EventSub event object, as Twitch sent it */
};

/* Decodes one notification. `event_obj` is borrowed (the decoder takes its own reference).
 * `message_timestamp_us` is the Twitch-Eventsub-Message-Timestamp (or metadata) time.
 * Unknown types are decoded generically (streamer from broadcaster_user_*, summary
 * "<type> event"), never rejected. Returns 0 and *out (owned by the caller), or -1 with err
 * when the object lacks a broadcaster (every EventSub event names one). */
int event_decode(const char *message_id, const char *sub_type, int64_t message_timestamp_us,
                 json_t *event_obj, struct event **out, struct err *err);

/* Makes a "sev.gap" marker: a possible gap in the timeline of one streamer from..to. */
struct event *event_new_gap(const char *streamer_id, const char *streamer_login,
                            const char *streamer_name, int64_t from_us, int64_t to_us,
                            const char *reason);

void event_free(struct event *ev);

/* Appends the contract's event object to out:
 * {"id","type","streamer_login","viewer_login","viewer_name","created_at","summary","data"}
 * with viewer_* null where absent. Returns 0 or -1 (out of memory / over the buf cap). */
int event_encode_json(const struct event *ev, struct buf *out);

/* The table of EventSub types SEV knows (for the capability panel and the simulator tests). */
struct event_type_info {
    const char *type;
    const char *version;
    const char *label;        /* "Follows", "Raids", ... */
    const char *scope;        /* scope the condition's user must have granted, or NULL */
    int needs_broadcaster;    /* 1: needs the broadcaster's (or a moderator's) authorization */
};
const struct event_type_info *event_types(size_t *count);
const struct event_type_info *event_type_find(const char *type);

#endif
