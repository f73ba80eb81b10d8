/* The decoders of what happens on a channel and to its audience: going live and offline,
 * stream info, raids, follows, subscriptions, cheers and Bits, chat messages, bans, ad breaks,
 * shoutouts and shared chat (the generic decoder for unknown types too). The table that names
 * them is event_types.c; the channel points, hype trains, polls, predictions, goals and
 * charity are event_decode_programs.c.
 *
 * Before a decoder runs, the pipeline (event.c) has set the streamer from broadcaster_user_*
 * when the event has one, and created_at to the message time; a decoder sets the viewer, the
 * time the event happened, the event's own id (for dedupe) and the summary. Field lists:
 * twitch-platform.md §6.2. */
#include "event/event_int.h"

#include <inttypes.h>
#include <string.h>

#include "base/clock.h"

int decode_generic(struct event_decoding *d)
{
    decoding_viewer(d, d->obj, "user"); /* summary: "<type> event", by the pipeline */
    return 0;
}

int decode_no_channel(struct event_decoding *d)
{
    return err_set(d->err, "%.64s event names no broadcaster: not a channel event", d->type);
}

int decode_stream_online(struct event_decoding *d)
{
    static const char *const kinds[][2] = {
        {"playlist", "playlist"},
        {"watch_party", "watch party"},
        {"premiere", "premiere"},
        {"rerun", "rerun"},
        {NULL, NULL},
    };
    decoding_time(d, "started_at");
    decoding_dedupe(d, "id");
    const char *kind = words_for(kinds, field_str(d->obj, "type"));
    decoding_say(d, "Stream went live");
    if (kind)
        decoding_say(d, " (%s)", kind);
    return 0;
}

int decode_stream_offline(struct event_decoding *d)
{
    return decoding_say(d, "Stream went offline");
}

int decode_channel_update(struct event_decoding *d)
{
    const char *title = decoding_clip(d, field_str(d->obj, "title"), EVENT_TEXT_CLIP);
    const char *category = decoding_clip(d, field_str(d->obj, "category_name"), EVENT_NAME_CLIP);
    int has_category = category && *category;
    if (title && *title) {
        decoding_say(d, "Title changed to \"%s\"", title);
        if (has_category)
            decoding_say(d, " (%s)", category);
    } else if (has_category) {
        decoding_say(d, "Category changed to %s", category);
    } else {
        decoding_say(d, "Channel updated");
    }
    return 0;
}

/* Outgoing only when the subscription asked for raids *from* a channel (digest §5: the
 * condition names exactly one side). */
static int raid_is_outgoing(struct event_decoding *d)
{
    if (field_nonempty(d->condition, "from_broadcaster_user_id"))
        return !field_nonempty(d->condition, "to_broadcaster_user_id");
    if (d->condition && field_nonempty(d->condition, "to_broadcaster_user_id"))
        return 0;
    return !field_nonempty(d->obj, "to_broadcaster_user_login") &&
           field_nonempty(d->obj, "from_broadcaster_user_login");
}

int decode_raid(struct event_decoding *d)
{
    int outgoing = raid_is_outgoing(d);
    const char *streamer_side = outgoing ? "from_broadcaster_user" : "to_broadcaster_user";
    const char *other_side = outgoing ? "to_broadcaster_user" : "from_broadcaster_user";
    if (decoding_streamer(d, d->obj, streamer_side) < 0)
        return -1;
    const char *who = decoding_viewer_from(d, other_side, "another channel");
    int64_t viewers = field_int_or(d->obj, "viewers", 0);
    if (outgoing)
        decoding_say(d, "Raided %s with %" PRId64 " viewer%s", who, viewers, plural(viewers));
    else
        say_raid_from(d, who, viewers);
    return 0;
}

int decode_follow(struct event_decoding *d)
{
    decoding_time(d, "followed_at");
    decoding_dedupe_who_when(d, "user_id", "followed_at");
    return decoding_say(d, "%s followed", decoding_viewer_from(d, "user", "Someone"));
}

