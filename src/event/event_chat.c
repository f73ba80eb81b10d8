/* channel.chat.notification: one event type, many notices. `notice_type` names the notice and
 * the one object of the event that is not null ("resub" → event.resub); the shared_chat_*
 * variants have the same shapes under their own names ("shared_chat_resub" →
 * event.shared_chat_resub). Summaries read like the matching EventSub types'.
 * Adding a notice: one row in `notices` plus one summarizer. */
#include "event/event_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define SHARED_PREFIX "shared_chat_"

struct notice_call {
    struct event_decoding *d; /* borrowed */
    json_t *detail;           /* borrowed: the object named by notice_type, or NULL */
    const char *who;          /* the chatter as the summary names them */
    int anonymous;            /* chatter_is_anonymous */
};

typedef void (*notice_fn)(struct notice_call *n);

/* A user named by <prefix>_name/_login of obj, clipped; fallback when neither is there. */
static const char *user_label(struct event_decoding *d, json_t *obj, const char *prefix,
                              const char *fallback)
{
    char name_key[64], login_key[64];
    snprintf(name_key, sizeof name_key, "%s_name", prefix);
    snprintf(login_key, sizeof login_key, "%s_login", prefix);
    const char *name = field_nonempty(obj, name_key);
    name = name ? name : field_nonempty(obj, login_key);
    return name ? decoding_clip(d, name, EVENT_NAME_CLIP) : fallback;
}

static const char *gifter(struct notice_call *n)
{
    return n->anonymous ? "An anonymous gifter" : n->who;
}

static const char *original_gifter(struct notice_call *n)
{
    if (field_bool(n->detail, "gifter_is_anonymous"))
        return "an anonymous gifter";
    return user_label(n->d, n->detail, "gifter_user", "a gifter");
}

static void notice_sub(struct notice_call *n)
{
    say_subscribed(n->d, n->who, tier_label(n->detail, "sub_tier"),
                   field_bool(n->detail, "is_prime"),
                   field_int_or(n->detail, "duration_months", 0));
}

static void notice_resub(struct notice_call *n)
{
    /* the docs' table says sub_tier, their example sub_plan: take either */
    const char *tier = tier_label(n->detail, "sub_tier");
    say_resubscribed(n->d, n->who, field_int_or(n->detail, "cumulative_months", 0),
                     tier ? tier : tier_label(n->detail, "sub_plan"),
                     field_bool(n->detail, "is_prime"),
                     field_str(field_obj(n->d->obj, "message"), "text"));
}

static void notice_sub_gift(struct notice_call *n)
{
    say_gifted_to(n->d, gifter(n), tier_label(n->detail, "sub_tier"),
                  user_label(n->d, n->detail, "recipient_user", NULL));
}

static void notice_community_sub_gift(struct notice_call *n)
{
    say_gifted(n->d, gifter(n), field_int_or(n->detail, "total", 1),
               tier_label(n->detail, "sub_tier"));
}

static void notice_gift_paid_upgrade(struct notice_call *n)
{
    decoding_say(n->d, "%s continued the gift sub from %s", n->who, original_gifter(n));
}

static void notice_prime_paid_upgrade(struct notice_call *n)
{
    const char *tier = tier_label(n->detail, "sub_tier");
    decoding_say(n->d, "%s upgraded from Prime to %s", n->who, tier ? tier : "a paid sub");
}

static void notice_pay_it_forward(struct notice_call *n)
{
    decoding_say(n->d, "%s paid forward the gift from %s", n->who, original_gifter(n));
}

static void notice_raid(struct notice_call *n)
{
    /* the raiding channel is the viewer, as for channel.raid */
    if (decoding_viewer(n->d, n->detail, "user"))
        n->who = decoding_viewer_label(n->d, n->who);
    say_raid_from(n->d, n->who, field_int_or(n->detail, "viewer_count", 0));
}

static void notice_unraid(struct notice_call *n)
{
    decoding_say(n->d, "Raid canceled");
}

static void notice_announcement(struct notice_call *n)
{
    decoding_say(n->d, "Announcement");
    decoding_say_text(n->d, field_str(field_obj(n->d->obj, "message"), "text"));
}

