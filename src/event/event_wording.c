/* The English of summaries, shared by the EventSub decoders and the chat notification ones so
 * that "Alice gifted 5 Tier 1 subs" reads the same whichever way Twitch told us. */
#include "event/event_int.h"

#include <inttypes.h>
#include <string.h>

const char *tier_label(json_t *obj, const char *key)
{
    int64_t tier;
    const char *s = field_str(obj, key);
    if (s && strcmp(s, "Prime") == 0)
        return "Prime";
    if (field_int(obj, key, &tier) < 0)
        return NULL;
    switch (tier) {
    case 1000:
        return "Tier 1";
    case 2000:
        return "Tier 2";
    case 3000:
        return "Tier 3";
    default:
        return NULL;
    }
}

const char *plural(int64_t n)
{
    return n == 1 ? "" : "s";
}

void say_subscribed(struct event_decoding *d, const char *who, const char *tier, int is_prime,
                    int64_t months)
{
    if (is_prime || (tier && strcmp(tier, "Prime") == 0))
        decoding_say(d, "%s subscribed with Prime", who);
    else if (tier)
        decoding_say(d, "%s subscribed at %s", who, tier);
    else
        decoding_say(d, "%s subscribed", who);
    if (months > 1)
        decoding_say(d, " for %" PRId64 " months", months);
}

void say_resubscribed(struct event_decoding *d, const char *who, int64_t months, const char *tier,
                      int is_prime, const char *text)
{
    decoding_say(d, "%s resubscribed", who);
    if (months > 0)
        decoding_say(d, " for %" PRId64 " month%s", months, plural(months));
    if (is_prime || (tier && strcmp(tier, "Prime") == 0))
        decoding_say(d, " with Prime");
    else if (tier && strcmp(tier, "Tier 1") != 0)
        decoding_say(d, " at %s", tier); /* Tier 1 is the norm: not worth the words */
    decoding_say_text(d, text);
}

void say_gifted(struct event_decoding *d, const char *who, int64_t count, const char *tier)
{
    if (count == 1)
        decoding_say(d, "%s gifted a %s%ssub", who, tier ? tier : "", tier ? " " : "");
    else
        decoding_say(d, "%s gifted %" PRId64 " %s%ssubs", who, count, tier ? tier : "",
                     tier ? " " : "");
}

void say_gifted_to(struct event_decoding *d, const char *who, const char *tier,
                   const char *recipient)
{
    say_gifted(d, who, 1, tier);
    if (recipient)
        decoding_say(d, " to %s", recipient);
}

void say_raid_from(struct event_decoding *d, const char *who, int64_t viewers)
{
    decoding_say(d, "Raid from %s with %" PRId64 " viewer%s", who, viewers, plural(viewers));
}

void say_cheered(struct event_decoding *d, const char *who, int64_t bits, const char *text)
{
    decoding_say(d, "%s cheered %" PRId64 " bit%s", who, bits, plural(bits));
    decoding_say_text(d, text);
}

const char *words_for(const char *const (*table)[2], const char *s)
{
    for (; s && (*table)[0]; table++)
        if (strcmp((*table)[0], s) == 0)
            return (*table)[1];
    return NULL;
}
