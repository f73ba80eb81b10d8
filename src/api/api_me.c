/* api_me.c: /api/me, /api/me/favorite, /api/me/following — the signed-in viewer's account.
 * Every handler first finds the session's user (a 401 without one: reason "login_required"
 * when no cookie came, "session_expired" when the cookie names a session that ended, e.g.
 * because Twitch refused to refresh the user's token), then calls auth/accounts. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "api/api_int.h"
#include "auth/accounts.h"
#include "base/login.h"
#include "base/buf.h"
#include "base/clock.h"

typedef void (*with_user_fn)(struct http_request *req, const struct store_user *u);

struct user_call {
    struct http_request *req;
    with_user_fn then;
};

static void respond_401(struct http_request *req, int had_cookie)
{
    static const char expired[] = "{\"error\":\"Your session has ended. Please log in again.\","
                                  "\"reason\":\"session_expired\"}";
    static const char none[] = "{\"error\":\"You need to log in first.\","
                               "\"reason\":\"login_required\"}";
    if (had_cookie)
        api_cookie_set(req, API_SESSION_COOKIE, "", "/", 0);
    http_respond(req, 401, "application/json", had_cookie ? expired : none,
                 had_cookie ? sizeof expired - 1 : sizeof none - 1);
}

static void on_session(void *arg, int status, const struct store_user *u)
{
    struct user_call *c = arg;
    struct http_request *req = c->req;
    with_user_fn then = c->then;
    free(c);
    if (status < 0)
        http_respond_error(req, 500, "SEV couldn't read your session. Please try again.");
    else if (status != 0 || !u)
        respond_401(req, 1);
    else
        then(req, u);
}

/* Finds the request's user and calls then(req, user), or answers 401/500 itself. */
static void with_user(struct http_request *req, with_user_fn then)
{
    const struct api_ctx *ctx = req->route_ctx;
    char session[80];
    if (http_cookie(req, API_SESSION_COOKIE, session, sizeof session) != 1 || !session[0] ||
        !*ctx->accounts) {
        respond_401(req, 0);
        return;
    }
    struct user_call *c = calloc(1, sizeof *c);
    if (!c) {
        http_respond_error(req, 500, "out of memory");
        return;
    }
    c->req = req;
    c->then = then;
    if (accounts_session_user(*ctx->accounts, session, on_session, c) < 0) {
        free(c);
        http_respond_error(req, 503, "SEV is temporarily unavailable. Please try again.");
    }
}

static void json_str(struct buf *b, const char *key, const char *value, int comma)
{
    buf_printf(b, "%s\"%s\":\"", comma ? "," : "", key);
    buf_json_escape(b, value, strlen(value));
    buf_puts(b, "\"");
}

/* ---- GET /api/me ---- */

static void me_get(struct http_request *req, const struct store_user *u)
{
    const struct api_ctx *ctx = req->route_ctx;
    struct buf b;
    buf_init(&b, 0);
    buf_puts(&b, "{");
    json_str(&b, "id", u->id, 0);
    json_str(&b, "login", u->login, 1);
    json_str(&b, "display_name", u->display_name, 1);
    json_str(&b, "profile_image_url", u->profile_image_url, 1);
    buf_puts(&b, ",\"favorite\":");
    if (u->has_favorite) {
        buf_puts(&b, "{");
        api_streamer_fields(&b, u->favorite.id, u->favorite.login, u->favorite.display_name);
        buf_puts(&b, "}");
    } else {
        buf_puts(&b, "null");
    }
    char created[40];
    clock_format_rfc3339(u->created_at_us, created, sizeof created);
    json_str(&b, "created_at", created, 1);
    buf_puts(&b, ",\"scopes\":[");
    const char *scopes = accounts_user_scopes(*ctx->accounts, u->id);
    int first = 1;
    for (const char *p = scopes ? scopes : ""; *p;) {
        size_t n = strcspn(p, " ");
        if (n) {
            buf_puts(&b, first ? "\"" : ",\"");
            buf_json_escape(&b, p, n);
            buf_puts(&b, "\"");
            first = 0;
        }
        p += n;
        while (*p == ' ')
            p++;
    }
    buf_puts(&b, "]}");
    http_add_header(req, "Cache-Control", "no-store");
    http_respond_buf(req, 200, "application/json", &b);
}

void api_me(struct http_request *req)
{
    with_user(req, me_get);
}

/* ---- DELETE /api/me ---- */

static void on_deleted(void *arg, int status)
{
    struct http_request *req = arg;
    if (status < 0) {
        http_respond_error(req, 500, "SEV couldn't delete your account. Please try again.");
        return;
    }
    api_cookie_set(req, API_SESSION_COOKIE, "", "/", 0);
    http_respond(req, 204, NULL, NULL, 0);
}

static void me_delete(struct http_request *req, const struct store_user *u)
{
    const struct api_ctx *ctx = req->route_ctx;
    if (accounts_delete_user(*ctx->accounts, u, on_deleted, req) < 0)
        http_respond_error(req, 503, "SEV is temporarily unavailable. Please try again.");
}

void api_me_delete(struct http_request *req)
{
    if (api_same_origin(req))
        with_user(req, me_delete);
}

/* ---- PUT and DELETE /api/me/favorite ---- */

