/* twitch_helix.c: Helix calls, parsed into the plain structs of twitch.h.
 *
 * Lists go through one collector: a list of batch paths (Get Streams sends 100 users per
 * batch), each followed through its cursors, every page's "data" items gathered into one
 * array until max_items; then the typed finisher parses the items and calls back once. */
#include <stdlib.h>
#include <string.h>

#include "twitch/twitch_int.h"

#define HELIX_BATCH 100       /* ids/logins per request, and items per page */
#define COLLECT_MAX_PAGES 200 /* a cursor that never ends stops here */
#define EVENTSUB_LIST_MAX 10000

/* ---- the plain call ---- */

struct helix_job {
    twitch_done_fn cb;
    void *arg;
};

static void on_helix(void *arg, const struct twitch_result *r)
{
    struct helix_job *j = arg;
    j->cb(j->arg, r);
    free(j);
}

static int helix_call(struct twitch *t, const char *as_user, const char *method, const char *path,
                      json_t *body, tw_call_fn cb, void *arg)
{
    if (!method || !path || path[0] != '/')
        return -1;
    struct buf url;
    buf_init(&url, 8192);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    int rc = -1;
    if (buf_printf(&url, "%s%s", tw_api_url(t), path) == 0 && (!body || text)) {
        int idempotent = strcmp(method, "GET") == 0 || strcmp(method, "DELETE") == 0;
        struct tw_call c = {
            .method = method,
            .url = url.data,
            .body = text,
            .body_len = text ? strlen(text) : 0,
            .content_type = "application/json",
            .auth = as_user ? TW_AUTH_USER : TW_AUTH_APP,
            .as_user = as_user,
            .retry = idempotent ? TW_RETRY_ALL : TW_RETRY_CONNECT,
        };
        rc = tw_call(t, &c, cb, arg);
    }
    free(text);
    buf_release(&url);
    return rc;
}

int twitch_helix(struct twitch *t, const char *as_user, const char *method, const char *path,
                 json_t *body, twitch_done_fn cb, void *arg)
{
    if (!cb)
        return -1;
    struct helix_job *j = calloc(1, sizeof *j);
    if (!j)
        return -1;
    j->cb = cb;
    j->arg = arg;
    if (helix_call(t, as_user, method, path, body, on_helix, j) < 0) {
        free(j);
        return -1;
    }
    return 0;
}

/* ---- the collector ---- */

struct collect;
typedef void (*collect_done_fn)(struct collect *c, const struct twitch_result *r);

struct collect {
    struct twitch *t;
    char as_user[32];
    int has_user;
    char **paths; /* owned: each batch's path, query included, without "after" */
    size_t npaths, at;
    size_t max_items; /* 0: one page only */
    size_t pages;
    json_t *all;  /* owned: gathered "data" items */
    json_t *last; /* owned: the last page's answer (pagination, totals) */
    char cursor[512];
    collect_done_fn done;
    void *cb; /* the typed callback, cast by the finisher */
    void *arg;
};

static void collect_free(struct collect *c)
{
    for (size_t i = 0; i < c->npaths; i++)
        free(c->paths[i]);
    free(c->paths);
    json_decref(c->all);
    json_decref(c->last);
    free(c);
}

static struct collect *collect_new(struct twitch *t, const char *as_user, size_t npaths,
                                   size_t max_items, collect_done_fn done, void *cb, void *arg)
{
    if (as_user && (!*as_user || strlen(as_user) >= 32))
        return NULL;
    struct collect *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->t = t;
    if (as_user) {
        c->has_user = 1;
        memcpy(c->as_user, as_user, strlen(as_user) + 1);
    }
    c->paths = calloc(npaths ? npaths : 1, sizeof *c->paths);
    c->all = json_array();
    if (!c->paths || !c->all) {
        collect_free(c);
        return NULL;
    }
    c->max_items = max_items;
    c->done = done;
    c->cb = cb;
    c->arg = arg;
    return c;
}

