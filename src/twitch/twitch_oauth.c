/* twitch_oauth.c: the OAuth calls ({TWITCH_AUTH_URL}/token, /validate, /revoke). Form bodies
 * carry the client secret, codes and refresh tokens: every request here is marked secret, so
 * its body and answer are wiped when freed. */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "twitch/twitch_int.h"

struct oauth_job {
    twitch_token_fn token_cb;
    twitch_validate_fn validate_cb;
    twitch_done_fn done_cb;
    void *arg;
};

static struct oauth_job *job_new(void *arg)
{
    struct oauth_job *j = calloc(1, sizeof *j);
    if (j)
        j->arg = arg;
    return j;
}

/* "scope": [..] (Twitch) or "scopes": [..] (validate), joined with spaces; "" if none. */
static char *scopes_join(json_t *body, const char *key)
{
    struct buf b;
    buf_init(&b, 8192);
    json_t *arr = json_object_get(body, key);
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        const char *s = json_string_value(v);
        if (!s || strchr(s, ' '))
            continue;
        if ((b.len && buf_puts(&b, " ")) || buf_puts(&b, s))
            break;
    }
    if (json_is_string(arr)) /* tolerate a space-separated string */
        buf_puts(&b, json_string_value(arr));
    char *out = buf_detach(&b, NULL);
    return out ? out : strdup("");
}

static void on_token(void *arg, const struct twitch_result *r)
{
    struct oauth_job *j = arg;
    struct twitch_token tok = {0};
    const char *access = json_string_value(json_object_get(r->body, "access_token"));
    if (twitch_ok(r) && access && *access) {
        const char *refresh = json_string_value(json_object_get(r->body, "refresh_token"));
        char *scopes = scopes_join(r->body, "scope");
        tok.access_token = access;
        tok.refresh_token = refresh ? refresh : "";
        tok.expires_in_s = tw_json_int(r->body, "expires_in");
        tok.scopes = scopes ? scopes : "";
        j->token_cb(j->arg, r, &tok);
        free(scopes);
    } else if (twitch_ok(r)) {
        struct twitch_result bad = *r;
        bad.error = TWITCH_EPARSE;
        bad.message = "Twitch's token answer has no access_token";
        j->token_cb(j->arg, &bad, NULL);
    } else {
        j->token_cb(j->arg, r, NULL);
    }
    free(j);
}

/* POST {auth}/token with form fields (name, value pairs, NULL-terminated). */
static int token_call(struct twitch *t, const char *const *fields, enum tw_retry retry,
                      twitch_token_fn cb, void *arg)
{
    if (!cb)
        return -1;
    struct buf url, form;
    buf_init(&url, 1024);
    buf_init(&form, 8192);
    int bad = buf_printf(&url, "%s/token", tw_auth_url(t));
    for (size_t i = 0; fields[i]; i += 2) {
        bad |= (form.len ? buf_puts(&form, "&") : 0) | buf_puts(&form, fields[i]) |
               buf_puts(&form, "=") | buf_urlencode(&form, fields[i + 1]);
    }
    struct oauth_job *j = bad ? NULL : job_new(arg);
    int rc = -1;
    if (j) {
        j->token_cb = cb;
        struct tw_call c = {
            .method = "POST",
            .url = url.data,
            .body = form.data,
            .body_len = form.len,
            .content_type = "application/x-www-form-urlencoded",
            .auth = TW_AUTH_NONE,
            .retry = retry,
            .secret = 1,
        };
        rc = tw_call(t, &c, on_token, j);
        if (rc < 0)
            free(j);
    }
    if (form.data)
        OPENSSL_cleanse(form.data, form.len);
    buf_release(&form);
    buf_release(&url);
    return rc;
}

int twitch_oauth_code(struct twitch *t, const char *code, const char *redirect_uri,
                      twitch_token_fn cb, void *arg)
{
    if (!code || !*code || !redirect_uri)
        return -1;
    const char *f[] = {"client_id",    tw_client_id(t),      "client_secret", tw_client_secret(t),
                       "code",         code,                 "grant_type",    "authorization_code",
                       "redirect_uri", redirect_uri,         NULL};
    return token_call(t, f, TW_RETRY_CONNECT, cb, arg);
}

