/* static: the files of web/, loaded into memory once at start-up (the loop never reads disk),
 * each with its content type, a strong ETag (SHA-256 of the bytes) and, where it pays, a
 * gzip copy. Only files found under the root at load time exist: a path with "..", a symlink
 * or anything not loaded is simply not there, so traversal is impossible. */
#ifndef SEV_HTTP_STATIC_H
#define SEV_HTTP_STATIC_H

#include "base/err.h"
#include "http/server.h"

struct static_files;

int static_load(const char *root, struct static_files **out, struct err *err);
void static_free(struct static_files *sf);
size_t static_count(const struct static_files *sf);

/* Answers req with the file at path ("/css/sev.css"), honouring If-None-Match and
 * Accept-Encoding. Returns 0 if answered, -1 if there is no such file (req not answered). */
int static_serve(struct static_files *sf, struct http_request *req, const char *path, int status);

#endif