/* auth's result → the HTTP status answered */
static int result_status(int result)
{
    switch (result) {
    case ACCOUNTS_OK:
        return 200;
    case ACCOUNTS_EGRANT:
        return 401;
    case ACCOUNTS_ENOTFOUND:
        return 404;
    case ACCOUNTS_ETWITCH:
        return 502;
    case ACCOUNTS_ETIMEOUT:
        return 504;
    default:
        return 500;
    }
}

static void on_favorite(void *arg, int result, const struct twitch_user *s, const char *message)
{
    struct http_request *req = arg;
    if (result != ACCOUNTS_OK || !s) {
        http_respond_error(req, result_status(result), message ? message : "failed");
        return;
    }
    struct buf b;
    buf_init(&b, 0);
    buf_puts(&b, "{");
    api_streamer_fields(&b, s->id, s->login, s->display_name);
    json_str(&b, "profile_image_url", s->profile_image_url, 1);
    buf_puts(&b, "}");
    http_respond_buf(req, 200, "application/json", &b);
}

static void favorite_put(struct http_request *req, const struct store_user *u)
{
    const struct api_ctx *ctx = req->route_ctx;
    /* the body was checked before the session was looked up */
    json_t *body = json_loadb(req->body, req->body_len, 0, NULL);
    const char *login = json_string_value(json_object_get(body, "login"));
    if (!login || accounts_set_favorite(*ctx->accounts, u, login, on_favorite, req) < 0)
        http_respond_error(req, 503, "SEV is temporarily unavailable. Please try again.");
    json_decref(body);
}

static int is_json(const char *content_type)
{
    if (!content_type)
        return 0;
    size_t n = strcspn(content_type, ";");
    while (n > 0 && content_type[n - 1] == ' ')
        n--;
    return n == 16 && strncasecmp(content_type, "application/json", 16) == 0;
}

void api_favorite_put(struct http_request *req)
{
    if (!api_same_origin(req))
        return;
    if (!is_json(http_header(req, "Content-Type"))) {
        http_respond_error(req, 415, "Send the favorite as JSON (Content-Type: application/json).");
        return;
    }
    json_error_t jerr;
    json_t *body = json_loadb(req->body ? req->body : "", req->body_len, 0, &jerr);
    const char *login = json_string_value(json_object_get(body, "login"));
    char msg[160];
    if (!json_is_object(body) || !login) {
        json_decref(body);
        http_respond_error(req, 400, "Send {\"login\":\"name\"} with the streamer's Twitch login.");
        return;
    }
    char lower[32];
    if (!login_lower(login, lower, sizeof lower)) {
        /* quoted back cut to 40 bytes, at a character boundary (the answer stays UTF-8) */
        size_t len = strlen(login), shown = len > 40 ? 40 : len;
        while (shown > 0 && shown < len && ((unsigned char)login[shown] & 0xC0) == 0x80)
            shown--;
        snprintf(msg, sizeof msg,
                 "\xE2\x80\x9C%.*s%s\xE2\x80\x9D is not a Twitch login: use up to 25 letters, "
                 "digits or underscores.",
                 (int)shown, login, shown < len ? "\xE2\x80\xA6" : "");
        json_decref(body);
        http_respond_error(req, 400, msg);
        return;
    }
    json_decref(body);
    with_user(req, favorite_put);
}

static void on_favorite_cleared(void *arg, int status)
{
    struct http_request *req = arg;
    if (status < 0)
        http_respond_error(req, 500, "SEV couldn't clear your favorite. Please try again.");
    else
        http_respond(req, 204, NULL, NULL, 0);
}

static void favorite_delete(struct http_request *req, const struct store_user *u)
{
    const struct api_ctx *ctx = req->route_ctx;
    if (accounts_clear_favorite(*ctx->accounts, u, on_favorite_cleared, req) < 0)
        http_respond_error(req, 503, "SEV is temporarily unavailable. Please try again.");
}

void api_favorite_delete(struct http_request *req)
{
    if (api_same_origin(req))
        with_user(req, favorite_delete);
}

/* ---- GET /api/me/following ---- */

static void on_following(void *arg, int result, const struct accounts_channel *ch, size_t n,
                         const char *message)
{
    struct http_request *req = arg;
    if (result != ACCOUNTS_OK) {
        http_respond_error(req, result_status(result), message ? message : "failed");
        return;
    }
    struct buf b;
    buf_init(&b, 0);
    buf_puts(&b, "[");
    for (size_t i = 0; i < n; i++) {
        buf_puts(&b, i ? ",{" : "{");
        api_streamer_fields(&b, ch[i].id, ch[i].login, ch[i].display_name);
        buf_printf(&b, ",\"live\":%s}", ch[i].live ? "true" : "false");
    }
    buf_puts(&b, "]");
    http_add_header(req, "Cache-Control", "no-store");
    http_respond_buf(req, 200, "application/json", &b);
}

static void following_get(struct http_request *req, const struct store_user *u)
{
    const struct api_ctx *ctx = req->route_ctx;
    if (accounts_following(*ctx->accounts, u->id, on_following, req) < 0)
        http_respond_error(req, 503, "SEV is temporarily unavailable. Please try again.");
}

void api_following(struct http_request *req)
{
    with_user(req, following_get);
}