int decode_subscribe(struct event_decoding *d)
{
    const char *who = decoding_viewer_from(d, "user", "Someone");
    const char *tier = tier_label(d->obj, "tier");
    if (!field_bool(d->obj, "is_gift")) {
        say_subscribed(d, who, tier, 0, 0);
        return 0;
    }
    decoding_say(d, "%s received a gifted %s%ssub", who, tier ? tier : "", tier ? " " : "");
    return 0;
}

int decode_subscription_gift(struct event_decoding *d)
{
    const char *who = "An anonymous gifter";
    if (!field_bool(d->obj, "is_anonymous"))
        who = decoding_viewer_from(d, "user", who);
    say_gifted(d, who, field_int_or(d->obj, "total", 1), tier_label(d->obj, "tier"));
    return 0;
}

int decode_subscription_message(struct event_decoding *d)
{
    const char *who = decoding_viewer_from(d, "user", "Someone");
    say_resubscribed(d, who, field_int_or(d->obj, "cumulative_months", 0),
                     tier_label(d->obj, "tier"), 0, field_message_text(d->obj));
    return 0;
}

int decode_cheer(struct event_decoding *d)
{
    const char *who = "An anonymous cheerer";
    if (!field_bool(d->obj, "is_anonymous"))
        who = decoding_viewer_from(d, "user", who);
    int64_t bits = field_int_or(d->obj, "bits", 0);
    decoding_dedupe_cheer(d, bits, field_str(d->obj, "message")); /* once with channel.bits.use */
    say_cheered(d, who, bits, field_str(d->obj, "message"));
    return 0;
}

/* "10 minutes", "1 hour", "90 seconds": the largest unit that divides the duration. */
static void say_duration(struct event_decoding *d, int64_t seconds)
{
    static const struct {
        int64_t seconds;
        const char *unit;
    } units[] = {{86400, "day"}, {3600, "hour"}, {60, "minute"}, {1, "second"}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (seconds % units[i].seconds)
            continue;
        int64_t n = seconds / units[i].seconds;
        decoding_say(d, " for %" PRId64 " %s%s", n, units[i].unit, plural(n));
        return;
    }
}

int decode_ban(struct event_decoding *d)
{
    decoding_time(d, "banned_at");
    const char *who = decoding_viewer_from(d, "user", "Someone");
    const char *ends_at = field_str(d->obj, "ends_at");
    json_t *is_permanent = json_object_get(d->obj, "is_permanent");
    int permanent = json_is_boolean(is_permanent) ? json_is_true(is_permanent) : !ends_at;
    if (permanent) {
        decoding_say(d, "%s was banned", who);
    } else {
        int64_t begin_us = d->ev->created_at_us, end_us;
        decoding_say(d, "%s was timed out", who);
        if (ends_at && begin_us >= 0 && clock_parse_rfc3339(ends_at, &end_us) == 0 &&
            end_us - begin_us >= 500000)
            say_duration(d, (end_us - begin_us + 500000) / 1000000);
    }
    return decoding_say_text(d, field_str(d->obj, "reason"));
}

int decode_bits_use(struct event_decoding *d)
{
    static const char *const power_ups[][2] = {
        {"message_effect", "a Message Effect"},
        {"celebration", "an On-Screen Celebration"},
        {"gigantify_an_emote", "Gigantify an Emote"},
        {NULL, NULL},
    };
    const char *who = decoding_viewer_from(d, "user", "Someone");
    int64_t bits = field_int_or(d->obj, "bits", 0);
    const char *kind = field_str(d->obj, "type");
    if (kind && strcmp(kind, "cheer") == 0) {
        decoding_dedupe_cheer(d, bits,
                              field_message_text(d->obj)); /* shown once with channel.cheer */
        say_cheered(d, who, bits, field_message_text(d->obj));
        return 0;
    }
    decoding_say(d, "%s used %" PRId64 " bit%s", who, bits, plural(bits));
    if (kind && strcmp(kind, "power_up") == 0) {
        const char *power_up =
            words_for(power_ups, field_str(field_obj(d->obj, "power_up"), "type"));
        decoding_say(d, " on %s", power_up ? power_up : "a Power-up");
    } else if (kind && strcmp(kind, "combo") == 0) {
        decoding_say(d, " on a Combo");
    }
    return 0;
}

