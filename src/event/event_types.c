/* THE table of EventSub types: one row per type (version, condition, whose consent it needs,
 * the capability panel's words, the pages' label, icon and tone, and its decoder), the
 * payload-dependent labels, and the lookups over them.
 *
 * Adding a type: one row in `types` below and one decoder (event_decode_channel.c or
 * event_decode_programs.c, declared in event_int.h). */
#include "event/event_int.h"

#include <string.h>

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
