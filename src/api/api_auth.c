/* api_auth.c: /auth/login, /auth/callback, /auth/logout — thin handlers over auth/accounts.
 * Cookies are HttpOnly and SameSite=Lax, Secure when SEV_PUBLIC_URL is https. The state
 * cookie lives 10 minutes on /auth only; the session cookie on / for the session's life. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "api/api_int.h"
#include "auth/accounts.h"
#include "base/log.h"
#include "config/config.h"

#define STATE_COOKIE "sev_state"

static const char LOGIN_FAILED_PAGE[] =
    "<!doctype html><html lang=en><meta charset=utf-8>"
    "<meta name=viewport content=\"width=device-width, initial-scale=1\">"
    "<title>Login didn't work \xE2\x80\x94 SEV</title><link rel=stylesheet href=/css/sev.css>"
    "<main class=container><h1>That login didn't work</h1>"
    "<p>The answer from Twitch didn't match a login started here (it may be old, already used, "
    "or from another browser). Nothing was changed.</p>"
    "<p><a class=\"btn btn-primary\" href=/auth/login>Log in with Twitch</a> "
    "<a href=/>Back to SEV</a></p></main></html>";

void api_cookie_set(struct http_request *req, const char *name, const char *value,
                    const char *path, long max_age)
{
    const struct api_ctx *ctx = req->route_ctx;
    char line[512];
    snprintf(line, sizeof line, "%s=%s; Path=%s; Max-Age=%ld; HttpOnly; SameSite=Lax%s", name,
             value, path, max_age, ctx->cfg->public_https ? "; Secure" : "");
    http_add_header(req, "Set-Cookie", line);
}

/* The origin (scheme://host[:port]) of url, lower case, without a default port. */
static void origin_of(const char *url, char *out, size_t size)
{
    const char *p = strstr(url, "://");
    size_t n = p ? (size_t)(p + 3 - url) + strcspn(p + 3, "/?#") : strlen(url);
    snprintf(out, size, "%.*s", (int)n, url);
    for (char *c = out; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    size_t len = strlen(out);
    if (len > 3 && strncmp(out, "http://", 7) == 0 && strcmp(out + len - 3, ":80") == 0)
        out[len - 3] = 0;
    else if (len > 4 && strncmp(out, "https://", 8) == 0 && strcmp(out + len - 4, ":443") == 0)
        out[len - 4] = 0;
}

static int origin_allowed(struct http_request *req, const char *origin)
{
    const struct api_ctx *ctx = req->route_ctx;
    char want[300], got[300];
    origin_of(origin, got, sizeof got);
    origin_of(ctx->cfg->public_url, want, sizeof want);
    if (strcmp(got, want) == 0)
        return 1;
    const char *host = http_header(req, "Host");
    if (!host || !*host || strlen(host) > 255)
        return 0;
    char by_host[300];
    snprintf(by_host, sizeof by_host, "%s://%s", ctx->cfg->public_https ? "https" : "http", host);
    origin_of(by_host, want, sizeof want);
    return strcmp(got, want) == 0;
}

int api_same_origin(struct http_request *req)
{
    const char *site = http_header(req, "Sec-Fetch-Site");
    const char *origin = http_header(req, "Origin");
    int ok = (!site || strcasecmp(site, "same-origin") == 0 || strcasecmp(site, "none") == 0) &&
             (!origin || origin_allowed(req, origin));
    if (!ok) {
        char shown[101]; /* the header as a log value: safe characters only */
        snprintf(shown, sizeof shown, "%s", origin ? origin : "-");
        for (char *c = shown; *c; c++)
            if (!isalnum((unsigned char)*c) && !strchr(":/._-[]", *c))
                *c = '?';
        log_info("http.cross_origin_refused", "origin=%s sec_fetch_site=%s", shown,
                 site && strlen(site) < 20 && !strpbrk(site, " \"=") ? site : "-");
        http_respond_error(req, 403,
                           "SEV only accepts this from its own pages (the request came from "
                           "another site).");
    }
    return ok;
}

void api_login(struct http_request *req)
{
    const struct api_ctx *ctx = req->route_ctx;
    if (!*ctx->accounts) {
        http_respond_redirect(req, 302, "/?error=no_twitch_app");
        return;
    }
    char flag[8] = "";
    int broadcaster = http_query_param(req, "broadcaster", flag, sizeof flag) == 1 &&
                      strcmp(flag, "1") == 0;
    struct accounts_login lg;
    if (accounts_login_begin(*ctx->accounts, broadcaster, &lg) < 0) {
        http_respond_redirect(req, 302, "/?error=login_failed");
        return;
    }
    api_cookie_set(req, STATE_COOKIE, lg.state_cookie, "/auth", 600);
    http_add_header(req, "Cache-Control", "no-store");
    http_respond_redirect(req, 302, lg.location);
    free(lg.location);
}

static void on_login_finished(void *arg, int outcome, const char *session_id)
{
    struct http_request *req = arg;
    api_cookie_set(req, STATE_COOKIE, "", "/auth", 0); /* single use */
    http_add_header(req, "Cache-Control", "no-store");
    switch (outcome) {
    case ACCOUNTS_LOGIN_OK:
        api_cookie_set(req, API_SESSION_COOKIE, session_id, "/", (long)ACCOUNTS_SESSION_TTL_S);
        http_respond_redirect(req, 302, "/");
        return;
    case ACCOUNTS_LOGIN_BAD_REQUEST:
        http_respond(req, 400, "text/html; charset=utf-8", LOGIN_FAILED_PAGE,
                     sizeof LOGIN_FAILED_PAGE - 1);
        return;
    case ACCOUNTS_LOGIN_DENIED:
        http_respond_redirect(req, 302, "/?error=access_denied");
        return;
    case ACCOUNTS_LOGIN_UNAVAILABLE:
        http_respond_redirect(req, 302, "/?error=twitch_unavailable");
        return;
    default:
        http_respond_redirect(req, 302, "/?error=login_failed");
        return;
    }
}

void api_callback(struct http_request *req)
{
    const struct api_ctx *ctx = req->route_ctx;
    char state[80] = "", code[520] = "", error[80] = "", cookie[80] = "", old[80] = "";
    int has_state = http_query_param(req, "state", state, sizeof state) == 1;
    int has_code = http_query_param(req, "code", code, sizeof code) == 1;
    int has_error = http_query_param(req, "error", error, sizeof error) == 1;
    int has_cookie = http_cookie(req, STATE_COOKIE, cookie, sizeof cookie) == 1;
    int has_old = http_cookie(req, API_SESSION_COOKIE, old, sizeof old) == 1;
    if (!*ctx->accounts ||
        accounts_login_finish(*ctx->accounts, has_state ? state : NULL, has_cookie ? cookie : NULL,
                              has_code ? code : NULL, has_error ? error : NULL,
                              has_old ? old : NULL, on_login_finished, req) < 0)
        on_login_finished(req, ACCOUNTS_LOGIN_BAD_REQUEST, NULL);
}

static void on_logged_out(void *arg, int status)
{
    struct http_request *req = arg;
    api_cookie_set(req, API_SESSION_COOKIE, "", "/", 0);
    http_respond(req, 204, NULL, NULL, 0);
}

void api_logout(struct http_request *req)
{
    const struct api_ctx *ctx = req->route_ctx;
    if (!api_same_origin(req))
        return;
    char session[80] = "";
    http_cookie(req, API_SESSION_COOKIE, session, sizeof session);
    if (!*ctx->accounts || accounts_logout(*ctx->accounts, session, on_logged_out, req) < 0)
        on_logged_out(req, 0);
}
