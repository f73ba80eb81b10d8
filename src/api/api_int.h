/* api_int.h: helpers shared by the api handlers of accounts (api_auth.c, api_me.c). */
#ifndef SEV_API_INT_H
#define SEV_API_INT_H

#include "http/server.h"

#define API_SESSION_COOKIE "sev_session"

/* Set-Cookie name=value with HttpOnly, SameSite=Lax, Secure under https; max_age 0 clears. */
void api_cookie_set(struct http_request *req, const char *name, const char *value,
                    const char *path, long max_age);

#endif