static int collect_add_path(struct collect *c, struct buf *path)
{
    char *p = buf_detach(path, NULL);
    if (!p)
        return -1;
    c->paths[c->npaths++] = p;
    return 0;
}

static void on_page(void *arg, const struct twitch_result *r);

static int collect_request(struct collect *c)
{
    struct buf path;
    buf_init(&path, 16384);
    const char *base = c->paths[c->at];
    int bad = buf_puts(&path, base);
    if (c->cursor[0])
        bad |= buf_puts(&path, strchr(base, '?') ? "&after=" : "?after=") |
               buf_urlencode(&path, c->cursor);
    int rc = bad ? -1
                 : helix_call(c->t, c->has_user ? c->as_user : NULL, "GET", path.data, NULL,
                              on_page, c);
    buf_release(&path);
    return rc;
}

/* Starts the collector; on failure it is freed and -1 returned (no callback). */
static int collect_start(struct collect *c)
{
    if (c->npaths == 0 || collect_request(c) < 0) {
        collect_free(c);
        return -1;
    }
    return 0;
}

static void collect_finish(struct collect *c, const struct twitch_result *r)
{
    c->done(c, r);
    collect_free(c);
}

static void on_page(void *arg, const struct twitch_result *r)
{
    struct collect *c = arg;
    if (!twitch_ok(r)) {
        collect_finish(c, r);
        return;
    }
    json_t *data = json_object_get(r->body, "data");
    if (!json_is_array(data)) {
        struct twitch_result bad = *r;
        bad.error = TWITCH_EPARSE;
        bad.message = "Helix answer without a data array";
        collect_finish(c, &bad);
        return;
    }
    size_t i;
    json_t *item;
    json_array_foreach(data, i, item)
    {
        if (c->max_items && json_array_size(c->all) >= c->max_items)
            break;
        json_array_append(c->all, item);
    }
    json_decref(c->last);
    c->last = json_incref(r->body);
    c->pages++;
    const char *cursor = json_string_value(json_object_get(json_object_get(r->body, "pagination"),
                                                           "cursor"));
    snprintf(c->cursor, sizeof c->cursor, "%s", cursor && strlen(cursor) < sizeof c->cursor
                                                    ? cursor
                                                    : "");
    int more_here = c->max_items && c->cursor[0] && json_array_size(data) > 0 &&
                    json_array_size(c->all) < c->max_items && c->pages < COLLECT_MAX_PAGES;
    if (!more_here && c->max_items && c->at + 1 < c->npaths) {
        c->at++; /* the next batch */
        c->cursor[0] = 0;
        more_here = 1;
    }
    if (more_here && !tw_freeing(c->t)) {
        if (collect_request(c) == 0)
            return;
        struct twitch_result fail = tw_result_error(TWITCH_ENOMEM, "cannot request the next page");
        collect_finish(c, &fail);
        return;
    }
    struct twitch_result ok = *r;
    ok.body = c->last;
    collect_finish(c, &ok);
}

/* "&key=v1&key=v2…" for values [from, to). */
static int add_params(struct buf *b, const char *key, const char *const *v, size_t from, size_t to)
{
    int bad = 0;
    for (size_t i = from; i < to; i++) {
        if (!v[i] || !*v[i])
            return -1;
        bad |= buf_puts(b, b->len && b->data[b->len - 1] != '?' ? "&" : "") | buf_puts(b, key) |
               buf_puts(b, "=") | buf_urlencode(b, v[i]);
    }
    return bad;
}

/* ---- Get Users ---- */