int twitch_oauth_refresh(struct twitch *t, const char *refresh_token, twitch_token_fn cb,
                         void *arg)
{
    if (!refresh_token || !*refresh_token)
        return -1;
    const char *f[] = {"client_id",     tw_client_id(t), "client_secret", tw_client_secret(t),
                       "grant_type",    "refresh_token", "refresh_token", refresh_token,
                       NULL};
    return token_call(t, f, TW_RETRY_CONNECT, cb, arg);
}

int twitch_oauth_client_credentials(struct twitch *t, twitch_token_fn cb, void *arg)
{
    const char *f[] = {"client_id",  tw_client_id(t),      "client_secret", tw_client_secret(t),
                       "grant_type", "client_credentials", NULL};
    return token_call(t, f, TW_RETRY_ALL, cb, arg);
}

static void on_validated(void *arg, const struct twitch_result *r)
{
    struct oauth_job *j = arg;
    if (twitch_ok(r) && json_is_object(r->body)) {
        char client_id[128], login[32], user_id[32];
        tw_json_str(r->body, "client_id", client_id, sizeof client_id);
        tw_json_str(r->body, "login", login, sizeof login);
        tw_json_str(r->body, "user_id", user_id, sizeof user_id);
        char *scopes = scopes_join(r->body, "scopes");
        struct twitch_validation v = {
            .client_id = client_id,
            .login = login,
            .user_id = user_id,
            .scopes = scopes ? scopes : "",
            .expires_in_s = tw_json_int(r->body, "expires_in"),
        };
        j->validate_cb(j->arg, r, &v);
        free(scopes);
    } else if (twitch_ok(r)) {
        struct twitch_result bad = *r;
        bad.error = TWITCH_EPARSE;
        bad.message = "Twitch's validate answer is not an object";
        j->validate_cb(j->arg, &bad, NULL);
    } else {
        j->validate_cb(j->arg, r, NULL);
    }
    free(j);
}

int twitch_oauth_validate(struct twitch *t, const char *access_token, twitch_validate_fn cb,
                          void *arg)
{
    if (!cb || !access_token || !*access_token)
        return -1;
    char url[300];
    snprintf(url, sizeof url, "%s/validate", tw_auth_url(t));
    struct oauth_job *j = job_new(arg);
    if (!j)
        return -1;
    j->validate_cb = cb;
    struct tw_call c = {
        .method = "GET",
        .url = url,
        .auth = TW_AUTH_OAUTH,
        .token = access_token,
        .retry = TW_RETRY_ALL,
        .secret = 1,
    };
    if (tw_call(t, &c, on_validated, j) < 0) {
        free(j);
        return -1;
    }
    return 0;
}

static void on_revoked(void *arg, const struct twitch_result *r)
{
    struct oauth_job *j = arg;
    j->done_cb(j->arg, r);
    free(j);
}

int twitch_oauth_revoke(struct twitch *t, const char *token, twitch_done_fn cb, void *arg)
{
    if (!cb || !token || !*token)
        return -1;
    struct buf url, form;
    buf_init(&url, 1024);
    buf_init(&form, 4096);
    int bad = buf_printf(&url, "%s/revoke", tw_auth_url(t)) | buf_puts(&form, "client_id=") |
              buf_urlencode(&form, tw_client_id(t)) | buf_puts(&form, "&token=") |
              buf_urlencode(&form, token);
    struct oauth_job *j = bad ? NULL : job_new(arg);
    int rc = -1;
    if (j) {
        j->done_cb = cb;
        struct tw_call c = {
            .method = "POST",
            .url = url.data,
            .body = form.data,
            .body_len = form.len,
            .content_type = "application/x-www-form-urlencoded",
            .auth = TW_AUTH_NONE,
            .retry = TW_RETRY_ALL, /* revoking twice is harmless */
            .secret = 1,
        };
        rc = tw_call(t, &c, on_revoked, j);
        if (rc < 0)
            free(j);
    }
    if (form.data)
        OPENSSL_cleanse(form.data, form.len);
    buf_release(&form);
    buf_release(&url);
    return rc;
}
