/* manager_adopt.c: start-up — list the subscriptions that exist (Get EventSub
 * Subscriptions), adopt those that match what is wanted, delete the orphans, then plan. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "eventsub/manager_int.h"

/* ---- start-up: adopt what exists (webhook mode) ---- */

static void adopt_and_plan(struct esm *m)
{
    const char *key;
    void *v;
    size_t idx;
    json_t *item;
    json_array_foreach(m->existing, idx, item)
    {
        const char *type = json_string_value(json_object_get(item, "type"));
        const char *version = json_string_value(json_object_get(item, "version"));
        const char *status = json_string_value(json_object_get(item, "status"));
        const char *id = json_string_value(json_object_get(item, "id"));
        json_t *cond = json_object_get(item, "condition");
        int usable = status && (strcmp(status, "enabled") == 0 ||
                                strcmp(status, "webhook_callback_verification_pending") == 0);
        int adopted = 0;
        for (size_t i = 0; usable && !adopted && map_next(&m->streamers, &i, &key, &v);) {
            struct streamer *s = v;
            for (int row = 0; row < (int)NWANTED && !adopted; row++) {
                struct sub *sub = &s->subs[row];
                enum esm_transport via;
                const char *host = NULL, *why = NULL;
                if (sub->id[0] || strcmp(esm_catalog[row].t->type, type ? type : "") != 0 ||
                    strcmp(esm_catalog[row].t->version, version ? version : "") != 0)
                    continue;
                if (!esm_decide(s, row, &via, &host, &why) || via != m->opts.transport)
                    continue;
                json_t *want = esm_condition_for(s, row, host);
                if (esm_condition_matches(cond, want)) {
                    snprintf(sub->id, sizeof sub->id, "%s", id);
                    sub->via = m->opts.transport;
                    sub->host[0] = 0;
                    sub->state = strcmp(status, "enabled") == 0 ? SUB_ENABLED : SUB_PENDING;
                    adopted = 1;
                    m->stats.adopted++;
                }
                json_decref(want);
            }
        }
        if (!adopted && id) {
            log_info("eventsub.orphan_deleted", "type=%s status=%s", type ? type : "?",
                     status ? status : "?");
            esm_delete_remote(m, "", id);
        }
    }
    json_decref(m->existing);
    m->existing = NULL;
    m->adopting = 0;
    for (size_t i = 0; map_next(&m->streamers, &i, &key, &v);)
        esm_plan(v);
}

static void on_listed(void *arg, int status, json_t *body, const char *error)
{
    struct esm *m = arg;
    if (esm_call_returned(m))
        return;
    if (status != 200) {
        log_warn("eventsub.list_failed",
                 "status=%d error=\"%s\" action=\"creating without "
                 "adoption; a 409 will be resolved by listing again\"",
                 status, error ? error : "");
        adopt_and_plan(m);
        return;
    }
    size_t idx;
    json_t *item;
    json_array_foreach(json_object_get(body, "data"), idx, item)
    {
        json_t *tr = json_object_get(item, "transport");
        const char *cb = json_string_value(json_object_get(tr, "callback"));
        const char *cid = json_string_value(json_object_get(tr, "conduit_id"));
        if (m->opts.transport == ESM_CONDUIT) {
            if (cid && strcmp(cid, m->conduit_id) == 0)
                json_array_append(m->existing, item);
            continue; /* another deployment's conduit, or a webhook: not ours to touch */
        }
        if (!cb || strcmp(cb, m->callback_url) != 0)
            continue; /* another app's or another deployment's: not ours to touch */
        if (m->opts.secret_changed) {
            esm_delete_remote(m, "", json_string_value(json_object_get(item, "id")));
            continue; /* made with the old secret: its notifications would fail the HMAC */
        }
        json_array_append(m->existing, item);
    }
    const char *cursor =
        json_string_value(json_object_get(json_object_get(body, "pagination"), "cursor"));
    if (cursor && cursor[0])
        esm_list_page(m, cursor);
    else
        adopt_and_plan(m);
}

void esm_list_page(struct esm *m, const char *after)
{
    char path[512];
    snprintf(path, sizeof path, "/eventsub/subscriptions%s%s", after ? "?after=" : "",
             after ? after : "");
    if (esm_helix(m, NULL, "GET", path, NULL, on_listed, m) < 0)
        adopt_and_plan(m);
}