static void users_done(struct collect *c, const struct twitch_result *r)
{
    twitch_users_fn cb = (twitch_users_fn)c->cb;
    size_t n = twitch_ok(r) ? json_array_size(c->all) : 0;
    struct twitch_user *u = n ? calloc(n, sizeof *u) : NULL;
    if (n && !u) {
        struct twitch_result fail = tw_result_error(TWITCH_ENOMEM, "out of memory");
        cb(c->arg, &fail, NULL, 0);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(c->all, i);
        tw_json_str(o, "id", u[i].id, sizeof u[i].id);
        tw_json_str(o, "login", u[i].login, sizeof u[i].login);
        tw_json_str(o, "display_name", u[i].display_name, sizeof u[i].display_name);
        tw_json_str(o, "type", u[i].type, sizeof u[i].type);
        tw_json_str(o, "broadcaster_type", u[i].broadcaster_type, sizeof u[i].broadcaster_type);
        tw_json_str(o, "profile_image_url", u[i].profile_image_url,
                    sizeof u[i].profile_image_url);
        tw_json_str(o, "created_at", u[i].created_at, sizeof u[i].created_at);
    }
    cb(c->arg, r, u, n);
    free(u);
}

int twitch_get_users(struct twitch *t, const char *as_user, const char *const *ids, size_t nids,
                     const char *const *logins, size_t nlogins, twitch_users_fn cb, void *arg)
{
    if (!cb || nids + nlogins > HELIX_BATCH || (nids && !ids) || (nlogins && !logins))
        return -1;
    struct collect *c = collect_new(t, as_user, 1, 0, users_done, (void *)cb, arg);
    if (!c)
        return -1;
    struct buf p;
    buf_init(&p, 16384);
    if (buf_puts(&p, "/users?") || add_params(&p, "id", ids, 0, nids) ||
        add_params(&p, "login", logins, 0, nlogins) || collect_add_path(c, &p)) {
        buf_release(&p);
        collect_free(c);
        return -1;
    }
    if (c->paths[0][strlen(c->paths[0]) - 1] == '?')
        c->paths[0][strlen(c->paths[0]) - 1] = 0; /* no parameters: the token's user */
    return collect_start(c);
}

/* ---- Get Streams ---- */

static void streams_done(struct collect *c, const struct twitch_result *r)
{
    twitch_streams_fn cb = (twitch_streams_fn)c->cb;
    size_t n = twitch_ok(r) ? json_array_size(c->all) : 0;
    struct twitch_stream *s = n ? calloc(n, sizeof *s) : NULL;
    if (n && !s) {
        struct twitch_result fail = tw_result_error(TWITCH_ENOMEM, "out of memory");
        cb(c->arg, &fail, NULL, 0);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(c->all, i);
        tw_json_str(o, "id", s[i].id, sizeof s[i].id);
        tw_json_str(o, "user_id", s[i].user_id, sizeof s[i].user_id);
        tw_json_str(o, "user_login", s[i].user_login, sizeof s[i].user_login);
        tw_json_str(o, "user_name", s[i].user_name, sizeof s[i].user_name);
        tw_json_str(o, "game_name", s[i].game_name, sizeof s[i].game_name);
        tw_json_str(o, "title", s[i].title, sizeof s[i].title);
        tw_json_str(o, "type", s[i].type, sizeof s[i].type);
        tw_json_str(o, "started_at", s[i].started_at, sizeof s[i].started_at);
        s[i].viewer_count = tw_json_int(o, "viewer_count");
    }
    cb(c->arg, r, s, n);
    free(s);
}

int twitch_get_streams(struct twitch *t, const char *as_user, const char *const *user_ids,
                       size_t nids, const char *const *user_logins, size_t nlogins,
                       twitch_streams_fn cb, void *arg)
{
    if (!cb || nids + nlogins == 0 || (nids && !user_ids) || (nlogins && !user_logins))
        return -1;
    size_t batches = (nids + HELIX_BATCH - 1) / HELIX_BATCH +
                     (nlogins + HELIX_BATCH - 1) / HELIX_BATCH;
    struct collect *c =
        collect_new(t, as_user, batches, (nids + nlogins) * 2, streams_done, (void *)cb, arg);
    if (!c)
        return -1;
    struct buf p;
    buf_init(&p, 16384);
    int bad = 0;
    for (size_t i = 0; i < nids && !bad; i += HELIX_BATCH) {
        size_t end = i + HELIX_BATCH < nids ? i + HELIX_BATCH : nids;
        bad = buf_puts(&p, "/streams?first=100") ||
              add_params(&p, "user_id", user_ids, i, end) || collect_add_path(c, &p);
    }
    for (size_t i = 0; i < nlogins && !bad; i += HELIX_BATCH) {
        size_t end = i + HELIX_BATCH < nlogins ? i + HELIX_BATCH : nlogins;
        bad = buf_puts(&p, "/streams?first=100") ||
              add_params(&p, "user_login", user_logins, i, end) || collect_add_path(c, &p);
    }
    buf_release(&p);
    if (bad) {
        collect_free(c);
        return -1;
    }
    return collect_start(c);
}

