/* static: the files of web/, loaded into memory once at start-up (the loop never reads disk),
 * each with its content type, a strong ETag (SHA-256 of the bytes) and, where it pays, a
 * gzip copy. Only files found under the root at load time exist: a path with "..", a symlink
 * or anything not loaded is simply not there, so traversal is impossible.
 *
 * Pages share their head, header and footer through partials: files named _*.html at the
 * root, never served themselves. In a .html file, <!--#include file="_header.html"--> is
 * replaced by that partial at load time (partials may include partials; no per-request
 * cost); current="/analytics" adds aria-current="page" to the partial's <a href="/analytics">.
 * A missing partial, a recursive or malformed include fails static_load with a clear error. */
#ifndef SEV_HTTP_STATIC_H
#define SEV_HTTP_STATIC_H

#include "base/err.h"
#include "http/server.h"

struct static_files;

int static_load(const char *root, struct static_files **out, struct err *err);
void static_free(struct static_files *sf);
size_t static_count(const struct static_files *sf); /* served files (partials not counted) */
/* The bytes of the loaded file at path (includes expanded), or NULL; borrowed from sf. */
const char *static_get(const struct static_files *sf, const char *path, size_t *len);

/* Answers req with the file at path ("/css/sev.css"), honouring If-None-Match and
 * Accept-Encoding. Returns 0 if answered, -1 if there is no such file (req not answered). */
int static_serve(struct static_files *sf, struct http_request *req, const char *path, int status);

#endif