static void notice_bits_badge_tier(struct notice_call *n)
{
    int64_t tier;
    if (field_int(n->detail, "tier", &tier) == 0)
        decoding_say(n->d, "%s earned the %" PRId64 " bits badge", n->who, tier);
    else
        decoding_say(n->d, "%s earned a new bits badge", n->who);
}

/* value 550, decimal_place 2 → "5.50". */
static void format_amount(json_t *amount, char *out, size_t size)
{
    int64_t value = field_int_or(amount, "value", 0);
    int64_t places = field_int_or(amount, "decimal_place", 0);
    places = places < 0 ? 0 : places > 8 ? 8 : places;
    int64_t scale = 1;
    for (int64_t i = 0; i < places; i++)
        scale *= 10;
    uint64_t magnitude = value < 0 ? 0 - (uint64_t)value : (uint64_t)value;
    if (places == 0)
        snprintf(out, size, "%s%" PRIu64, value < 0 ? "-" : "", magnitude);
    else
        snprintf(out, size, "%s%" PRIu64 ".%0*" PRIu64, value < 0 ? "-" : "",
                 magnitude / (uint64_t)scale, (int)places, magnitude % (uint64_t)scale);
}

static void notice_charity_donation(struct notice_call *n)
{
    char amount[64];
    json_t *money = field_obj(n->detail, "amount");
    format_amount(money, amount, sizeof amount);
    const char *currency = decoding_clip(n->d, field_nonempty(money, "currency"), 8);
    const char *charity =
        decoding_clip(n->d, field_nonempty(n->detail, "charity_name"), EVENT_NAME_CLIP);
    decoding_say(n->d, "%s donated %s%s%s", n->who, amount, currency ? " " : "",
                 currency ? currency : "");
    if (charity)
        decoding_say(n->d, " to %s", charity);
}

static void notice_unknown(struct notice_call *n)
{
    const char *system =
        decoding_clip(n->d, field_nonempty(n->d->obj, "system_message"), EVENT_TEXT_CLIP);
    if (system && *system)
        decoding_say(n->d, "%s", system);
    /* else the pipeline's "channel.chat.notification event" */
}

static const struct notice {
    const char *type; /* without the shared_chat_ prefix */
    notice_fn summarize;
} notices[] = {
    {"sub", notice_sub},
    {"resub", notice_resub},
    {"sub_gift", notice_sub_gift},
    {"community_sub_gift", notice_community_sub_gift},
    {"gift_paid_upgrade", notice_gift_paid_upgrade},
    {"prime_paid_upgrade", notice_prime_paid_upgrade},
    {"pay_it_forward", notice_pay_it_forward},
    {"raid", notice_raid},
    {"unraid", notice_unraid},
    {"announcement", notice_announcement},
    {"bits_badge_tier", notice_bits_badge_tier},
    {"charity_donation", notice_charity_donation},
};

static notice_fn notice_find(const char *type)
{
    if (type && strncmp(type, SHARED_PREFIX, strlen(SHARED_PREFIX)) == 0)
        type += strlen(SHARED_PREFIX);
    for (size_t i = 0; type && i < sizeof notices / sizeof notices[0]; i++)
        if (strcmp(notices[i].type, type) == 0)
            return notices[i].summarize;
    return notice_unknown;
}

/* " (in Bob's chat)" for notices that happened in another channel of a shared chat. */
static void say_shared_source(struct event_decoding *d, const char *type)
{
    if (!type || strncmp(type, SHARED_PREFIX, strlen(SHARED_PREFIX)) != 0)
        return;
    const char *source = user_label(d, d->obj, "source_broadcaster_user", NULL);
    if (source)
        decoding_say(d, " (in %s's chat)", source);
}

int decode_chat_notification(struct event_decoding *d)
{
    const char *type = field_str(d->obj, "notice_type");
    struct notice_call n = {
        .d = d,
        .detail = type ? field_obj(d->obj, type) : NULL,
        .anonymous = field_bool(d->obj, "chatter_is_anonymous"),
    };
    decoding_dedupe(d, "message_id");
    if (!n.anonymous)
        decoding_viewer(d, d->obj, "chatter_user");
    n.who = decoding_viewer_label(d, n.anonymous ? "An anonymous user" : "Someone");
    notice_find(type)(&n);
    say_shared_source(d, type);
    return 0;
}