/* ---- Get Followed Channels ---- */

static void followed_done(struct collect *c, const struct twitch_result *r)
{
    twitch_followed_fn cb = (twitch_followed_fn)c->cb;
    size_t n = twitch_ok(r) ? json_array_size(c->all) : 0;
    struct twitch_followed *f = n ? calloc(n, sizeof *f) : NULL;
    if (n && !f) {
        struct twitch_result fail = tw_result_error(TWITCH_ENOMEM, "out of memory");
        cb(c->arg, &fail, NULL, 0, NULL, 0);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(c->all, i);
        tw_json_str(o, "broadcaster_id", f[i].broadcaster_id, sizeof f[i].broadcaster_id);
        tw_json_str(o, "broadcaster_login", f[i].broadcaster_login,
                    sizeof f[i].broadcaster_login);
        tw_json_str(o, "broadcaster_name", f[i].broadcaster_name, sizeof f[i].broadcaster_name);
        tw_json_str(o, "followed_at", f[i].followed_at, sizeof f[i].followed_at);
    }
    int64_t total = twitch_ok(r) ? tw_json_int(c->last, "total") : 0;
    cb(c->arg, r, f, n, twitch_ok(r) && c->cursor[0] ? c->cursor : NULL, total);
    free(f);
}

int twitch_get_followed(struct twitch *t, const char *as_user, const char *user_id,
                        const char *after, size_t max_items, twitch_followed_fn cb, void *arg)
{
    if (!cb || !user_id || !*user_id)
        return -1;
    struct collect *c = collect_new(t, as_user, 1, max_items, followed_done, (void *)cb, arg);
    if (!c)
        return -1;
    struct buf p;
    buf_init(&p, 1024);
    if (buf_puts(&p, "/channels/followed?first=100&user_id=") || buf_urlencode(&p, user_id) ||
        collect_add_path(c, &p) || (after && strlen(after) >= sizeof c->cursor)) {
        buf_release(&p);
        collect_free(c);
        return -1;
    }
    if (after)
        snprintf(c->cursor, sizeof c->cursor, "%s", after);
    return collect_start(c);
}

/* ---- EventSub subscriptions ---- */

static void parse_sub(json_t *o, struct twitch_eventsub_sub *s)
{
    tw_json_str(o, "id", s->id, sizeof s->id);
    tw_json_str(o, "status", s->status, sizeof s->status);
    tw_json_str(o, "type", s->type, sizeof s->type);
    tw_json_str(o, "version", s->version, sizeof s->version);
    tw_json_str(o, "created_at", s->created_at, sizeof s->created_at);
    s->cost = tw_json_int(o, "cost");
    s->condition = json_object_get(o, "condition");
    s->transport = json_object_get(o, "transport");
}

struct create_job {
    twitch_eventsub_created_fn cb;
    void *arg;
};

static void on_created(void *arg, const struct twitch_result *r)
{
    struct create_job *j = arg;
    json_t *first = json_array_get(json_object_get(r->body, "data"), 0);
    if (twitch_ok(r) && json_is_object(first)) {
        struct twitch_eventsub_sub s = {0};
        parse_sub(first, &s);
        j->cb(j->arg, r, &s);
    } else if (twitch_ok(r)) {
        struct twitch_result bad = *r;
        bad.error = TWITCH_EPARSE;
        bad.message = "Create EventSub Subscription answer without data";
        j->cb(j->arg, &bad, NULL);
    } else {
        j->cb(j->arg, r, NULL);
    }
    free(j);
}

