/* accounts_me.c: a signed-in user's favorite and the channels they follow. Twitch is asked
 * with the user's own token (their rate-limit bucket, their follows scope). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/accounts_int.h"
#include "base/login.h"
#include "base/log.h"

#define FOLLOWING_MAX 2000

/* The result and sentence for a failed Twitch call. */
static int twitch_failure(const struct twitch_result *r, char *msg, size_t size)
{
    switch (r->error) {
    case TWITCH_ENOTOKEN:
        snprintf(msg, size, "Your Twitch session has ended. Please log in again.");
        return ACCOUNTS_EGRANT;
    case TWITCH_ETIMEOUT:
    case TWITCH_ENET:
        snprintf(msg, size, "Twitch didn't answer. Please try again in a moment.");
        return ACCOUNTS_ETIMEOUT;
    default:
        if (r->status)
            snprintf(msg, size, "Twitch answered with an error (HTTP %d). Please try again.",
                     r->status);
        else
            snprintf(msg, size, "Twitch's answer made no sense. Please try again.");
        return ACCOUNTS_ETWITCH;
    }
}

/* ---- favorite ---- */

struct fav_job {
    struct accounts *a;
    accounts_favorite_fn cb;
    void *arg;
    char user_id[32];
    char old_id[32]; /* "" when none */
    char login[32];
    struct twitch_user streamer;
    int waits; /* store calls outstanding */
    int failed;
};

static void fav_end(struct fav_job *j, int result, const char *message)
{
    j->cb(j->arg, result, result == ACCOUNTS_OK ? &j->streamer : NULL, message);
    free(j);
}

static void on_fav_stored(void *arg, int status)
{
    struct fav_job *j = arg;
    struct accounts *a = j->a;
    if (acc_returned(a)) {
        if (--j->waits == 0)
            free(j);
        return;
    }
    if (status < 0)
        j->failed = 1;
    if (--j->waits > 0)
        return;
    if (j->failed) {
        fav_end(j, ACCOUNTS_EINTERNAL, "SEV couldn't save your favorite. Please try again.");
        return;
    }
    log_info("auth.favorite_set", "user_id=%s streamer_id=%s login=%s", j->user_id,
             j->streamer.id, j->streamer.login);
    if (strcmp(j->old_id, j->streamer.id) != 0 && a->hooks.on_favorite_changed)
        a->hooks.on_favorite_changed(a->hooks.arg, j->user_id, j->old_id[0] ? j->old_id : NULL,
                                     j->streamer.id, j->streamer.login);
    fav_end(j, ACCOUNTS_OK, NULL);
}

static void on_fav_user(void *arg, const struct twitch_result *r, const struct twitch_user *u,
                        size_t n)
{
    struct fav_job *j = arg;
    struct accounts *a = j->a;
    if (acc_returned(a)) {
        free(j);
        return;
    }
    char msg[200];
    if (!twitch_ok(r)) {
        int result = twitch_failure(r, msg, sizeof msg);
        log_warn("auth.favorite_lookup_failed", "user_id=%s status=%d err=\"%s\"", j->user_id,
                 r->status, r->message);
        fav_end(j, result, msg);
        return;
    }
    const struct twitch_user *found = NULL;
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(u[i].login, j->login) == 0)
            found = &u[i];
    if (!found) {
        snprintf(msg, sizeof msg, "Twitch has no user called \xE2\x80\x9C%s\xE2\x80\x9D.", j->login);
        fav_end(j, ACCOUNTS_ENOTFOUND, msg);
        return;
    }
    if (!tokens_has_user(a->tokens, j->user_id)) {
        /* logged out or deleted while Twitch answered: writing now would leave a favorite
         * behind for a user who is gone (a later deletion is queued after this write) */
        fav_end(j, ACCOUNTS_EGRANT, "Your session has ended. Please log in again.");
        return;
    }
    j->streamer = *found;
    struct streamer_info s = {0};
    snprintf(s.id, sizeof s.id, "%s", found->id);
    snprintf(s.login, sizeof s.login, "%s", found->login);
    /* cut at a UTF-8 boundary */
    size_t len = strlen(found->display_name);
    if (len >= sizeof s.display_name) {
        len = sizeof s.display_name - 1;
        while (len > 0 && ((unsigned char)found->display_name[len] & 0xC0) == 0x80)
            len--;
    }
    memcpy(s.display_name, found->display_name, len);
    s.display_name[len] = 0;
    if (store_streamer_put(a->store, &s, on_fav_stored, j) == 0) {
        acc_started(a);
        j->waits++;
    }
    if (store_favorite_set(a->store, j->user_id, &s, on_fav_stored, j) == 0) {
        acc_started(a);
        j->waits++;
    } else {
        j->failed = 1;
    }
    if (j->waits == 0)
        fav_end(j, ACCOUNTS_EINTERNAL, "SEV couldn't save your favorite. Please try again.");
}

