#include "http/request.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- requests ---- */

struct http_request *http_request_new(struct http_conn *conn)
{
    struct http_request *req = calloc(1, sizeof *req);
    if (!req)
        return NULL;
    req->conn = conn;
    buf_init(&req->head, HTTP_HEAD_MAX);
    buf_init(&req->body_buf, HTTP_DEFAULT_BODY_MAX);
    buf_init(&req->resp_headers, HTTP_HEAD_MAX);
    req->route_index = -1;
    req->query = "";
    req->path = "";
    req->body = "";
    return req;
}

void http_request_free(struct http_request *req)
{
    if (!req)
        return;
    for (int i = 0; i < HTTP_MAX_PARAMS; i++)
        free(req->params[i]);
    buf_release(&req->head);
    buf_release(&req->body_buf);
    buf_release(&req->resp_headers);
    free(req);
}

const char *http_header(const struct http_request *req, const char *name)
{
    for (size_t i = 0; i < req->nheaders; i++)
        if (strcasecmp(req->headers[i].name, name) == 0)
            return req->headers[i].value;
    return NULL;
}

int http_url_decode(const char *s, size_t n, char *out, size_t size, int form)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int ch = (unsigned char)s[i];
        if (ch == '%') {
            if (i + 2 >= n)
                return -1;
            int hi = hex_digit_value(s[i + 1]), lo = hex_digit_value(s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            ch = hi * 16 + lo;
            i += 2;
            if (ch == 0)
                return -1;
        } else if (ch == '+' && form) {
            ch = ' ';
        }
        if (o + 1 >= size)
            return -1;
        out[o++] = (char)ch;
    }
    out[o] = 0;
    return 0;
}

int http_query_param(const struct http_request *req, const char *name, char *out, size_t size)
{
    size_t nlen = strlen(name);
    const char *p = req->query;
    while (*p) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        size_t klen = eq ? (size_t)(eq - p) : len;
        if (klen == nlen && strncmp(p, name, nlen) == 0) {
            const char *v = eq ? eq + 1 : p + len;
            return http_url_decode(v, (size_t)(p + len - v), out, size, 1) < 0 ? -1 : 1;
        }
        p += len;
        if (*p == '&')
            p++;
    }
    return 0;
}

int http_cookie(const struct http_request *req, const char *name, char *out, size_t size)
{
    size_t nlen = strlen(name);
    for (size_t i = 0; i < req->nheaders; i++) {
        if (strcasecmp(req->headers[i].name, "Cookie") != 0)
            continue;
        const char *p = req->headers[i].value;
        while (*p) {
            while (*p == ' ' || *p == ';')
                p++;
            const char *end = strchr(p, ';');
            size_t len = end ? (size_t)(end - p) : strlen(p);
            if (len > nlen && p[nlen] == '=' && strncmp(p, name, nlen) == 0) {
                size_t vlen = len - nlen - 1;
                if (vlen + 1 > size)
                    return 0;
                memcpy(out, p + nlen + 1, vlen);
                out[vlen] = 0;
                return 1;
            }
            p += len;
        }
    }
    return 0;
}

/* ---- routing ---- */

int http_route_match(const char *pattern, const char *path, struct http_request *req)
{
    int np = 0;
    const char *p = pattern, *s = path;
    while (*p) {
        if (*p == '*')
            return 1;
        if (*p == ':') {
            const char *seg_end = strchr(s, '/');
            size_t len = seg_end ? (size_t)(seg_end - s) : strlen(s);
            if (len == 0 || np >= HTTP_MAX_PARAMS)
                return 0;
            char tmp[256];
            if (http_url_decode(s, len, tmp, sizeof tmp, 0) < 0)
                return 0;
            free(req->params[np]);
            req->params[np++] = strdup(tmp);
            s += len;
            while (*p && *p != '/')
                p++;
            continue;
        }
        if (*p != *s)
            return 0;
        p++;
        s++;
    }
    return *s == 0;
}

int http_route_find(const struct http_route *routes, struct http_request *req, int *path_matched)
{
    *path_matched = 0;
    for (int i = 0; routes[i].handler; i++) {
        const struct http_route *r = &routes[i];
        if (!http_route_match(r->pattern, req->path, req))
            continue;
        *path_matched = 1;
        if (r->verb == req->verb || (r->verb == HTTP_VERB_GET && req->verb == HTTP_VERB_HEAD))
            return i;
    }
    return -1;
}

/* ---- http-parser callbacks ---- */

static struct http_reader *reader_of(http_parser *p)
{
    return p->data;
}

static int on_message_begin(http_parser *p)
{
    struct http_reader *c = reader_of(p);
    if (!c->req)
        c->req = http_request_new(c->conn);
    if (!c->req)
        return -1;
    c->req->header_state = 0;
    if (c->cfg->on_phase)
        c->cfg->on_phase(c->owner, HTTP_READER_HEAD); /* the whole head, however sent */
    return 0;
}

