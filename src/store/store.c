/* store.c: the public store functions. They check arguments once, here, and dispatch to the
 * backend chosen from the URI scheme; backends never see a NULL string or a bad limit. */
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "store/store_int.h"

/* The URI schemes we know. A row with no backend is recognised but not built. */
static const struct store_scheme {
    const char *prefix;
    const struct store_backend *be; /* NULL: not built yet */
    const char *missing;            /* the error when be is NULL */
} store_schemes[] = {
    {"sqlite:", &store_sqlite_backend, NULL},
    {"postgres://", NULL, "PostgreSQL backend not built yet"},
    {"postgresql://", NULL, "PostgreSQL backend not built yet"},
};

static const struct store_scheme *scheme_find(const char *uri)
{
    for (size_t i = 0; i < sizeof store_schemes / sizeof store_schemes[0]; i++) {
        const char *p = store_schemes[i].prefix;
        if (strncmp(uri, p, strlen(p)) == 0)
            return &store_schemes[i];
    }
    return NULL;
}

int store_open(uv_loop_t *loop, const char *uri, struct store **out, struct err *err)
{
    if (!uri || !*uri)
        return err_set(err, "no database URI (want sqlite:PATH or postgres://…)");
    const struct store_scheme *sc = scheme_find(uri);
    if (!sc) {
        /* Name only the scheme: a URI may carry a password. */
        size_t n = strcspn(uri, ":");
        return err_set(err, "unknown database scheme \"%.*s\" (want sqlite:PATH or postgres://…)",
                       (int)(n > 32 ? 32 : n), uri);
    }
    if (!sc->be)
        return err_set(err, "%s", sc->missing);
    return sc->be->open(loop, uri + strlen(sc->prefix), out, err);
}

void store_close(struct store *st)
{
    if (st)
        st->be->close(st);
}

static int event_ok(const struct event *ev)
{
    return ev && ev->id && *ev->id && ev->type && *ev->type && ev->streamer_id &&
           *ev->streamer_id && ev->streamer_login && *ev->streamer_login;
}

int store_append(struct store *st, struct event *ev, store_append_fn cb, void *arg)
{
    if (!cb || !event_ok(ev))
        return STORE_EINVAL;
    return st->be->append(st, ev, clock_wall_us(), cb, arg);
}

int store_streamer_put(struct store *st, const struct streamer_info *s, store_done_fn cb, void *arg)
{
    if (!cb || !s || !s->id[0] || !s->login[0] || !memchr(s->id, 0, sizeof s->id) ||
        !memchr(s->login, 0, sizeof s->login) ||
        !memchr(s->display_name, 0, sizeof s->display_name))
        return STORE_EINVAL;
    return st->be->streamer_put(st, s, clock_wall_us(), cb, arg);
}

static struct store_read read_init(enum store_read_kind kind, const char *login, const char *ref_id,
                                   int limit, void *arg)
{
    return (struct store_read){
        .kind = kind,
        .login = login ? login : "",
        .ref_id = ref_id,
        .limit = limit,
        .now_us = clock_wall_us(),
        .arg = arg,
    };
}

int store_recent(struct store *st, const char *login, const char *before_id, int limit,
                 store_events_fn cb, void *arg)
{
    if (!cb || limit < 1 || limit > STORE_READ_LIMIT_MAX)
        return -1;
    struct store_read req = read_init(STORE_READ_RECENT, login, before_id, limit, arg);
    req.cb.events = cb;
    return st->be->read(st, &req);
}

int store_since(struct store *st, const char *login, const char *since_id, int limit,
                store_events_fn cb, void *arg)
{
    if (!cb || limit < 1 || limit > STORE_READ_LIMIT_MAX)
        return -1;
    struct store_read req = read_init(STORE_READ_SINCE, login, since_id, limit, arg);
    req.cb.events = cb;
    return st->be->read(st, &req);
}

int store_streamer_get(struct store *st, const char *login, store_streamer_fn cb, void *arg)
{
    if (!cb)
        return -1;
    struct store_read req = read_init(STORE_READ_STREAMER, login, NULL, 0, arg);
    req.cb.streamer = cb;
    return st->be->read(st, &req);
}

int store_stats_streamers(struct store *st, store_stats_fn cb, void *arg)
{
    if (!cb)
        return -1;
    struct store_read req = read_init(STORE_READ_STATS_STREAMERS, NULL, NULL, 0, arg);
    req.cb.stats = cb;
    return st->be->read(st, &req);
}

int store_stats_types(struct store *st, const char *login, store_stats_fn cb, void *arg)
{
    if (!cb)
        return -1;
    struct store_read req = read_init(STORE_READ_STATS_TYPES, login, NULL, 0, arg);
    req.cb.stats = cb;
    return st->be->read(st, &req);
}

int store_stats_hourly(struct store *st, const char *login, int hours, store_stats_fn cb, void *arg)
{
    if (!cb || hours < 1 || hours > STORE_HOURS_MAX)
        return -1;
    struct store_read req = read_init(STORE_READ_STATS_HOURLY, login, NULL, hours, arg);
    req.cb.stats = cb;
    return st->be->read(st, &req);
}

int store_setting_get(struct store *st, const char *key, char **value, struct err *err)
{
    *value = NULL;
    if (!key || !*key)
        return err_set(err, "setting: empty key");
    return st->be->setting_get(st, key, value, err);
}

int store_setting_set(struct store *st, const char *key, const char *value, struct err *err)
{
    if (!key || !*key || !value)
        return err_set(err, "setting: empty key or no value");
    return st->be->setting_set(st, key, value, err);
}

int store_ping(struct store *st)
{
    return st ? st->be->ping(st) : -1;
}

void store_counters_get(struct store *st, struct store_counters *out)
{
    memset(out, 0, sizeof *out);
    st->be->counters(st, out);
}

void event_list_free(struct event_list *list)
{
    if (!list)
        return;
    for (size_t i = 0; i < list->count; i++)
        event_free(list->items[i]);
    free(list->items);
    free(list);
}

void stat_list_free(struct stat_list *list)
{
    if (!list)
        return;
    for (size_t i = 0; i < list->count; i++)
        free(list->rows[i].key);
    free(list->rows);
    free(list);
}
