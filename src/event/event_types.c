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
    say_cheered(d, who, field_int_or(d->obj, "bits", 0), field_str(d->obj, "message"));
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

/* --- the table --- */

#define REDEMPTIONS "channel:read:redemptions"

static const struct event_type_info types[] = {
    /* type, version, label, scope, needs_broadcaster, decoder */
    {"stream.online", "1", "Stream online", NULL, 0, decode_stream_online},
    {"stream.offline", "1", "Stream offline", NULL, 0, decode_stream_offline},
    {"channel.update", "2", "Channel updates", NULL, 0, decode_channel_update},
    {"channel.raid", "1", "Raids", NULL, 0, decode_raid},
    {"channel.follow", "2", "Follows", "moderator:read:followers", 1, decode_follow},
    {"channel.subscribe", "1", "Subscriptions", "channel:read:subscriptions", 1, decode_subscribe},
    {"channel.subscription.gift", "1", "Gift subs", "channel:read:subscriptions", 1,
     decode_subscription_gift},
    {"channel.subscription.message", "1", "Resubs", "channel:read:subscriptions", 1,
     decode_subscription_message},
    {"channel.cheer", "1", "Cheers", "bits:read", 1, decode_cheer},
    {"channel.channel_points_custom_reward_redemption.add", "1", "Channel points redemptions",
     REDEMPTIONS, 1, decode_redemption_add},
    {"channel.channel_points_custom_reward_redemption.update", "1", "Redemption updates",
     REDEMPTIONS, 1, decode_redemption_update},
    {"channel.channel_points_automatic_reward_redemption.add", "2", "Automatic rewards",
     REDEMPTIONS, 1, decode_automatic_redemption},
    {"channel.hype_train.begin", "2", "Hype trains", "channel:read:hype_train", 1,
     decode_hype_train_begin},
    {"channel.hype_train.progress", "2", "Hype train progress", "channel:read:hype_train", 1,
     decode_hype_train_progress},
    {"channel.hype_train.end", "2", "Hype train ends", "channel:read:hype_train", 1,
     decode_hype_train_end},
    {"channel.poll.begin", "1", "Polls", "channel:read:polls", 1, decode_poll_begin},
    {"channel.poll.progress", "1", "Poll progress", "channel:read:polls", 1, decode_poll_progress},
    {"channel.poll.end", "1", "Poll results", "channel:read:polls", 1, decode_poll_end},
    {"channel.prediction.begin", "1", "Predictions", "channel:read:predictions", 1,
     decode_prediction_begin},
    {"channel.prediction.progress", "1", "Prediction progress", "channel:read:predictions", 1,
     decode_prediction_progress},
    {"channel.prediction.lock", "1", "Prediction locks", "channel:read:predictions", 1,
     decode_prediction_lock},
    {"channel.prediction.end", "1", "Prediction results", "channel:read:predictions", 1,
     decode_prediction_end},
    {"channel.ban", "1", "Bans and timeouts", "channel:moderate", 1, decode_ban},
    {"channel.bits.use", "1", "Bits", "bits:read", 1, decode_bits_use},
    {"channel.chat.message", "1", "Chat messages", "user:read:chat", 0, decode_chat_message},
    {"channel.chat.notification", "1", "Chat notifications", "user:read:chat", 0,
     decode_chat_notification},
    {"user.authorization.grant", "1", "App authorizations", NULL, 0, decode_no_channel},
    {"user.authorization.revoke", "1", "App authorization revocations", NULL, 0, decode_no_channel},
};

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
