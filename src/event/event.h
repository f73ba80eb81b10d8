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
    int64_t seq;           /* store sequence, assigned when stored; 0 before */
    int64_t streamer_seq; /* per-streamer, dense from 1, in commit order; set by the store on
                             STORE_STORED and, on STORE_DUPLICATE, the stored event's */
    char *id;              /* EventSub message id (or a SEV-made UUID for gap markers) */
    char *type;            /* subscription type, e.g. "channel.follow"; "sev.gap" for gap markers */
    char *dedupe_key;      /* from the event's own id where it has one (e.g. redemption id), as
                              "<type>:<streamer_id>:<id>" (see event_decode_with_condition), or NULL */
    char *streamer_id;     /* broadcaster user id, numeric string */
    char *streamer_login;  /* lower case */
    char *streamer_name;   /* display name, may equal login; "" when not known (SEV-made) */
    char *viewer_id;       /* NULL when the event has no viewer (or anonymous) */
    char *viewer_login;    /* NULL likewise */
    char *viewer_name;     /* NULL likewise */
    int64_t created_at_us; /* when it happened per Twitch (e.g. followed_at), else message time */
    char *summary;         /* human text, e.g. "Alice gifted 5 subs" */
    json_t *data;          /* owned: the original EventSub event object, as Twitch sent it */
    char *data_json;       /* owned, or NULL: data as text, exactly what json_dumps(data,
                              JSON_COMPACT | JSON_ENCODE_ANY) writes and with no '<' or '>'
                              (so html-safe too), when the receiver had it (event_json_parse):
                              stored and sent as it is. NULL: encoded from data when needed.
                              Whoever changes data must free this and set it NULL. */
};

/* Decodes one notification. `event_obj` is borrowed (the decoder takes its own reference).
 * `message_timestamp_us` is the Twitch-Eventsub-Message-Timestamp (or metadata) time.
 * Unknown types are decoded generically (streamer from broadcaster_user_*, summary
 * "<type> event"), never rejected. Returns 0 and *out (owned by the caller), or -1 with err
 * when the object lacks a broadcaster (every EventSub event names one), is not a JSON object,
 * or message_id / sub_type is missing; *out is NULL then. */
int event_decode(const char *message_id, const char *sub_type, int64_t message_timestamp_us,
                 json_t *event_obj, struct event **out, struct err *err);
/* The decoders' failure when an allocation failed (the content may be fine: a sender that can
 * redeliver should be told to, e.g. a webhook's 503); any other failure is -1. */
#define EVENT_ENOMEM (-2)

/* As event_decode, knowing the subscription's condition (borrowed, may be NULL).
 *
 * Whose timeline an event lands on ("the streamer"):
 * - every type but channel.raid: broadcaster_user_* of the event;
 * - channel.raid: the to_broadcaster (SEV watches incoming raids: "Raid from Bob with 42
 *   viewers", the raider is the viewer). Only when the condition names a non-empty
 *   from_broadcaster_user_id (an outgoing-raid subscription) is the streamer the
 *   from_broadcaster ("Raided Bob with 42 viewers", the raided channel is the viewer).
 *   Without a condition the to_ side is the key; the from_ side only if to_ is missing.
 *
 * dedupe_key is "<type>:<streamer_id>:<own id>" where the event carries an id of its own,
 * one per occurrence (stream id, redemption id, chat message_id), so the same occurrence
 * received through two subscriptions (webhook and WebSocket, or several viewers' sessions)
 * is stored once. It is NULL for events that have none, and for hype trains, polls and
 * predictions (their progress events repeat the id).
 *
 * user.authorization.grant/.revoke are in the table (the subscription manager needs their
 * version) but name no channel: decoding them fails like any event without a broadcaster. */
int event_decode_with_condition(const char *message_id, const char *sub_type,
                                int64_t message_timestamp_us, json_t *event_obj, json_t *condition,
                                struct event **out, struct err *err);

/* Decodes a whole notification body as Twitch sends it, webhook body or WebSocket `payload`:
 * {"subscription":{"type",…,"condition":{…}},"event":{…}}. `body` is borrowed. */
int event_decode_notification(const char *message_id, int64_t message_timestamp_us, json_t *body,
                              struct event **out, struct err *err);

/* An empty event (every field 0/NULL) for code that fills one itself, e.g. the store reading
 * rows back. Fields set on it must be owned as struct event says. NULL when out of memory. */
struct event *event_new(void);

/* Parses text as json_loadb(text, len, 0, …) would (the same tree), faster for what EventSub
 * sends; NULL when it cannot be sure (anything unusual: a \u escape, a real number, deep
 * nesting, invalid JSON…): then call json_loadb, which also says what is wrong. Only a
 * top-level object is read. With key (may be NULL): *slice and *slice_len give the text of
 * that top-level member's value when it is exactly its compact dump with no '<' or '>' (see
 * struct event's data_json), else *slice is NULL. The result is owned by the caller. */
