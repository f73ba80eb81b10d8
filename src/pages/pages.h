/* pages: HTML pages from web/ (static files) and the friendly 404. */
#ifndef SEV_PAGES_H
#define SEV_PAGES_H

#include "http/server.h"

struct static_files;

/* What the page handlers read from req->route_ctx. The app keeps one, as the first member of
 * its struct api_ctx (every route's ctx), and owns what it points to. web points at the app's
 * own slot, so a handler always reads the current value. */
struct pages_ctx {
    struct static_files *const *web;
};

void page_home(struct http_request *req);
void page_streamer(struct http_request *req);
void page_overlay(struct http_request *req);
void page_analytics(struct http_request *req);
void page_account(struct http_request *req);
void page_not_found(struct http_request *req); /* no route: an asset from web/, else the 404 page (JSON under /api) */

#endif