int accounts_set_favorite(struct accounts *a, const struct store_user *u, const char *login,
                          accounts_favorite_fn cb, void *arg)
{
    char lower[32];
    if (!cb || !u || !login_lower(login, lower, sizeof lower) || a->freeing)
        return -1;
    struct fav_job *j = calloc(1, sizeof *j);
    if (!j)
        return -1;
    j->a = a;
    j->cb = cb;
    j->arg = arg;
    snprintf(j->user_id, sizeof j->user_id, "%s", u->id);
    if (u->has_favorite)
        snprintf(j->old_id, sizeof j->old_id, "%s", u->favorite.id);
    for (size_t i = 0; login[i] && i < sizeof j->login - 1; i++)
        j->login[i] = (char)tolower((unsigned char)login[i]);
    const char *logins[] = {j->login};
    if (twitch_get_users(a->tw, j->user_id, NULL, 0, logins, 1, on_fav_user, j) < 0) {
        free(j);
        return -1;
    }
    acc_started(a);
    return 0;
}

struct clear_job {
    struct accounts *a;
    store_done_fn cb;
    void *arg;
    char user_id[32];
    char old_id[32];
};

static void on_cleared(void *arg, int status)
{
    struct clear_job *j = arg;
    struct accounts *a = j->a;
    if (acc_returned(a)) {
        free(j);
        return;
    }
    if (status == 0 && j->old_id[0] && a->hooks.on_favorite_changed)
        a->hooks.on_favorite_changed(a->hooks.arg, j->user_id, j->old_id, NULL, NULL);
    if (status == 0)
        log_info("auth.favorite_cleared", "user_id=%s", j->user_id);
    j->cb(j->arg, status);
    free(j);
}

int accounts_clear_favorite(struct accounts *a, const struct store_user *u, store_done_fn cb,
                            void *arg)
{
    if (!cb || !u || a->freeing)
        return -1;
    struct clear_job *j = calloc(1, sizeof *j);
    if (!j)
        return -1;
    j->a = a;
    j->cb = cb;
    j->arg = arg;
    snprintf(j->user_id, sizeof j->user_id, "%s", u->id);
    if (u->has_favorite)
        snprintf(j->old_id, sizeof j->old_id, "%s", u->favorite.id);
    if (store_favorite_set(a->store, j->user_id, NULL, on_cleared, j) < 0) {
        free(j);
        return -1;
    }
    acc_started(a);
    return 0;
}

/* ---- following ---- */

struct follow_job {
    struct accounts *a;
    accounts_following_fn cb;
    void *arg;
    char user_id[32];
    struct accounts_channel *ch; /* owned */
    size_t n;
};

static void follow_end(struct follow_job *j, int result, const char *message)
{
    int ok = result == ACCOUNTS_OK;
    j->cb(j->arg, result, ok ? j->ch : NULL, ok ? j->n : 0, message);
    free(j->ch);
    free(j);
}

static void on_streams(void *arg, const struct twitch_result *r, const struct twitch_stream *s,
                       size_t n)
{
    struct follow_job *j = arg;
    struct accounts *a = j->a;
    if (acc_returned(a)) {
        free(j->ch);
        free(j);
        return;
    }
    if (!twitch_ok(r)) {
        char msg[200];
        int result = twitch_failure(r, msg, sizeof msg);
        follow_end(j, result, msg);
        return;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < j->n; k++)
            if (strcmp(j->ch[k].id, s[i].user_id) == 0)
                j->ch[k].live = 1;
    follow_end(j, ACCOUNTS_OK, NULL);
}

static void on_followed(void *arg, const struct twitch_result *r, const struct twitch_followed *f,
                        size_t n, const char *cursor, int64_t total)
{
    struct follow_job *j = arg;
    struct accounts *a = j->a;
    if (acc_returned(a)) {
        free(j);
        return;
    }
    if (!twitch_ok(r)) {
        char msg[200];
        int result = twitch_failure(r, msg, sizeof msg);
        if (r->error == TWITCH_OK && (r->status == 401 || r->status == 403))
            snprintf(msg, sizeof msg, "SEV may not read your follows. Please log in again.");
        follow_end(j, result, msg);
        return;
    }
    if (n == 0) {
        follow_end(j, ACCOUNTS_OK, NULL);
        return;
    }
    const char **ids = calloc(n, sizeof *ids);
    j->ch = calloc(n, sizeof *j->ch);
    if (!ids || !j->ch) {
        free(ids);
        follow_end(j, ACCOUNTS_EINTERNAL, "out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        snprintf(j->ch[i].id, sizeof j->ch[i].id, "%s", f[i].broadcaster_id);
        snprintf(j->ch[i].login, sizeof j->ch[i].login, "%s", f[i].broadcaster_login);
        snprintf(j->ch[i].display_name, sizeof j->ch[i].display_name, "%s",
                 f[i].broadcaster_name);
        ids[i] = j->ch[i].id;
    }
    j->n = n;
    int rc = twitch_get_streams(a->tw, j->user_id, ids, n, NULL, 0, on_streams, j);
    free(ids);
    if (rc < 0) {
        follow_end(j, ACCOUNTS_EINTERNAL, "SEV couldn't ask Twitch who is live.");
        return;
    }
    acc_started(a);
}

int accounts_following(struct accounts *a, const char *user_id, accounts_following_fn cb,
                       void *arg)
{
    if (!cb || !user_id || a->freeing)
        return -1;
    struct follow_job *j = calloc(1, sizeof *j);
    if (!j)
        return -1;
    j->a = a;
    j->cb = cb;
    j->arg = arg;
    snprintf(j->user_id, sizeof j->user_id, "%s", user_id);
    if (twitch_get_followed(a->tw, j->user_id, j->user_id, NULL, FOLLOWING_MAX, on_followed, j) <
        0) {
        free(j);
        return -1;
    }
    acc_started(a);
    return 0;
}