json_t *event_json_parse(const char *text, size_t len, const char *key, const char **slice,
                         size_t *slice_len);

/* Makes a "sev.gap" marker: a possible gap in the timeline of one streamer from..to.
 * id is a fresh UUID, created_at is from_us, the viewer is NULL, summary reads
 * "Possible gap in events from 10:00:00 to 10:02:13 UTC (EventSub reconnect)" (dates are
 * added when from and to fall on different days), data is {"from","to","reason"} (reason may
 * be NULL: JSON null). Arguments are borrowed. NULL when out of memory or without a login. */
struct event *event_new_gap(const char *streamer_id, const char *streamer_login,
                            const char *streamer_name, int64_t from_us, int64_t to_us,
                            const char *reason);

/* 0 for what SEV does not keep: a channel.chat.message that is not a cheer (the chat embed
 * already shows chat; the timeline is for events). 1 for everything else. */
int event_worth_keeping(const struct event *ev);

/* Frees ev and everything it owns; NULL is fine. */
void event_free(struct event *ev);


/* Appends the contract's event object to out:
 * {"id","type","streamer_login","viewer_login","viewer_name","created_at","summary","data"}
 * with viewer_* null where absent, created_at RFC 3339 UTC with milliseconds, data compact
 * (an empty object when ev->data is NULL). Output is always valid UTF-8 JSON: invalid UTF-8
 * becomes U+FFFD, and '<' '>' are escaped as in buf_json_escape (safe inside HTML).
 * Returns 0 or -1 (out of memory / over the buf cap); on -1, out->len is unchanged. */
int event_encode_json(const struct event *ev, struct buf *out);

/* THE table of EventSub types (event_types.c): one row per type drives subscribing (the
 * manager), decoding, the capability panel and the pages' labels and icons (served by
 * GET /api/streamers/{login}/capabilities). Adding a type is one row, one decoder and one
 * sample in tests/data/eventsub. */
struct event_decoding; /* event_int.h: one decode in progress */
typedef int (*event_decode_fn)(struct event_decoding *d);

/* The condition SEV subscribes with, for streamer S. */
enum event_cond {
    EVENT_COND_BROADCASTER, /* {"broadcaster_user_id": S} */
    EVENT_COND_RAID,        /* two subscriptions: {"to_broadcaster_user_id": S} and from_ */
    EVENT_COND_CHAT,        /* {"broadcaster_user_id": S, "user_id": carrier} */
    EVENT_COND_MODERATOR,   /* {"broadcaster_user_id": S, "moderator_user_id": S} */
};

/* Whose consent a subscription needs, hence which token and transport carry it. */
enum event_need {
    EVENT_NEED_NOTHING,     /* no authorization: app token (webhook/conduit) or a viewer's
                               WebSocket; costs 1 */
    EVENT_NEED_VIEWER_CHAT, /* user:read:chat from the carrier: the carrier's WebSocket, cost 0 */
    EVENT_NEED_BROADCASTER, /* the broadcaster granted scope (or alt_scope) to SEV */
    EVENT_NEED_NEVER,       /* decoded when it arrives, never subscribed per streamer */
};

struct event_type_info {
    const char *type;
    const char *version;
    enum event_cond cond;
    enum event_need need;
    const char *scope;         /* a scope that suffices, or NULL */
    const char *alt_scope;     /* Twitch's alternative to scope, or NULL */
    const char *superseded_by; /* not subscribed while this type is wanted (it carries the same
                                  occurrences), or NULL */
    const char *what;          /* capability panel: what receiving it brings */
    const char *label;         /* one event on a page: "Follow" */
    const char *plural;        /* counts (analytics): "Follows" */
    const char *icon;          /* symbol id in web/icons.svg: "i-heart" */
    const char *tone;          /* CSS tone: "follow" */
    event_decode_fn decode;    /* internal: viewer, time, dedupe id and summary of this type */
};

/* A label that depends on the payload (a timeout in channel.ban, a notice of
 * channel.chat.notification): when data[key] equals value (a string, or "true"/"false" for a
 * boolean; for notice_type the shared_chat_ prefix is ignored), the page uses this row's
 * label, icon and tone instead of the type's. */
struct event_variant {
    const char *type, *key, *value;
    const char *label, *icon, *tone;
};

const struct event_type_info *event_types(size_t *count);
const struct event_variant *event_variants(size_t *count);
/* Sets into["types"] = {"<type>":{"label","plural","icon","tone"},…} for every row and for
 * sev.gap, and into["variants"] = [{"type","key","value","label","icon","tone"},…]: what the
 * pages need to show any event (the "labels" member of the capabilities answer). into is
 * borrowed. Returns 0 or -1 (out of memory). */
int event_labels_json(json_t *into);
/* The row of type, or NULL when SEV does not know it. */
const struct event_type_info *event_type_find(const char *type);

#endif
