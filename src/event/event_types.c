/* THE table of EventSub types, and one decoder per type.
 *
 * Adding a type: one row in `types` below and one decoder. Before a decoder runs, the
 * pipeline (event.c) has set the streamer from broadcaster_user_* when the event has one, and
 * created_at to the message time; a decoder sets the viewer, the time the event happened,
 * the event's own id (for dedupe) and the summary. Field lists: twitch-platform.md §6.2. */
#include "event/event_int.h"

#include <inttypes.h>
#include <string.h>

#include "base/clock.h"

/* --- small shared pieces --- */

/* The viewer from <prefix>_* of the event, and how a summary names them. */
static const char *viewer_from(struct event_decoding *d, const char *prefix, const char *fallback)
{
    decoding_viewer(d, d->obj, prefix);
    return decoding_viewer_label(d, fallback);
}

static const char *quoted_title(struct event_decoding *d, json_t *obj, const char *key)
{
    const char *title = decoding_clip(d, field_str(obj, key), EVENT_TEXT_CLIP);
    return title && *title ? title : "(untitled)";
}

static const char *message_text(json_t *obj)
{
    return field_str(field_obj(obj, "message"), "text");
}

/* Looks s up in a NULL-terminated list of {key, words} pairs. */
static const char *words_for(const char *const (*table)[2], const char *s)
{
    for (; s && (*table)[0]; table++)
        if (strcmp((*table)[0], s) == 0)
            return (*table)[1];
    return NULL;
}

/* --- decoders --- */

static int decode_generic(struct event_decoding *d)
{
    decoding_viewer(d, d->obj, "user"); /* summary: "<type> event", by the pipeline */
    return 0;
}

static int decode_no_channel(struct event_decoding *d)
{
    return err_set(d->err, "%.64s event names no broadcaster: not a channel event", d->type);
}

static int decode_stream_online(struct event_decoding *d)
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

static int decode_stream_offline(struct event_decoding *d)
{
    return decoding_say(d, "Stream went offline");
}

static int decode_channel_update(struct event_decoding *d)
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

static int decode_raid(struct event_decoding *d)
{
    int outgoing = raid_is_outgoing(d);
    const char *streamer_side = outgoing ? "from_broadcaster_user" : "to_broadcaster_user";
    const char *other_side = outgoing ? "to_broadcaster_user" : "from_broadcaster_user";
    if (decoding_streamer(d, d->obj, streamer_side) < 0)
        return -1;
    const char *who = viewer_from(d, other_side, "another channel");
    int64_t viewers = field_int_or(d->obj, "viewers", 0);
    if (outgoing)
        decoding_say(d, "Raided %s with %" PRId64 " viewer%s", who, viewers, plural(viewers));
    else
        say_raid_from(d, who, viewers);
    return 0;
}

static int decode_follow(struct event_decoding *d)
{
    decoding_time(d, "followed_at");
    decoding_dedupe_who_when(d, "user_id", "followed_at");
    return decoding_say(d, "%s followed", viewer_from(d, "user", "Someone"));
}

static int decode_subscribe(struct event_decoding *d)
{
    const char *who = viewer_from(d, "user", "Someone");
    const char *tier = tier_label(d->obj, "tier");
    if (!field_bool(d->obj, "is_gift")) {
        say_subscribed(d, who, tier, 0, 0);
        return 0;
    }
    decoding_say(d, "%s received a gifted %s%ssub", who, tier ? tier : "", tier ? " " : "");
    return 0;
}

static int decode_subscription_gift(struct event_decoding *d)
{
    const char *who = "An anonymous gifter";
    if (!field_bool(d->obj, "is_anonymous"))
        who = viewer_from(d, "user", who);
    say_gifted(d, who, field_int_or(d->obj, "total", 1), tier_label(d->obj, "tier"));
    return 0;
}

static int decode_subscription_message(struct event_decoding *d)
{
    const char *who = viewer_from(d, "user", "Someone");
    say_resubscribed(d, who, field_int_or(d->obj, "cumulative_months", 0),
                     tier_label(d->obj, "tier"), 0, message_text(d->obj));
    return 0;
}