int decode_chat_message(struct event_decoding *d)
{
    decoding_dedupe(d, "message_id");
    const char *who = decoding_viewer_from(d, "chatter_user", "Someone");
    const char *text = field_message_text(d->obj);
    int64_t bits;
    if (field_int(field_obj(d->obj, "cheer"), "bits", &bits) == 0 && bits > 0) {
        say_cheered(d, who, bits, text);
        return 0;
    }
    const char *clipped = decoding_clip(d, text, EVENT_TEXT_CLIP);
    if (clipped && *clipped)
        return decoding_say(d, "%s: %s", who, clipped);
    return decoding_say(d, "%s sent a message", who);
}

int decode_ad_break(struct event_decoding *d)
{
    decoding_time(d, "started_at");
    int64_t seconds = field_int_or(d->obj, "duration_seconds", 0); /* the docs' example: "60" */
    decoding_say(d, "%s",
                 field_bool(d->obj, "is_automatic") ? "Automatic ad break started"
                                                    : "Ad break started");
    if (seconds > 0)
        decoding_say(d, " (%" PRId64 " second%s)", seconds, plural(seconds));
    return 0;
}

int decode_shoutout_create(struct event_decoding *d)
{
    decoding_time(d, "started_at");
    decoding_dedupe_who_when(d, "to_broadcaster_user_id", "started_at");
    const char *to = decoding_viewer_from(d, "to_broadcaster_user", "another streamer");
    int64_t viewers = field_int_or(d->obj, "viewer_count", -1);
    decoding_say(d, "Shoutout to %s", to);
    if (viewers >= 0)
        decoding_say(d, " in front of %" PRId64 " viewer%s", viewers, plural(viewers));
    return 0;
}

int decode_shoutout_receive(struct event_decoding *d)
{
    decoding_time(d, "started_at");
    decoding_dedupe_who_when(d, "from_broadcaster_user_id", "started_at");
    const char *from = decoding_viewer_from(d, "from_broadcaster_user", "another streamer");
    int64_t viewers = field_int_or(d->obj, "viewer_count", -1);
    decoding_say(d, "Shoutout from %s", from);
    if (viewers >= 0)
        decoding_say(d, " to %" PRId64 " viewer%s", viewers, plural(viewers));
    return 0;
}

/* " with A, B and 2 others": the session's other participants. */
static void say_participants(struct event_decoding *d)
{
    json_t *p;
    size_t i, n = 0, shown = 0;
    const char *names[2] = {NULL, NULL};
    json_array_foreach(field_array(d->obj, "participants"), i, p)
    {
        const char *id = field_str(p, "broadcaster_user_id");
        if (id && d->ev->streamer_id && strcmp(id, d->ev->streamer_id) == 0)
            continue;
        const char *name = field_nonempty(p, "broadcaster_user_name");
        name = name ? name : field_nonempty(p, "broadcaster_user_login");
        if (!name)
            continue;
        if (shown < 2)
            names[shown++] = decoding_clip(d, name, EVENT_NAME_CLIP);
        n++;
    }
    if (n == 0)
        return;
    if (n == 1)
        decoding_say(d, " with %s", names[0]);
    else if (n == 2)
        decoding_say(d, " with %s and %s", names[0], names[1]);
    else
        decoding_say(d, " with %s, %s and %zu other%s", names[0], names[1], n - 2,
                     n - 2 == 1 ? "" : "s");
}

int decode_shared_chat_begin(struct event_decoding *d)
{
    decoding_dedupe(d, "session_id");
    decoding_say(d, "Shared chat started");
    say_participants(d);
    return 0;
}

int decode_shared_chat_update(struct event_decoding *d)
{
    decoding_say(d, "Shared chat now");
    say_participants(d);
    return 0;
}

int decode_shared_chat_end(struct event_decoding *d)
{
    decoding_dedupe(d, "session_id");
    return decoding_say(d, "Shared chat ended");
}