int twitch_eventsub_create(struct twitch *t, const char *as_user, json_t *body,
                           twitch_eventsub_created_fn cb, void *arg)
{
    if (!cb || !json_is_object(body))
        return -1;
    struct create_job *j = calloc(1, sizeof *j);
    if (!j)
        return -1;
    j->cb = cb;
    j->arg = arg;
    if (helix_call(t, as_user, "POST", "/eventsub/subscriptions", body, on_created, j) < 0) {
        free(j);
        return -1;
    }
    return 0;
}

static void list_done(struct collect *c, const struct twitch_result *r)
{
    twitch_eventsub_list_fn cb = (twitch_eventsub_list_fn)c->cb;
    size_t n = twitch_ok(r) ? json_array_size(c->all) : 0;
    struct twitch_eventsub_sub *s = n ? calloc(n, sizeof *s) : NULL;
    if (n && !s) {
        struct twitch_result fail = tw_result_error(TWITCH_ENOMEM, "out of memory");
        cb(c->arg, &fail, NULL);
        return;
    }
    for (size_t i = 0; i < n; i++)
        parse_sub(json_array_get(c->all, i), &s[i]);
    struct twitch_eventsub_page page = {
        .subs = s,
        .n = n,
        .total = tw_json_int(c->last, "total"),
        .total_cost = tw_json_int(c->last, "total_cost"),
        .max_total_cost = tw_json_int(c->last, "max_total_cost"),
        .cursor = c->max_items == 0 && c->cursor[0] ? c->cursor : NULL,
    };
    cb(c->arg, r, twitch_ok(r) ? &page : NULL);
    free(s);
}

int twitch_eventsub_list(struct twitch *t, const char *as_user,
                         const struct twitch_eventsub_filter *f, const char *after,
                         int all_pages, twitch_eventsub_list_fn cb, void *arg)
{
    if (!cb)
        return -1;
    struct collect *c = collect_new(t, as_user, 1, all_pages ? EVENTSUB_LIST_MAX : 0, list_done,
                                    (void *)cb, arg);
    if (!c)
        return -1;
    struct buf p;
    buf_init(&p, 1024);
    /* Get EventSub Subscriptions takes no `first`: Twitch picks the page size */
    int bad = buf_puts(&p, "/eventsub/subscriptions?");
    const char *keys[] = {"status", "type", "user_id", "subscription_id"};
    const char *vals[] = {f ? f->status : NULL, f ? f->type : NULL, f ? f->user_id : NULL,
                          f ? f->subscription_id : NULL};
    for (size_t i = 0; i < 4; i++)
        if (vals[i] && *vals[i])
            bad |= add_params(&p, keys[i], &vals[i], 0, 1);
    if (!bad && p.data[p.len - 1] == '?')
        p.data[--p.len] = 0;
    bad |= collect_add_path(c, &p);
    if (bad || (after && strlen(after) >= sizeof c->cursor)) {
        buf_release(&p);
        collect_free(c);
        return -1;
    }
    if (after)
        snprintf(c->cursor, sizeof c->cursor, "%s", after);
    return collect_start(c);
}

int twitch_eventsub_delete(struct twitch *t, const char *as_user, const char *id,
                           twitch_done_fn cb, void *arg)
{
    if (!id || !*id || strlen(id) > 100)
        return -1;
    struct buf p;
    buf_init(&p, 512);
    int rc = -1;
    if (buf_puts(&p, "/eventsub/subscriptions?id=") == 0 && buf_urlencode(&p, id) == 0)
        rc = twitch_helix(t, as_user, "DELETE", p.data, NULL, cb, arg);
    buf_release(&p);
    return rc;
}
