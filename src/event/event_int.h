/* event_int.h: the event module's internal interface, shared by event.c (pipeline, encoding),
 * event_fields.c (type-checked accessors, decode helpers), event_text.c (UTF-8),
 * event_wording.c (the summaries' English), the type table (event_types.c) and the decoders
 * it names (event_decode_channel.c, event_decode_programs.c, event_chat.c). Not for use
 * outside src/event/.
 *
 * One decode, as event_decode_with_condition runs it:
 *
 *   event object ──▶ streamer from broadcaster_user_* (if present)
 *                ──▶ row->decode(d): viewer, created_at, dedupe id, summary (raids: streamer)
 *                ──▶ checks: a streamer was found; dedupe_key = type:streamer_id:id
 *                ──▶ struct event (owned by the caller)
 *
 * Every accessor type-checks: hostile JSON yields NULL / defaults, never a crash.
 */
#ifndef SEV_EVENT_INT_H
#define SEV_EVENT_INT_H

#include <stdint.h>

#include "event/event.h"

#define EVENT_ID_MAX 256     /* bytes kept of ids, logins, names and types */
#define EVENT_LOGIN_MAX 64   /* a longer broadcaster login is not a Twitch login: rejected */
#define EVENT_NAME_CLIP 50   /* code points of a name quoted in a summary */
#define EVENT_TEXT_CLIP 140  /* code points of a message or title quoted in a summary */
#define EVENT_SCRATCH_MAX 16 /* clipped strings one decoder may hold */

struct event_decoding {
    const char *type;                 /* borrowed: the subscription type */
    json_t *obj;                      /* borrowed: the event object */
    json_t *condition;                /* borrowed: the subscription condition, may be NULL */
    struct event *ev;                 /* borrowed: the event being built (owned by the pipeline) */
    const char *dedupe_id;            /* borrowed from obj: the event's own id, or NULL */
    const char *dedupe_type;          /* literal: the key's type part when not ev->type */
    struct buf summary;               /* owned */
    char *scratch[EVENT_SCRATCH_MAX]; /* owned: clipped strings handed to decoders */
    int nscratch;
    int oom;         /* an allocation failed: the decode fails at the end */
    struct err *err; /* borrowed, may be NULL */
};

/* --- type-checked accessors (event_fields.c); obj may be anything, even NULL --- */

/* The string at key, or NULL when absent, null or not a string. Borrowed from obj. */
const char *field_str(json_t *obj, const char *key);
/* As field_str, but NULL for "" too. */
const char *field_nonempty(json_t *obj, const char *key);
/* The object at key, or NULL. */
json_t *field_obj(json_t *obj, const char *key);
/* The array at key, or NULL. */
json_t *field_array(json_t *obj, const char *key);
/* 0 and *out for an integer, an integral real or a string of digits ("42"); else -1. */
int field_int(json_t *obj, const char *key, int64_t *out);
/* As field_int, with a default when the field is absent or unusable. */
int64_t field_int_or(json_t *obj, const char *key, int64_t dflt);
/* 1 for true or "true", else 0. */
int field_bool(json_t *obj, const char *key);
/* An id that should be a string but may arrive as an integer: owned copy, or NULL. */
char *field_id_dup(json_t *obj, const char *key);

/* --- decode helpers (event_fields.c) --- */

/* Sets the streamer from <prefix>_id, <prefix>_login (lower-cased), <prefix>_name.
 * -1 with d->err when id or login is missing or absurd. */
int decoding_streamer(struct event_decoding *d, json_t *obj, const char *prefix);
/* Sets the viewer from <prefix>_id/_login/_name of obj when a login or name is present;
 * leaves it NULL otherwise. Returns 1 when a viewer was set. */
int decoding_viewer(struct event_decoding *d, json_t *obj, const char *prefix);
void decoding_clear_viewer(struct event_decoding *d);
/* created_at from an RFC 3339 field of the event; keeps the message time when unusable. */
void decoding_time(struct event_decoding *d, const char *field);
/* The event's own per-occurrence id (string or integer field of the event). */
void decoding_dedupe(struct event_decoding *d, const char *field);
/* For events without an id of their own but a natural key (a follow: who and when):
 * "<who>@<unix seconds of when>", so one occurrence learnt twice (EventSub, then a Helix
 * backfill) is stored once. */
void decoding_dedupe_who_when(struct event_decoding *d, const char *who, const char *when);
/* One cheer told by channel.cheer and by channel.bits.use gets one key,
 * "channel.cheer:<streamer>:<viewer id|anonymous>/<bits>/<hash of text>@<time slot>", the
 * slot being the message time in EVENT_CHEER_WINDOW_S steps (neither payload carries an id or
 * a time of its own). Call after the viewer is set. */
#define EVENT_CHEER_WINDOW_S 10
void decoding_dedupe_cheer(struct event_decoding *d, int64_t bits, const char *text);
/* A string fit to quote in a summary: valid UTF-8, controls as spaces, trimmed, at most
 * max_cp code points (then "…"). Owned by d. NULL in, NULL out. */
const char *decoding_clip(struct event_decoding *d, const char *s, size_t max_cp);
/* The viewer as a summary names them: display name, else login, else `fallback`. */
const char *decoding_viewer_label(struct event_decoding *d, const char *fallback);
/* Appends to the summary. Strings passed through %s must come from decoding_clip or be
 * literals. Returns 0; failures are remembered in d->oom. */
