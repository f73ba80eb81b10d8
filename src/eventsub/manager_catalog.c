/* manager_catalog.c: what SEV subscribes to for one streamer — a row per type of the type
 * table (event_types.c), with channel.raid made twice (incoming and outgoing). Pure: no
 * manager state, built once and never changed. */
#include <string.h>

#include "eventsub/manager_int.h"

static struct wanted catalog[MAX_WANTED];
static size_t nwanted;

const struct wanted *const esm_catalog = catalog;

size_t esm_catalog_count(void)
{
    return nwanted;
}

void esm_catalog_build(void)
{
    size_t n = 0;
    const struct event_type_info *types = event_types(&n);
    if (nwanted)
        return;
    for (size_t i = 0; i < n && nwanted + 2 <= MAX_WANTED; i++) {
        const struct event_type_info *t = &types[i];
        if (t->need == EVENT_NEED_NEVER)
            continue;
        switch (t->cond) {
        case EVENT_COND_RAID:
            catalog[nwanted++] = (struct wanted){t, COND_RAID_TO};
            catalog[nwanted++] = (struct wanted){t, COND_RAID_FROM};
            break;
        case EVENT_COND_CHAT:
            catalog[nwanted++] = (struct wanted){t, COND_CHAT};
            break;
        case EVENT_COND_MODERATOR:
            catalog[nwanted++] = (struct wanted){t, COND_MODERATOR};
            break;
        case EVENT_COND_BROADCASTER:
            catalog[nwanted++] = (struct wanted){t, COND_BROADCASTER};
            break;
        }
    }
}
const char *esm_via_name(enum esm_transport via)
{
    return via == ESM_WEBHOOK ? "webhook" : via == ESM_CONDUIT ? "conduit" : "websocket";
}

int esm_has_scope(const char *scopes, const char *scope)
{
    if (!scopes || !scope)
        return 0;
    size_t n = strlen(scope);
    for (const char *p = scopes; (p = strstr(p, scope)); p += n)
        if ((p == scopes || p[-1] == ' ') && (p[n] == 0 || p[n] == ' '))
            return 1;
    return 0;
}

int esm_row_of(const char *type)
{
    for (size_t row = 0; type && row < NWANTED; row++)
        if (strcmp(catalog[row].t->type, type) == 0)
            return (int)row;
    return -1;
}

int esm_supersedes(int row)
{
    for (size_t k = 0; k < NWANTED; k++)
        if (catalog[k].t->superseded_by &&
            strcmp(catalog[k].t->superseded_by, catalog[row].t->type) == 0)
            return 1;
    return 0;
}
