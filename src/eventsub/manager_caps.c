/* manager_caps.c: the capability panel — per type, whether SEV receives it for a streamer,
 * and why not. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "eventsub/manager_int.h"

/* ---- capabilities ---- */

int esm_capabilities_json(struct esm *m, const char *login, struct buf *out)
{
    struct streamer *s = NULL;
    const char *key;
    void *v;
    for (size_t i = 0; m && map_next(&m->streamers, &i, &key, &v);)
        if (strcasecmp(((struct streamer *)v)->login, login) == 0)
            s = v;
    esm_catalog_build(); /* m may be NULL: esm_new never ran */
    json_t *types = json_array();
    for (size_t row = 0; row < NWANTED; row++) {
        const struct wanted *w = &esm_catalog[row];
        if (row > 0 && esm_catalog[row - 1].t == w->t)
            continue; /* the second raid row: reported with the first */
        int receiving = 0;
        const char *reason = m ? "nobody watches this streamer yet: set it as your favorite"
                               : "SEV runs without Twitch credentials (TWITCH_CLIENT_ID)";
        const char *via = NULL;
        if (s) {
            for (size_t k = row; k < NWANTED && esm_catalog[k].t == w->t; k++) {
                const struct sub *sub = &s->subs[k];
                if (sub->state == SUB_ENABLED && sub->via == ESM_CONDUIT &&
                    !(m->shard && m->shard->pointed)) {
                    reason = "connecting to Twitch (the conduit's shard has no session yet)";
                } else if (sub->state == SUB_ENABLED) {
                    receiving = 1;
                    via = esm_via_name(sub->via);
                } else if (sub->state == SUB_UNAVAILABLE) {
                    reason = sub->reason;
                } else if (sub->state == SUB_PENDING) {
                    reason = "waiting for Twitch to verify the webhook";
                } else {
                    reason = "connecting to Twitch";
                }
            }
        }
        json_array_append_new(
            types, json_pack("{ss ss ss sb ss? ss? ss? ss? ss?}", "type", w->t->type, "version",
                             w->t->version, "label", w->t->what, "receiving", receiving,
                             "transport", via, "reason", receiving ? NULL : reason, "scope",
                             w->t->scope, "event_label", w->t->label, "icon", w->t->icon));
    }
    json_t *labels = json_object();
    json_t *doc = labels && event_labels_json(labels) == 0
                      ? json_pack("{so so}", "types", types, "labels", labels)
                      : NULL;
    if (!doc) {
        json_decref(labels);
        json_decref(types);
    }
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (!text)
        return -1;
    int rc = buf_puts(out, text);
    free(text);
    return rc;
}