int decoding_say(struct event_decoding *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends ": <text>" (clipped) when text is non-empty. */
int decoding_say_text(struct event_decoding *d, const char *text);
/* Sets the viewer from <prefix>_* of the event (decoding_viewer) and returns how a summary
 * names them (decoding_viewer_label). */
const char *decoding_viewer_from(struct event_decoding *d, const char *prefix,
                                 const char *fallback);
/* obj[key] clipped for a summary, or "(untitled)" when absent or empty. */
const char *decoding_title(struct event_decoding *d, json_t *obj, const char *key);
/* obj.message.text, or NULL. Borrowed from obj. */
const char *field_message_text(json_t *obj);

/* --- wording shared by decoders (event_wording.c); `who` and `text` are clipped or literal --- */

/* "Tier 1" for "1000" (string or integer), "Tier 2", "Tier 3", "Prime"; NULL otherwise. */
const char *tier_label(json_t *obj, const char *key);
/* "s" unless n == 1. */
const char *plural(int64_t n);
/* "Alice subscribed at Tier 1" / "… with Prime", " for 3 months" when months > 1. */
void say_subscribed(struct event_decoding *d, const char *who, const char *tier, int is_prime,
                    int64_t months);
/* "Alice resubscribed for 12 months[ at Tier 2| with Prime]: text" (months <= 0: omitted). */
void say_resubscribed(struct event_decoding *d, const char *who, int64_t months, const char *tier,
                      int is_prime, const char *text);
/* "Alice gifted 5 Tier 1 subs" / "Alice gifted a Tier 1 sub" (tier may be NULL). */
void say_gifted(struct event_decoding *d, const char *who, int64_t count, const char *tier);
/* "Alice gifted a Tier 1 sub to Carol". */
void say_gifted_to(struct event_decoding *d, const char *who, const char *tier,
                   const char *recipient);
/* "Raid from Bob with 42 viewers". */
void say_raid_from(struct event_decoding *d, const char *who, int64_t viewers);
/* "Alice cheered 100 bits: text". */
void say_cheered(struct event_decoding *d, const char *who, int64_t bits, const char *text);
/* Looks s up in a NULL-terminated list of {key, words} pairs: the words, or NULL. */
const char *words_for(const char *const (*table)[2], const char *s);

/* --- the type table (event_types.c) and the decoders it names --- */

/* The decoder of type, or decode_generic for types SEV does not know. */
event_decode_fn event_type_decoder(const char *type);

/* One decoder per type, each an event_decode_fn, named only by the table (and
 * event_type_decoder). The channel and its audience (event_decode_channel.c): */
int decode_generic(struct event_decoding *d);
int decode_no_channel(struct event_decoding *d);
int decode_stream_online(struct event_decoding *d);
int decode_stream_offline(struct event_decoding *d);
int decode_channel_update(struct event_decoding *d);
int decode_raid(struct event_decoding *d);
int decode_follow(struct event_decoding *d);
int decode_subscribe(struct event_decoding *d);
int decode_subscription_gift(struct event_decoding *d);
int decode_subscription_message(struct event_decoding *d);
int decode_cheer(struct event_decoding *d);
int decode_ban(struct event_decoding *d);
int decode_bits_use(struct event_decoding *d);
int decode_chat_message(struct event_decoding *d);
int decode_ad_break(struct event_decoding *d);
int decode_shoutout_create(struct event_decoding *d);
int decode_shoutout_receive(struct event_decoding *d);
int decode_shared_chat_begin(struct event_decoding *d);
int decode_shared_chat_update(struct event_decoding *d);
int decode_shared_chat_end(struct event_decoding *d);
/* What a channel runs: rewards, hype trains, polls, predictions, goals, charity
 * (event_decode_programs.c): */
int decode_redemption_add(struct event_decoding *d);
int decode_redemption_update(struct event_decoding *d);
int decode_automatic_redemption(struct event_decoding *d);
int decode_hype_train_begin(struct event_decoding *d);
int decode_hype_train_progress(struct event_decoding *d);
int decode_hype_train_end(struct event_decoding *d);
int decode_poll_begin(struct event_decoding *d);
int decode_poll_progress(struct event_decoding *d);
int decode_poll_end(struct event_decoding *d);
int decode_prediction_begin(struct event_decoding *d);
int decode_prediction_progress(struct event_decoding *d);
int decode_prediction_lock(struct event_decoding *d);
int decode_prediction_end(struct event_decoding *d);
int decode_goal_begin(struct event_decoding *d);
int decode_goal_progress(struct event_decoding *d);
int decode_goal_end(struct event_decoding *d);
int decode_charity_donate(struct event_decoding *d);
int decode_charity_start(struct event_decoding *d);
int decode_charity_progress(struct event_decoding *d);
int decode_charity_stop(struct event_decoding *d);
/* Chat notifications, one notice type each (event_chat.c): */
int decode_chat_notification(struct event_decoding *d);

/* --- UTF-8 and JSON text (event_text.c) --- */

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0 when invalid. */
size_t utf8_seq_len(const unsigned char *s, size_t n);
/* Owned copy of s with invalid UTF-8 replaced by U+FFFD, cut to at most max_bytes on a
 * code point boundary. NULL when s is NULL or out of memory. */
char *text_clean_dup(const char *s, size_t max_bytes);
/* Appends s cleaned for a summary (see decoding_clip) to out. */
int text_clip(struct buf *out, const char *s, size_t max_cp);
/* Appends s as a JSON string with quotes (invalid UTF-8 as \ufffd), or null when NULL. */
int text_json_string(struct buf *out, const char *s);

#endif