static int decode_cheer(struct event_decoding *d)
{
    const char *who = "An anonymous cheerer";
    if (!field_bool(d->obj, "is_anonymous"))
        who = viewer_from(d, "user", who);
    int64_t bits = field_int_or(d->obj, "bits", 0);
    decoding_dedupe_cheer(d, bits, field_str(d->obj, "message")); /* once with channel.bits.use */
    say_cheered(d, who, bits, field_str(d->obj, "message"));
    return 0;
}

static void say_redeemed(struct event_decoding *d, const char *who, const char *reward,
                         int64_t points, const char *text)
{
    decoding_say(d, "%s redeemed %s", who, reward);
    if (points >= 0)
        decoding_say(d, " (%" PRId64 " point%s)", points, plural(points));
    decoding_say_text(d, text);
}

static int decode_redemption_add(struct event_decoding *d)
{
    json_t *reward = field_obj(d->obj, "reward");
    decoding_time(d, "redeemed_at");
    decoding_dedupe(d, "id");
    const char *who = viewer_from(d, "user", "Someone");
    say_redeemed(d, who, quoted_title(d, reward, "title"), field_int_or(reward, "cost", -1),
                 field_str(d->obj, "user_input"));
    return 0;
}

static int decode_redemption_update(struct event_decoding *d)
{
    json_t *reward = field_obj(d->obj, "reward");
    decoding_time(d, "redeemed_at");
    decoding_dedupe(d, "id");
    const char *who = viewer_from(d, "user", "Someone");
    const char *title = quoted_title(d, reward, "title");
    const char *status = decoding_clip(d, field_nonempty(d->obj, "status"), EVENT_NAME_CLIP);
    decoding_say(d, "%s's %s redemption was %s", who, title,
                 status && strcmp(status, "unknown") ? status : "updated");
    return 0;
}

static int decode_automatic_redemption(struct event_decoding *d)
{
    static const char *const rewards[][2] = {
        {"single_message_bypass_sub_mode", "Send a Message in Sub-Only Mode"},
        {"send_highlighted_message", "Highlight My Message"},
        {"random_sub_emote_unlock", "Unlock a Random Sub Emote"},
        {"chosen_sub_emote_unlock", "Choose an Emote to Unlock"},
        {"chosen_modified_sub_emote_unlock", "Modify a Single Emote"},
        {NULL, NULL},
    };
    json_t *reward = field_obj(d->obj, "reward");
    decoding_time(d, "redeemed_at");
    decoding_dedupe(d, "id");
    const char *who = viewer_from(d, "user", "Someone");
    const char *name = words_for(rewards, field_str(reward, "type"));
    int64_t points = field_int_or(reward, "channel_points", field_int_or(reward, "cost", -1));
    const char *text = message_text(d->obj); /* v2; v1 sent user_input */
    say_redeemed(d, who, name ? name : "an automatic reward", points,
                 text ? text : field_str(d->obj, "user_input"));
    return 0;
}

static const char *hype_train_name(json_t *obj)
{
    static const char *const names[][2] = {
        {"golden_kappa", "Golden Kappa Train"}, {"treasure", "Treasure Train"}, {NULL, NULL}};
    const char *name = words_for(names, field_str(obj, "type"));
    return name ? name : "Hype train";
}

static int decode_hype_train_begin(struct event_decoding *d)
{
    decoding_time(d, "started_at");
    return decoding_say(d, "%s level %" PRId64 " started", hype_train_name(d->obj),
                        field_int_or(d->obj, "level", 1));
}

static int decode_hype_train_progress(struct event_decoding *d)
{
    int64_t level = field_int_or(d->obj, "level", 1);
    int64_t progress = field_int_or(d->obj, "progress", 0);
    int64_t goal = field_int_or(d->obj, "goal", 0);
    decoding_say(d, "%s at level %" PRId64, hype_train_name(d->obj), level);
    if (goal > 0 && goal < INT64_MAX / 100 && progress >= 0 && progress <= goal &&
        level < INT64_MAX)
        decoding_say(d, " (%" PRId64 "%% to level %" PRId64 ")", progress * 100 / goal, level + 1);
    return 0;
}

static int decode_hype_train_end(struct event_decoding *d)
{
    decoding_time(d, "ended_at");
    return decoding_say(d, "%s ended at level %" PRId64, hype_train_name(d->obj),
                        field_int_or(d->obj, "level", 1));
}

