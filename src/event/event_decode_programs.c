/* The decoders of what a channel runs: channel point rewards, hype trains, polls,
 * predictions, creator goals and charity campaigns. The table that names them is
 * event_types.c; what happens on the channel and to its audience is event_decode_channel.c
 * (which says what the pipeline has done before a decoder runs). */
#include "event/event_int.h"

#include <inttypes.h>
#include <string.h>

static void say_redeemed(struct event_decoding *d, const char *who, const char *reward,
                         int64_t points, const char *text)
{
    decoding_say(d, "%s redeemed %s", who, reward);
    if (points >= 0)
        decoding_say(d, " (%" PRId64 " point%s)", points, plural(points));
    decoding_say_text(d, text);
}

int decode_redemption_add(struct event_decoding *d)
{
    json_t *reward = field_obj(d->obj, "reward");
    decoding_time(d, "redeemed_at");
    decoding_dedupe(d, "id");
    const char *who = decoding_viewer_from(d, "user", "Someone");
    say_redeemed(d, who, decoding_title(d, reward, "title"), field_int_or(reward, "cost", -1),
                 field_str(d->obj, "user_input"));
    return 0;
}

int decode_redemption_update(struct event_decoding *d)
{
    json_t *reward = field_obj(d->obj, "reward");
    decoding_time(d, "redeemed_at");
    decoding_dedupe(d, "id");
    const char *who = decoding_viewer_from(d, "user", "Someone");
    const char *title = decoding_title(d, reward, "title");
    const char *status = decoding_clip(d, field_nonempty(d->obj, "status"), EVENT_NAME_CLIP);
    decoding_say(d, "%s's %s redemption was %s", who, title,
                 status && strcmp(status, "unknown") ? status : "updated");
    return 0;
}

int decode_automatic_redemption(struct event_decoding *d)
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
    const char *who = decoding_viewer_from(d, "user", "Someone");
    const char *name = words_for(rewards, field_str(reward, "type"));
    int64_t points = field_int_or(reward, "channel_points", field_int_or(reward, "cost", -1));
    const char *text = field_message_text(d->obj); /* v2; v1 sent user_input */
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

int decode_hype_train_begin(struct event_decoding *d)
{
    decoding_time(d, "started_at");
    return decoding_say(d, "%s level %" PRId64 " started", hype_train_name(d->obj),
                        field_int_or(d->obj, "level", 1));
}

int decode_hype_train_progress(struct event_decoding *d)
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

int decode_hype_train_end(struct event_decoding *d)
{
    decoding_time(d, "ended_at");
    return decoding_say(d, "%s ended at level %" PRId64, hype_train_name(d->obj),
                        field_int_or(d->obj, "level", 1));
}

int decode_poll_begin(struct event_decoding *d)
{
    decoding_time(d, "started_at");
    return decoding_say(d, "Poll started: %s", decoding_title(d, d->obj, "title"));
}

int decode_poll_progress(struct event_decoding *d)
{
    return decoding_say(d, "Poll update: %s", decoding_title(d, d->obj, "title"));
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
        decoding_say(d, " (winner: %s with %" PRId64 " vote%s)", decoding_title(d, best, "title"),
                     best_votes, plural(best_votes));
}

int decode_poll_end(struct event_decoding *d)
{
    const char *status = field_str(d->obj, "status");
    decoding_time(d, "ended_at");
    const char *title = decoding_title(d, d->obj, "title");
    if (status && strcmp(status, "terminated") == 0)
        return decoding_say(d, "Poll terminated: %s", title);
    if (status && strcmp(status, "archived") == 0)
        return decoding_say(d, "Poll archived: %s", title);
    decoding_say(d, "Poll ended: %s", title);
    say_poll_result(d, field_array(d->obj, "choices"));
    return 0;
}

int decode_prediction_begin(struct event_decoding *d)
{
    decoding_time(d, "started_at");
    return decoding_say(d, "Prediction started: %s", decoding_title(d, d->obj, "title"));
}

int decode_prediction_progress(struct event_decoding *d)
{
    return decoding_say(d, "Prediction update: %s", decoding_title(d, d->obj, "title"));
}

int decode_prediction_lock(struct event_decoding *d)
{
    decoding_time(d, "locked_at");
    return decoding_say(d, "Prediction locked: %s", decoding_title(d, d->obj, "title"));
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

int decode_prediction_end(struct event_decoding *d)
{
    const char *status = field_str(d->obj, "status");
    decoding_time(d, "ended_at");
    const char *title = decoding_title(d, d->obj, "title");
    if (status && strcmp(status, "canceled") == 0)
        return decoding_say(d, "Prediction canceled: %s", title);
    json_t *winner = winning_outcome(d->obj);
    decoding_say(d, "Prediction %s: %s", winner ? "resolved" : "ended", title);
    if (winner)
        decoding_say(d, " (winner: %s)", decoding_title(d, winner, "title"));
    return 0;
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
    return decoding_title(d, d->obj, "description");
}

int decode_goal_begin(struct event_decoding *d)
{
    decoding_time(d, "started_at");
    decoding_dedupe(d, "id");
    decoding_say(d, "Goal started: %s", goal_name(d));
    say_goal_amounts(d);
    return 0;
}

int decode_goal_progress(struct event_decoding *d)
{
    decoding_say(d, "Goal progress: %s", goal_name(d));
    say_goal_amounts(d);
    return 0;
}

int decode_goal_end(struct event_decoding *d)
{
    decoding_time(d, "ended_at");
    decoding_dedupe(d, "id");
    decoding_say(d, "Goal %s: %s", field_bool(d->obj, "is_achieved") ? "achieved" : "ended",
                 goal_name(d));
    say_goal_amounts(d);
    return 0;
}

int decode_charity_donate(struct event_decoding *d)
{
    decoding_dedupe(d, "id");
    const char *who = decoding_viewer_from(d, "user", "Someone");
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

int decode_charity_start(struct event_decoding *d)
{
    const char *charity = charity_campaign(d);
    if (!charity)
        return -1;
    decoding_time(d, "started_at");
    decoding_dedupe(d, "id");
    return decoding_say(d, "Charity campaign started for %s (goal %s)", charity,
                        money(d, field_obj(d->obj, "target_amount")));
}

int decode_charity_progress(struct event_decoding *d)
{
    const char *charity = charity_campaign(d);
    if (!charity)
        return -1;
    const char *current = money(d, field_obj(d->obj, "current_amount"));
    return decoding_say(d, "Charity campaign for %s: %s of %s raised", charity, current,
                        money(d, field_obj(d->obj, "target_amount")));
}

int decode_charity_stop(struct event_decoding *d)
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
