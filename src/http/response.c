/* response.c: status texts, response headers and the answer's head (see response.h). */
#include "http/response.h"
#include "http/server.h"

#include <stdio.h>

const char *http_status_text(int status)
{
    switch (status) {
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 426: return "Upgrade Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    default: return "Unknown";
    }
}

void http_add_header(struct http_request *req, const char *name, const char *value)
{
    /* header injection is impossible: values come from us, but strip CR/LF anyway */
    buf_puts(&req->resp_headers, name);
    buf_puts(&req->resp_headers, ": ");
    for (const char *p = value; *p; p++)
        if (*p != '\r' && *p != '\n')
            buf_append(&req->resp_headers, p, 1);
    buf_puts(&req->resp_headers, "\r\n");
}

int response_head(struct buf *out, int status, const char *default_headers,
                  const char *content_type, const struct buf *extra, size_t body_len,
                  int close_after)
{
    char line[64];
    int n = snprintf(line, sizeof line, "HTTP/1.1 %d %s\r\n", status, http_status_text(status));
    buf_append(out, line, (size_t)n);
    if (default_headers)
        buf_puts(out, default_headers);
    if (content_type) {
        buf_puts(out, "Content-Type: ");
        buf_puts(out, content_type);
        buf_puts(out, "\r\n");
    }
    if (extra->len)
        buf_append(out, extra->data, extra->len);
    if (status != 204 && status != 304) {
        n = snprintf(line, sizeof line, "Content-Length: %zu\r\n", body_len);
        buf_append(out, line, (size_t)n);
    }
    if (close_after)
        buf_puts(out, "Connection: close\r\n");
    return buf_puts(out, "\r\n");
}