static int decode_poll_begin(struct event_decoding *d)
{
    decoding_time(d, "started_at");
    return decoding_say(d, "Poll started: %s", quoted_title(d, d->obj, "title"));
}

static int decode_poll_progress(struct event_decoding *d)
{
    return decoding_say(d, "Poll update: %s", quoted_title(d, d->obj, "title"));
}

/* " (winner: Yes with 12 votes)", " (tie at 12 votes)" or " (no votes)". */
static void say_poll_result(struct event_decoding *d, json_t *choices)
{
    json_t *choice, *best = NULL;
    size_t i;
    int64_t best_votes = 0;
    int tied = 0;
    json_array_foreach(choices, i, choice)
    {
        int64_t votes = field_int_or(choice, "votes", 0);
        if (votes > best_votes) {
            best = choice, best_votes = votes, tied = 0;
        } else if (votes == best_votes && best) {
            tied = 1;
        }
    }
    if (!best)
        decoding_say(d, " (no votes)");
    else if (tied)
        decoding_say(d, " (tie at %" PRId64 " vote%s)", best_votes, plural(best_votes));
    else
        decoding_say(d, " (winner: %s with %" PRId64 " vote%s)", quoted_title(d, best, "title"),
                     best_votes, plural(best_votes));
}

static int decode_poll_end(struct event_decoding *d)
{
    const char *status = field_str(d->obj, "status");
    decoding_time(d, "ended_at");
    const char *title = quoted_title(d, d->obj, "title");
    if (status && strcmp(status, "terminated") == 0)
        return decoding_say(d, "Poll terminated: %s", title);
    if (status && strcmp(status, "archived") == 0)
        return decoding_say(d, "Poll archived: %s", title);
    decoding_say(d, "Poll ended: %s", title);
    say_poll_result(d, field_array(d->obj, "choices"));
    return 0;
}

static int decode_prediction_begin(struct event_decoding *d)
{
    decoding_time(d, "started_at");
    return decoding_say(d, "Prediction started: %s", quoted_title(d, d->obj, "title"));
}

static int decode_prediction_progress(struct event_decoding *d)
{
    return decoding_say(d, "Prediction update: %s", quoted_title(d, d->obj, "title"));
}

static int decode_prediction_lock(struct event_decoding *d)
{
    decoding_time(d, "locked_at");
    return decoding_say(d, "Prediction locked: %s", quoted_title(d, d->obj, "title"));
}

static json_t *winning_outcome(json_t *obj)
{
    const char *winner_id = field_nonempty(obj, "winning_outcome_id");
    json_t *outcome;
    size_t i;
    json_array_foreach(field_array(obj, "outcomes"), i, outcome)
    {
        const char *id = field_str(outcome, "id");
        if (winner_id && id && strcmp(id, winner_id) == 0)
            return outcome;
    }
    return NULL;
}

