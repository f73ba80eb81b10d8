/* tokens_life.c: the tokens module's lifetime, below tokens.c and tokens_app.c (both count
 * their store and Twitch calls here): the struct is freed once tokens_free has run, every
 * counted call has returned and every handle has closed. */
#include <stdlib.h>

#include "auth/tokens_int.h"
#include "base/log.h"

static void destroy(struct tokens *tk);

/* ---- lifetime ---- */

void tk_started(struct tokens *tk)
{
    tk->inflight++;
}

int tk_returned(struct tokens *tk)
{
    tk->inflight--;
    if (!tk->freeing)
        return 0;
    destroy(tk);
    return 1;
}

void tk_on_handle_closed(uv_handle_t *h)
{
    struct tokens *tk = h->data;
    tk->handles_open--;
    destroy(tk);
}

static void destroy(struct tokens *tk)
{
    if (!tk->freeing || tk->inflight || tk->handles_open)
        return;
    map_release(&tk->users);
    free(tk);
}

void tk_on_store_done(void *arg, int status)
{
    struct tokens *tk = arg;
    if (status < 0)
        log_error("auth.store_failed", "%s", "what=account_write");
    tk_returned(tk);
}
