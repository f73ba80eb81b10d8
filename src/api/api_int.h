/* api_int.h: helpers shared by the api handlers: the streamer JSON writer (api_events.c; used
 * by the events and accounts answers), cookies and the same-origin guard (api_auth.c). */
#ifndef SEV_API_INT_H
#define SEV_API_INT_H

#include "base/buf.h"
#include "http/server.h"

#define API_SESSION_COOKIE "sev_session"

/* The one writer of a streamer's JSON fields: "id":…,"login":…,"display_name":… (no braces,
 * no leading comma), every value a string. */
void api_streamer_fields(struct buf *b, const char *id, const char *login,
                         const char *display_name);

/* Set-Cookie name=value with HttpOnly, SameSite=Lax, Secure under https; max_age 0 clears. */
void api_cookie_set(struct http_request *req, const char *name, const char *value,
                    const char *path, long max_age);

/* Cross-site request forgery guard for state-changing requests authenticated by the session
 * cookie (PUT, DELETE, POST). A browser names where a request comes from: Sec-Fetch-Site must
 * be "same-origin" (or "none": typed by the user), and Origin must be SEV's own origin —
 * SEV_PUBLIC_URL's, or the Host the request was sent to under the same scheme. A request
 * with neither header is not from a current browser's page and passes (SameSite=Lax still
 * keeps older browsers' cross-site requests cookie-less). Returns 1 when allowed; otherwise
 * answers 403 {"error":…} itself and returns 0. */
int api_same_origin(struct http_request *req);

#endif