static int decode_prediction_end(struct event_decoding *d)
{
    const char *status = field_str(d->obj, "status");
    decoding_time(d, "ended_at");
    const char *title = quoted_title(d, d->obj, "title");
    if (status && strcmp(status, "canceled") == 0)
        return decoding_say(d, "Prediction canceled: %s", title);
    json_t *winner = winning_outcome(d->obj);
    decoding_say(d, "Prediction %s: %s", winner ? "resolved" : "ended", title);
    if (winner)
        decoding_say(d, " (winner: %s)", quoted_title(d, winner, "title"));
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

static int decode_ban(struct event_decoding *d)
{
    decoding_time(d, "banned_at");
    const char *who = viewer_from(d, "user", "Someone");
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

/* Appends n with thousands separators ("15,000"). */
static void group_digits(char *out, size_t size, int64_t n)
{
    char digits[32];
    int len = snprintf(digits, sizeof digits, "%" PRId64, n), o = 0;
    for (int i = 0; i < len && o + 2 < (int)size; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = digits[i];
    }
    out[o] = 0;
}

/* "USD 15,000.00": value in the currency's smallest unit, decimal_places (decimal_place in
 * the chat notice's charity_donation) digits after the point. */
static const char *money(struct event_decoding *d, json_t *amount)
{
    int64_t value, places = field_int_or(amount, "decimal_places", -1);
    if (places < 0)
        places = field_int_or(amount, "decimal_place", 0);
    const char *currency = decoding_clip(d, field_nonempty(amount, "currency"), 8);
    if (field_int(amount, "value", &value) < 0 || value < 0 || places > 9)
        return "an amount";
    int64_t unit = 1;
    for (int64_t i = 0; i < places; i++)
        unit *= 10;
    char whole[48], text[80];
    group_digits(whole, sizeof whole, value / unit);
    if (places > 0)
        snprintf(text, sizeof text, "%s%s%s.%0*" PRId64, currency ? currency : "",
                 currency ? " " : "", whole, (int)places, value % unit);
    else
        snprintf(text, sizeof text, "%s%s%s", currency ? currency : "", currency ? " " : "", whole);
    return decoding_clip(d, text, EVENT_NAME_CLIP);
}

static int decode_bits_use(struct event_decoding *d)
{
    static const char *const power_ups[][2] = {
        {"message_effect", "a Message Effect"},
        {"celebration", "an On-Screen Celebration"},
        {"gigantify_an_emote", "Gigantify an Emote"},
        {NULL, NULL},
    };
    const char *who = viewer_from(d, "user", "Someone");
    int64_t bits = field_int_or(d->obj, "bits", 0);
    const char *kind = field_str(d->obj, "type");
    if (kind && strcmp(kind, "cheer") == 0) {
        decoding_dedupe_cheer(d, bits, message_text(d->obj)); /* shown once with channel.cheer */
        say_cheered(d, who, bits, message_text(d->obj));
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

static int decode_chat_message(struct event_decoding *d)
{
    decoding_dedupe(d, "message_id");
    const char *who = viewer_from(d, "chatter_user", "Someone");
    const char *text = message_text(d->obj);
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

/* " (100 of 220 subscriptions)" for a creator goal. */
static void say_goal_amounts(struct event_decoding *d)
{
    static const char *const units[][2] = {
        {"follow", "followers"},
        {"subscription", "subscription points"},
        {"subscription_count", "subscribers"},
        {"new_subscription", "new subscription points"},
        {"new_subscription_count", "new subscribers"},
        {"new_bit", "bits"},
        {"new_cheerer", "cheerers"},
        {NULL, NULL},
    };
    int64_t current, target;
    const char *unit = words_for(units, field_str(d->obj, "type"));
    if (field_int(d->obj, "current_amount", &current) == 0 &&
        field_int(d->obj, "target_amount", &target) == 0)
        decoding_say(d, " (%" PRId64 " of %" PRId64 " %s)", current, target,
                     unit ? unit : "toward the goal");
}

static const char *goal_name(struct event_decoding *d)
{
    return quoted_title(d, d->obj, "description");
}

static int decode_goal_begin(struct event_decoding *d)
{
    decoding_time(d, "started_at");
    decoding_dedupe(d, "id");
    decoding_say(d, "Goal started: %s", goal_name(d));
    say_goal_amounts(d);
    return 0;
}

static int decode_goal_progress(struct event_decoding *d)
{
    decoding_say(d, "Goal progress: %s", goal_name(d));
    say_goal_amounts(d);
    return 0;
}

static int decode_goal_end(struct event_decoding *d)
{
    decoding_time(d, "ended_at");
    decoding_dedupe(d, "id");
    decoding_say(d, "Goal %s: %s", field_bool(d->obj, "is_achieved") ? "achieved" : "ended",
                 goal_name(d));
    say_goal_amounts(d);
    return 0;
}

static int decode_charity_donate(struct event_decoding *d)
{
    decoding_dedupe(d, "id");
    const char *who = viewer_from(d, "user", "Someone");
    const char *charity = decoding_clip(d, field_nonempty(d->obj, "charity_name"), EVENT_NAME_CLIP);
    return decoding_say(d, "%s donated %s to %s", who, money(d, field_obj(d->obj, "amount")),
                        charity ? charity : "charity");
}

/* The campaign events name the streamer broadcaster_id/_login/_name (not broadcaster_user_*). */
static const char *charity_campaign(struct event_decoding *d)
{
    if (!d->ev->streamer_login && decoding_streamer(d, d->obj, "broadcaster") < 0)
        return NULL;
    const char *charity = decoding_clip(d, field_nonempty(d->obj, "charity_name"), EVENT_NAME_CLIP);
    return charity ? charity : "charity";
}

static int decode_charity_start(struct event_decoding *d)
{
    const char *charity = charity_campaign(d);
    if (!charity)
        return -1;
    decoding_time(d, "started_at");
    decoding_dedupe(d, "id");
    return decoding_say(d, "Charity campaign started for %s (goal %s)", charity,
                        money(d, field_obj(d->obj, "target_amount")));
}

static int decode_charity_progress(struct event_decoding *d)
{
    const char *charity = charity_campaign(d);
    if (!charity)
        return -1;
    const char *current = money(d, field_obj(d->obj, "current_amount"));
    return decoding_say(d, "Charity campaign for %s: %s of %s raised", charity, current,
                        money(d, field_obj(d->obj, "target_amount")));
}

static int decode_charity_stop(struct event_decoding *d)
{
    const char *charity = charity_campaign(d);
    if (!charity)
        return -1;
    decoding_time(d, "stopped_at");
    decoding_dedupe(d, "id");
    const char *current = money(d, field_obj(d->obj, "current_amount"));
    return decoding_say(d, "Charity campaign for %s ended: %s of %s raised", charity, current,
                        money(d, field_obj(d->obj, "target_amount")));
}

static int decode_ad_break(struct event_decoding *d)
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

static int decode_shoutout_create(struct event_decoding *d)
{
    decoding_time(d, "started_at");
    decoding_dedupe_who_when(d, "to_broadcaster_user_id", "started_at");
    const char *to = viewer_from(d, "to_broadcaster_user", "another streamer");
    int64_t viewers = field_int_or(d->obj, "viewer_count", -1);
    decoding_say(d, "Shoutout to %s", to);
    if (viewers >= 0)
        decoding_say(d, " in front of %" PRId64 " viewer%s", viewers, plural(viewers));
    return 0;
}

static int decode_shoutout_receive(struct event_decoding *d)
{
    decoding_time(d, "started_at");
    decoding_dedupe_who_when(d, "from_broadcaster_user_id", "started_at");
    const char *from = viewer_from(d, "from_broadcaster_user", "another streamer");
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

static int decode_shared_chat_begin(struct event_decoding *d)
{
    decoding_dedupe(d, "session_id");
    decoding_say(d, "Shared chat started");
    say_participants(d);
    return 0;
}

static int decode_shared_chat_update(struct event_decoding *d)
{
    decoding_say(d, "Shared chat now");
    say_participants(d);
    return 0;
}

static int decode_shared_chat_end(struct event_decoding *d)
{
    decoding_dedupe(d, "session_id");
    return decoding_say(d, "Shared chat ended");
}

/* --- the table --- */

#define B EVENT_COND_BROADCASTER
#define NOTHING EVENT_NEED_NOTHING
#define BROADCASTER EVENT_NEED_BROADCASTER
#define READ_REDEMPTIONS "channel:read:redemptions", "channel:manage:redemptions"
#define READ_POLLS "channel:read:polls", "channel:manage:polls"
#define READ_PREDICTIONS "channel:read:predictions", "channel:manage:predictions"
#define READ_SHOUTOUTS "moderator:read:shoutouts", "moderator:manage:shoutouts"

/* Versions, conditions and scopes: Twitch's Subscription Types page (twitch-platform.md §5;
 * for the types §5 does not list, the page itself as of 2026-02). */
static const struct event_type_info types[] = {
    /* type, version, condition, need, scope, alt_scope, superseded_by,
     * what (capability panel), label, plural, icon, tone, decoder */
    {"stream.online", "1", B, NOTHING, NULL, NULL, NULL, "Going live", "Went live",
     "Streams started", "i-live", "live", decode_stream_online},
    {"stream.offline", "1", B, NOTHING, NULL, NULL, NULL, "Going offline", "Went offline",
     "Streams ended", "i-offline", "muted", decode_stream_offline},
    {"channel.update", "2", B, NOTHING, NULL, NULL, NULL, "Title and category",
     "Stream info changed", "Title & category changes", "i-edit", "info", decode_channel_update},
    {"channel.raid", "1", EVENT_COND_RAID, NOTHING, NULL, NULL, NULL, "Raids", "Raid", "Raids",
     "i-raid", "raid", decode_raid},
    {"channel.shared_chat.begin", "1", B, NOTHING, NULL, NULL, NULL, "Shared chat sessions",
     "Shared chat started", "Shared chats started", "i-chat", "info", decode_shared_chat_begin},
    {"channel.shared_chat.update", "1", B, NOTHING, NULL, NULL, NULL, "Shared chat participants",
     "Shared chat changed", "Shared chat changes", "i-chat", "info", decode_shared_chat_update},
    {"channel.shared_chat.end", "1", B, NOTHING, NULL, NULL, NULL, "Shared chat endings",
     "Shared chat ended", "Shared chats ended", "i-chat", "muted", decode_shared_chat_end},
    {"channel.chat.notification", "1", EVENT_COND_CHAT, EVENT_NEED_VIEWER_CHAT, "user:read:chat",
     NULL, NULL, "Subs, resubs, gift subs, raids and announcements in chat", "Chat notice",
     "Chat notices (subs, raids, …)", "i-megaphone", "info", decode_chat_notification},
    {"channel.chat.message", "1", EVENT_COND_CHAT, EVENT_NEED_VIEWER_CHAT, "user:read:chat", NULL,
     "channel.bits.use", "Cheers in chat", "Chat message", "Cheers in chat", "i-chat", "chat",
     decode_chat_message},
    {"channel.follow", "2", EVENT_COND_MODERATOR, BROADCASTER, "moderator:read:followers", NULL,
     NULL, "Follows", "Follow", "Follows", "i-heart", "follow", decode_follow},
    {"channel.subscribe", "1", B, BROADCASTER, "channel:read:subscriptions", NULL, NULL,
     "Subscriptions", "Subscription", "Subscriptions", "i-star", "sub", decode_subscribe},
    {"channel.subscription.gift", "1", B, BROADCASTER, "channel:read:subscriptions", NULL, NULL,
     "Gift subs", "Gift subs", "Gift subs", "i-gift", "sub", decode_subscription_gift},
    {"channel.subscription.message", "1", B, BROADCASTER, "channel:read:subscriptions", NULL, NULL,
     "Resub messages", "Resub", "Resubs", "i-resub", "sub", decode_subscription_message},
    {"channel.bits.use", "1", B, BROADCASTER, "bits:read", NULL, NULL,
     "Cheers, Power-ups and Combos", "Bits", "Bits used", "i-bits", "bits", decode_bits_use},
    {"channel.cheer", "1", B, BROADCASTER, "bits:read", NULL, "channel.bits.use", "Cheers", "Cheer",
     "Cheers", "i-bits", "bits", decode_cheer},
    {"channel.channel_points_custom_reward_redemption.add", "1", B, BROADCASTER, READ_REDEMPTIONS,
     NULL, "Channel point redemptions", "Reward redeemed", "Channel point redemptions", "i-points",
     "points", decode_redemption_add},
    {"channel.channel_points_custom_reward_redemption.update", "1", B, EVENT_NEED_NEVER,
     READ_REDEMPTIONS, NULL, "Redemption updates", "Redemption updated", "Redemption updates",
     "i-points", "points", decode_redemption_update},
    {"channel.channel_points_automatic_reward_redemption.add", "2", B, BROADCASTER,
     READ_REDEMPTIONS, NULL, "Automatic rewards (highlighted messages, emote unlocks…)",
     "Automatic reward", "Automatic rewards", "i-points", "points", decode_automatic_redemption},
    {"channel.hype_train.begin", "2", B, BROADCASTER, "channel:read:hype_train", NULL, NULL,
     "Hype train", "Hype train started", "Hype trains started", "i-hype", "hype",
     decode_hype_train_begin},
    {"channel.hype_train.progress", "2", B, BROADCASTER, "channel:read:hype_train", NULL, NULL,
     "Hype train progress", "Hype train progress", "Hype train progress", "i-hype", "hype",
     decode_hype_train_progress},
    {"channel.hype_train.end", "2", B, BROADCASTER, "channel:read:hype_train", NULL, NULL,
     "Hype train ends", "Hype train ended", "Hype trains ended", "i-hype", "hype",
     decode_hype_train_end},
    {"channel.poll.begin", "1", B, BROADCASTER, READ_POLLS, NULL, "Polls", "Poll started",
     "Polls started", "i-poll", "poll", decode_poll_begin},
    {"channel.poll.progress", "1", B, BROADCASTER, READ_POLLS, NULL, "Poll progress", "Poll update",
     "Poll updates", "i-poll", "poll", decode_poll_progress},
    {"channel.poll.end", "1", B, BROADCASTER, READ_POLLS, NULL, "Poll results", "Poll ended",
     "Polls ended", "i-poll", "poll", decode_poll_end},
    {"channel.prediction.begin", "1", B, BROADCASTER, READ_PREDICTIONS, NULL, "Predictions",
     "Prediction started", "Predictions started", "i-prediction", "poll", decode_prediction_begin},
    {"channel.prediction.progress", "1", B, BROADCASTER, READ_PREDICTIONS, NULL,
     "Prediction progress", "Prediction update", "Prediction updates", "i-prediction", "poll",
     decode_prediction_progress},
    {"channel.prediction.lock", "1", B, BROADCASTER, READ_PREDICTIONS, NULL, "Prediction locks",
     "Prediction locked", "Predictions locked", "i-lock", "poll", decode_prediction_lock},
    {"channel.prediction.end", "1", B, BROADCASTER, READ_PREDICTIONS, NULL, "Prediction results",
     "Prediction ended", "Predictions ended", "i-trophy", "poll", decode_prediction_end},
    {"channel.goal.begin", "1", B, BROADCASTER, "channel:read:goals", NULL, NULL, "Creator goals",
     "Goal started", "Goals started", "i-trophy", "info", decode_goal_begin},
    {"channel.goal.progress", "1", B, BROADCASTER, "channel:read:goals", NULL, NULL,
     "Creator goal progress", "Goal progress", "Goal updates", "i-trophy", "info",
     decode_goal_progress},
    {"channel.goal.end", "1", B, BROADCASTER, "channel:read:goals", NULL, NULL,
     "Creator goal results", "Goal ended", "Goals ended", "i-trophy", "info", decode_goal_end},
    {"channel.charity_campaign.donate", "1", B, BROADCASTER, "channel:read:charity", NULL, NULL,
     "Charity donations", "Charity donation", "Charity donations", "i-heart", "follow",
     decode_charity_donate},
    {"channel.charity_campaign.start", "1", B, BROADCASTER, "channel:read:charity", NULL, NULL,
     "Charity campaigns", "Charity campaign started", "Charity campaigns started", "i-heart",
     "follow", decode_charity_start},
    {"channel.charity_campaign.progress", "1", B, BROADCASTER, "channel:read:charity", NULL, NULL,
     "Charity campaign progress", "Charity campaign progress", "Charity campaign updates",
     "i-heart", "follow", decode_charity_progress},
    {"channel.charity_campaign.stop", "1", B, BROADCASTER, "channel:read:charity", NULL, NULL,
     "Charity campaign endings", "Charity campaign ended", "Charity campaigns ended", "i-heart",
     "follow", decode_charity_stop},
    {"channel.ad_break.begin", "1", B, BROADCASTER, "channel:read:ads", NULL, NULL, "Ad breaks",
     "Ad break", "Ad breaks", "i-megaphone", "muted", decode_ad_break},
    {"channel.shoutout.create", "1", EVENT_COND_MODERATOR, BROADCASTER, READ_SHOUTOUTS, NULL,
     "Shoutouts given", "Shoutout given", "Shoutouts given", "i-megaphone", "raid",
     decode_shoutout_create},
    {"channel.shoutout.receive", "1", EVENT_COND_MODERATOR, BROADCASTER, READ_SHOUTOUTS, NULL,
     "Shoutouts received", "Shoutout received", "Shoutouts received", "i-megaphone", "raid",
     decode_shoutout_receive},
    {"channel.ban", "1", B, EVENT_NEED_NEVER, "channel:moderate", NULL, NULL, "Bans and timeouts",
     "Ban", "Bans & timeouts", "i-ban", "mod", decode_ban},
    {"user.authorization.grant", "1", B, EVENT_NEED_NEVER, NULL, NULL, NULL, "App authorizations",
     "App authorized", "App authorizations", "i-check", "muted", decode_no_channel},
    {"user.authorization.revoke", "1", B, EVENT_NEED_NEVER, NULL, NULL, NULL,
     "App authorization revocations", "App authorization revoked", "App revocations", "i-x",
     "muted", decode_no_channel},
};

/* Labels that depend on the payload (see struct event_variant). */
static const struct event_variant variants[] = {
    {"channel.ban", "is_permanent", "false", "Timeout", "i-timeout", "mod"},
    {"channel.subscribe", "is_gift", "true", "Gifted sub", "i-gift", "sub"},
    {"channel.chat.message", "cheer", "*", "Cheer", "i-bits", "bits"},
    {"channel.bits.use", "type", "cheer", "Cheer", "i-bits", "bits"},
    {"channel.bits.use", "type", "power_up", "Power-up", "i-bits", "bits"},
    {"channel.bits.use", "type", "combo", "Combo", "i-bits", "bits"},
    {"channel.goal.end", "is_achieved", "true", "Goal achieved", "i-trophy", "info"},
    {"channel.chat.notification", "notice_type", "sub", "Subscription", "i-star", "sub"},
    {"channel.chat.notification", "notice_type", "resub", "Resub", "i-resub", "sub"},
    {"channel.chat.notification", "notice_type", "sub_gift", "Gift sub", "i-gift", "sub"},
    {"channel.chat.notification", "notice_type", "community_sub_gift", "Gift subs", "i-gift",
     "sub"},
    {"channel.chat.notification", "notice_type", "gift_paid_upgrade", "Sub upgrade", "i-upgrade",
     "sub"},
    {"channel.chat.notification", "notice_type", "prime_paid_upgrade", "Prime upgrade", "i-upgrade",
     "sub"},
    {"channel.chat.notification", "notice_type", "pay_it_forward", "Pay it forward", "i-gift",
     "sub"},
    {"channel.chat.notification", "notice_type", "raid", "Raid", "i-raid", "raid"},
    {"channel.chat.notification", "notice_type", "unraid", "Raid cancelled", "i-x", "muted"},
    {"channel.chat.notification", "notice_type", "announcement", "Announcement", "i-megaphone",
     "info"},
    {"channel.chat.notification", "notice_type", "bits_badge_tier", "Bits badge", "i-bits", "bits"},
    {"channel.chat.notification", "notice_type", "charity_donation", "Charity donation", "i-heart",
     "follow"},
};

const struct event_variant *event_variants(size_t *count)
{
    *count = sizeof variants / sizeof variants[0];
    return variants;
}

static json_t *label_row(const char *label, const char *plural, const char *icon, const char *tone)
{
    return json_pack("{ss ss ss ss}", "label", label, "plural", plural, "icon", icon, "tone", tone);
}

int event_labels_json(json_t *into)
{
    json_t *byType = json_object(), *list = json_array();
    int rc = byType && list ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < sizeof types / sizeof types[0]; i++)
        rc = json_object_set_new(
            byType, types[i].type,
            label_row(types[i].label, types[i].plural, types[i].icon, types[i].tone));
    if (rc == 0)
        rc = json_object_set_new(byType, "sev.gap",
                                 label_row("Possible gap", "Possible gaps", "i-gap", "gap"));
    for (size_t i = 0; rc == 0 && i < sizeof variants / sizeof variants[0]; i++) {
        const struct event_variant *v = &variants[i];
        rc = json_array_append_new(list, json_pack("{ss ss ss ss ss ss}", "type", v->type, "key",
                                                   v->key, "value", v->value, "label", v->label,
                                                   "icon", v->icon, "tone", v->tone));
    }
    if (rc == 0 && json_object_set(into, "types", byType) == 0 &&
        json_object_set(into, "variants", list) == 0) {
        json_decref(byType);
        json_decref(list);
        return 0;
    }
    json_decref(byType);
    json_decref(list);
    return -1;
}

const struct event_type_info *event_types(size_t *count)
{
    *count = sizeof types / sizeof types[0];
    return types;
}

const struct event_type_info *event_type_find(const char *type)
{
    for (size_t i = 0; type && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(types[i].type, type) == 0)
            return &types[i];
    return NULL;
}

event_decode_fn event_type_decoder(const char *type)
{
    const struct event_type_info *row = event_type_find(type);
    return row ? row->decode : decode_generic;
}
