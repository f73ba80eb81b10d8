/* twitch_int.h: the request engine shared by twitch.c (curl on the loop, retries, tokens from
 * the provider), twitch_oauth.c and twitch_helix.c (the typed calls). Only src/twitch/
 * includes this. */
#ifndef SEV_TWITCH_INT_H
#define SEV_TWITCH_INT_H

#include "base/buf.h"
#include "twitch/twitch.h"

/* Which credential a request carries. */
enum tw_auth {
    TW_AUTH_NONE,   /* OAuth token/revoke: credentials are in the form body */
    TW_AUTH_APP,    /* Helix with the app token */
    TW_AUTH_USER,   /* Helix with as_user's token */
    TW_AUTH_OAUTH,  /* /validate: "Authorization: OAuth <token>" with the given token */
};

/* Which failures are retried with backoff. */
enum tw_retry {
    TW_RETRY_ALL,     /* 5xx and no answer (idempotent calls) */
    TW_RETRY_CONNECT, /* only when the request cannot have reached Twitch (connect failed) */
};

struct tw_call {
    const char *method;       /* GET POST DELETE … */
    const char *url;          /* full URL; copied */
    const char *body;         /* copied; NULL: none */
    size_t body_len;
    const char *content_type; /* of body */
    enum tw_auth auth;
    const char *as_user;      /* TW_AUTH_USER */
    const char *token;        /* TW_AUTH_OAUTH; copied, wiped */
    enum tw_retry retry;
    int secret;               /* the body or the answer holds secrets: wipe them */
};

typedef void (*tw_call_fn)(void *arg, const struct twitch_result *r);

/* Runs one logical call (attempts, token, retries). 0: cb runs once later; -1: never. */
int tw_call(struct twitch *t, const struct tw_call *c, tw_call_fn cb, void *arg);

const char *tw_auth_url(const struct twitch *t);
const char *tw_api_url(const struct twitch *t);
const char *tw_client_id(const struct twitch *t);
const char *tw_client_secret(const struct twitch *t);
int tw_freeing(const struct twitch *t);

/* Copies a JSON string member (or "" when absent / not a string) into out, cut to fit. */
void tw_json_str(json_t *obj, const char *key, char *out, size_t size);
int64_t tw_json_int(json_t *obj, const char *key);
/* A failed result of our own making (no answer). */
struct twitch_result tw_result_error(int error, const char *message);

#endif