static int head_append(struct http_request *req, const char *at, size_t len)
{
    if (buf_append(&req->head, at, len) < 0) {
        req->answered = HTTP_TOO_LARGE_HEAD;
        return -1;
    }
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    struct http_reader *c = reader_of(p);
    return head_append(c->req, at, len);
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    struct http_reader *c = reader_of(p);
    struct http_request *req = c->req;
    if (req->header_state == 3) /* a trailer: appending would move the head under req->path */
        return 0;
    if (req->header_state != 1) {
        if (req->nheaders >= HTTP_MAX_HEADERS) {
            req->answered = HTTP_TOO_LARGE_HEAD;
            return -1;
        }
        if (head_append(req, "", 1) < 0) /* ends the url or the previous value */
            return -1;
        req->field_off = req->head.len;
        req->nheaders++;
        req->header_state = 1;
    }
    return head_append(req, at, len);
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    struct http_reader *c = reader_of(p);
    struct http_request *req = c->req;
    if (req->header_state == 3)
        return 0;
    if (req->header_state != 2) {
        if (head_append(req, "", 1) < 0)
            return -1;
        req->value_off = req->head.len;
        /* remember offsets in the pointer slots; made real in on_headers_complete */
        req->headers[req->nheaders - 1].name = (const char *)(uintptr_t)req->field_off;
        req->headers[req->nheaders - 1].value = (const char *)(uintptr_t)req->value_off;
        req->header_state = 2;
    }
    return head_append(req, at, len);
}

static enum http_verb verb_of(unsigned method)
{
    switch (method) {
    case HTTP_GET: return HTTP_VERB_GET;
    case HTTP_HEAD: return HTTP_VERB_HEAD;
    case HTTP_POST: return HTTP_VERB_POST;
    case HTTP_PUT: return HTTP_VERB_PUT;
    case HTTP_DELETE: return HTTP_VERB_DELETE;
    default: return HTTP_VERB_OTHER;
    }
}

static int on_headers_complete(http_parser *p)
{
    struct http_reader *c = reader_of(p);
    struct http_request *req = c->req;
    if (head_append(req, "", 1) < 0)
        return -1;
    char *base = req->head.data;
    for (size_t i = 0; i < req->nheaders; i++) {
        if (!req->headers[i].value) { /* a field without a value (header_state stayed 1) */
            req->headers[i].name = base + req->field_off;
            req->headers[i].value = "";
            continue;
        }
        req->headers[i].name = base + (uintptr_t)req->headers[i].name;
        req->headers[i].value = base + (uintptr_t)req->headers[i].value;
    }
    /* the url is at the start of head: split off the query */
    char *url = base;
    char *q = strchr(url, '?');
    if (q) {
        *q = 0;
        req->query = q + 1;
    }
    char *hash = strchr(req->query, '#');
    if (hash)
        *hash = 0;
    req->path = url;
    req->verb = verb_of(p->method);
    req->keep_alive = http_should_keep_alive(p);
    req->header_state = 3;
    if (c->cfg->on_phase)
        c->cfg->on_phase(c->owner, HTTP_READER_BODY); /* the whole body, however sent */
    return 0;
}

static size_t route_body_max(const struct http_route *routes, const char *path)
{
    for (int i = 0; routes && routes[i].handler; i++) {
        const struct http_route *r = &routes[i];
        if (r->max_body && strncmp(r->pattern, path, strcspn(r->pattern, ":*")) == 0)
            return r->max_body;
    }
    return HTTP_DEFAULT_BODY_MAX;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    struct http_reader *c = reader_of(p);
    struct http_request *req = c->req;
    if (req->body_buf.len == 0 && !req->body_buf.data)
        req->body_buf.max = route_body_max(c->cfg->routes, req->path);
    if (buf_append(&req->body_buf, at, len) < 0) {
        req->answered = HTTP_TOO_LARGE_BODY; /* answered once parsing stops */
        return -1;
    }
    return 0;
}

static int on_message_complete(http_parser *p)
{
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings reader_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

void http_reader_init(struct http_reader *r, const struct http_reader_cfg *cfg,
                      struct http_conn *conn, void *owner)
{
    memset(r, 0, sizeof *r);
    http_parser_init(&r->parser, HTTP_REQUEST);
    r->parser.data = r;
    r->cfg = cfg;
    r->conn = conn;
    r->owner = owner;
}

size_t http_reader_feed(struct http_reader *r, const char *data, size_t len)
{
    size_t n = http_parser_execute(&r->parser, &reader_settings, data, len);
    if (HTTP_PARSER_ERRNO(&r->parser) == HPE_PAUSED && r->req) {
        r->req->body = r->req->body_buf.data ? r->req->body_buf.data : "";
        r->req->body_len = r->req->body_buf.len;
    }
    return n;
}

void http_reader_resume(struct http_reader *r)
{
    http_parser_pause(&r->parser, 0);
}
