/* response.h: an HTTP/1.1 answer's head, built without a connection (pure: unit-testable,
 * no I/O). The server (server.c) writes what it builds. */
#ifndef SEV_HTTP_RESPONSE_H
#define SEV_HTTP_RESPONSE_H

#include <stddef.h>

#include "base/buf.h"

/* Appends to out the status line, default_headers (CRLF-terminated lines, or NULL),
 * Content-Type (if content_type), extra (CRLF-terminated lines, may be empty),
 * Content-Length: body_len (not for 204 and 304), "Connection: close" if close_after, and the
 * blank line. Returns 0, or -1 when out ran out of memory (out is then incomplete). */
int response_head(struct buf *out, int status, const char *default_headers,
                  const char *content_type, const struct buf *extra, size_t body_len,
                  int close_after);

#endif
