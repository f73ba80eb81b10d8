/* store.c: the public store functions. They check arguments once, here, and dispatch to the
 * backend chosen from the URI scheme; backends never see a NULL string or a bad limit. */
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "store/store_int.h"

/* The URI schemes we know. A row with no backend is recognised but not built. */
static const struct store_scheme {
    const char *prefix;
    const struct store_backend *be; /* NULL: not built yet */
    const char *missing;            /* the error when be is NULL */
    int whole_uri;                  /* the backend gets the URI with its scheme */
} store_schemes[] = {
    {"sqlite:", &store_sqlite_backend, NULL, 0},
    {"postgres://", &store_pg_backend, NULL, 1},
    {"postgresql://", &store_pg_backend, NULL, 1},
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
    return sc->be->open(loop, sc->whole_uri ? uri : uri + strlen(sc->prefix), out, err);
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

/* A load balancer may probe /healthz thousands of times a second: a success is reused for
 * STORE_PING_REUSE_MS so the probe costs no query (and no file lock) on the loop each time.
 * A failure is never reused: the next probe asks again. */
#define STORE_PING_REUSE_MS 1000

int store_ping(struct store *st)
{
    if (!st)
        return -1;
    uint64_t now = uv_now(st->loop);
    if (st->ping_ok_at && now - st->ping_ok_at < STORE_PING_REUSE_MS)
        return 0;
    if (st->be->ping(st) < 0) {
        st->ping_ok_at = 0;
        return -1;
    }
    st->ping_ok_at = now ? now : 1;
    return 0;
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

/* ---- accounts ---- */

static int id_ok(const char *id)
{
    return id && *id && strlen(id) < 32;
}

static struct store_acct_op *acct_new(enum store_acct_kind kind, int writes, void *arg)
{
    struct store_acct_op *op = calloc(1, sizeof *op);
    if (op) {
        op->kind = kind;
        op->writes = writes;
        op->now_us = clock_wall_us();
        op->arg = arg;
    }
    return op;
}

static void acct_free(struct store_acct_op *op)
{
    free(op->token.sealed);
    store_token_list_free(op->tokens);
    store_favorite_list_free(op->favorites);
    free(op);
}

static int acct_submit(struct store *st, struct store_acct_op *op)
{
    if (!st->be->account || st->be->account(st, op) < 0) {
        acct_free(op);
        return -1;
    }
    return 0;
}

void store_acct_deliver(struct store_acct_op *op)
{
    switch (op->kind) {
    case ACCT_USER_GET:
    case ACCT_SESSION_GET:
        op->cb.user(op->arg, op->status, op->status == 0 ? &op->user : NULL);
        break;
    case ACCT_TOKENS_ALL: {
        struct store_token_list *l = op->status == 0 ? op->tokens : NULL;
        if (l)
            op->tokens = NULL;
        op->cb.tokens(op->arg, op->status, l);
        break;
    }
    case ACCT_FAVORITES_ALL: {
        struct store_favorite_list *l = op->status == 0 ? op->favorites : NULL;
        if (l)
            op->favorites = NULL;
        op->cb.favorites(op->arg, op->status, l);
        break;
    }
    default:
        op->cb.done(op->arg, op->status);
        break;
    }
    acct_free(op);
}

static void copy_field(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
}

int store_user_put(struct store *st, const struct store_user *u, store_done_fn cb, void *arg)
{
    if (!cb || !u || !id_ok(u->id) || !u->login[0])
        return -1;
    struct store_acct_op *op = acct_new(ACCT_USER_PUT, 1, arg);
    if (!op)
        return -1;
    op->user = *u;
    copy_field(op->user_id, sizeof op->user_id, u->id);
    op->cb.done = cb;
    return acct_submit(st, op);
}

int store_user_get(struct store *st, const char *user_id, store_user_fn cb, void *arg)
{
    if (!cb || !id_ok(user_id))
        return -1;
    struct store_acct_op *op = acct_new(ACCT_USER_GET, 0, arg);
    if (!op)
        return -1;
    copy_field(op->user_id, sizeof op->user_id, user_id);
    op->cb.user = cb;
    return acct_submit(st, op);
}

int store_user_delete(struct store *st, const char *user_id, store_done_fn cb, void *arg)
{
    if (!cb || !id_ok(user_id))
        return -1;
    struct store_acct_op *op = acct_new(ACCT_USER_DELETE, 1, arg);
    if (!op)
        return -1;
    copy_field(op->user_id, sizeof op->user_id, user_id);
    op->cb.done = cb;
    return acct_submit(st, op);
}

int store_session_put(struct store *st, const unsigned char key[STORE_SESSION_KEY_LEN],
                      const char *user_id, int64_t expires_at_us, store_done_fn cb, void *arg)
{
    if (!cb || !key || !id_ok(user_id))
        return -1;
    struct store_acct_op *op = acct_new(ACCT_SESSION_PUT, 1, arg);
    if (!op)
        return -1;
    memcpy(op->key, key, STORE_SESSION_KEY_LEN);
    copy_field(op->user_id, sizeof op->user_id, user_id);
    op->expires_at_us = expires_at_us;
    op->cb.done = cb;
    return acct_submit(st, op);
}

int store_session_get(struct store *st, const unsigned char key[STORE_SESSION_KEY_LEN],
                      store_user_fn cb, void *arg)
{
    if (!cb || !key)
        return -1;
    struct store_acct_op *op = acct_new(ACCT_SESSION_GET, 0, arg);
    if (!op)
        return -1;
    memcpy(op->key, key, STORE_SESSION_KEY_LEN);
    op->cb.user = cb;
    return acct_submit(st, op);
}

int store_session_delete(struct store *st, const unsigned char key[STORE_SESSION_KEY_LEN],
                         store_done_fn cb, void *arg)
{
    if (!cb || !key)
        return -1;
    struct store_acct_op *op = acct_new(ACCT_SESSION_DELETE, 1, arg);
    if (!op)
        return -1;
    memcpy(op->key, key, STORE_SESSION_KEY_LEN);
    op->cb.done = cb;
    return acct_submit(st, op);
}

int store_sessions_delete(struct store *st, const char *user_id, store_done_fn cb, void *arg)
{
    if (!cb || (user_id && !id_ok(user_id)))
        return -1;
    struct store_acct_op *op = acct_new(ACCT_SESSIONS_DELETE, 1, arg);
    if (!op)
        return -1;
    copy_field(op->user_id, sizeof op->user_id, user_id);
    op->cb.done = cb;
    return acct_submit(st, op);
}

int store_token_put(struct store *st, const struct store_token *t, store_done_fn cb, void *arg)
{
    if (!cb || !t || !id_ok(t->owner) || !t->sealed || !t->sealed_len ||
        !memchr(t->scopes, 0, sizeof t->scopes))
        return -1;
    struct store_acct_op *op = acct_new(ACCT_TOKEN_PUT, 1, arg);
    if (!op)
        return -1;
    op->token = *t;
    op->token.sealed = malloc(t->sealed_len);
    if (!op->token.sealed) {
        free(op);
        return -1;
    }
    memcpy(op->token.sealed, t->sealed, t->sealed_len);
    copy_field(op->user_id, sizeof op->user_id, t->owner);
    op->cb.done = cb;
    return acct_submit(st, op);
}

int store_token_delete(struct store *st, const char *owner, store_done_fn cb, void *arg)
{
    if (!cb || !id_ok(owner))
        return -1;
    struct store_acct_op *op = acct_new(ACCT_TOKEN_DELETE, 1, arg);
    if (!op)
        return -1;
    copy_field(op->user_id, sizeof op->user_id, owner);
    op->cb.done = cb;
    return acct_submit(st, op);
}

int store_tokens_all(struct store *st, store_tokens_fn cb, void *arg)
{
    if (!cb)
        return -1;
    struct store_acct_op *op = acct_new(ACCT_TOKENS_ALL, 0, arg);
    if (!op)
        return -1;
    op->cb.tokens = cb;
    return acct_submit(st, op);
}

int store_favorite_set(struct store *st, const char *user_id, const struct streamer_info *s,
                       store_done_fn cb, void *arg)
{
    if (!cb || !id_ok(user_id) ||
        (s && (!s->id[0] || !s->login[0] || !memchr(s->id, 0, sizeof s->id) ||
               !memchr(s->login, 0, sizeof s->login) ||
               !memchr(s->display_name, 0, sizeof s->display_name))))
        return -1;
    struct store_acct_op *op = acct_new(ACCT_FAVORITE_SET, 1, arg);
    if (!op)
        return -1;
    copy_field(op->user_id, sizeof op->user_id, user_id);
    if (s) {
        op->has_streamer = 1;
        op->streamer = *s;
    }
    op->cb.done = cb;
    return acct_submit(st, op);
}

int store_favorites_all(struct store *st, store_favorites_fn cb, void *arg)
{
    if (!cb)
        return -1;
    struct store_acct_op *op = acct_new(ACCT_FAVORITES_ALL, 0, arg);
    if (!op)
        return -1;
    op->cb.favorites = cb;
    return acct_submit(st, op);
}

void store_token_list_free(struct store_token_list *list)
{
    if (!list)
        return;
    for (size_t i = 0; i < list->count; i++) {
        if (list->items[i].sealed)
            memset(list->items[i].sealed, 0, list->items[i].sealed_len);
        free(list->items[i].sealed);
    }
    free(list->items);
    free(list);
}

void store_favorite_list_free(struct store_favorite_list *list)
{
    if (!list)
        return;
    free(list->items);
    free(list);
}

/* Shared by the backends (store_int.h). */
void utf8_copy(char *dst, size_t size, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= size) {
        n = size - 1;
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
            n--; /* src[n] would be the first byte cut: never cut inside a character */
    }
    if (n)
        memcpy(dst, src, n);
    dst[n] = 0;
}

/* Shared by the backends (store_int.h). */
struct stat_list *stats_hours_new(int64_t first_hour, int hours)
{
    struct stat_list *l = calloc(1, sizeof *l);
    size_t cap = 0;
    if (!l)
        return NULL;
    for (int i = 0; i < hours; i++) {
        char key[40];
        clock_format_rfc3339((first_hour + i) * INT64_C(3600000000), key, sizeof key);
        if (stats_push(l, &cap, key, 0) < 0) {
            stat_list_free(l);
            return NULL;
        }
    }
    return l;
}

/* Shared by the backends (store_int.h). */
int stats_push(struct stat_list *l, size_t *cap, const char *key, int64_t count)
{
    if (l->count == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        struct stat_row *rows = realloc(l->rows, ncap * sizeof *rows);
        if (!rows)
            return -1;
        l->rows = rows;
        *cap = ncap;
    }
    char *k = strdup(key ? key : "");
    if (!k)
        return -1;
    l->rows[l->count++] = (struct stat_row){.key = k, .count = count};
    return 0;
}
