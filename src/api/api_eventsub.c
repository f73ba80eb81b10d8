/* GET /api/streamers/:login/capabilities: what SEV receives for a streamer now, and why not. */
#include "api/api.h"
#include "eventsub/manager.h"

void api_capabilities(struct http_request *req)
{
    const struct api_ctx *ctx = req->route_ctx;
    char login[64];
    if (api_login_param(req, req->params[0], login, sizeof login) < 0)
        return;
    struct buf b;
    buf_init(&b, 0);
    if (esm_capabilities_json(*ctx->esm, login, &b) < 0) {
        buf_release(&b);
        http_respond_error(req, 500, "out of memory");
        return;
    }
    http_respond_buf(req, 200, "application/json", &b);
}
