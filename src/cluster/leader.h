/* leader: which node of a deployment runs the once-per-deployment work (the EventSub
 * subscription manager; see docs/architecture.md "Scale-out").
 *
 * With PostgreSQL: a session-level advisory lock (pg_try_advisory_lock) held on a dedicated
 * libpq connection, driven on the loop (uv_poll on PQsocket, no thread). Non-leaders try
 * again every LEADER_RETRY_MS. The leader proves its session alive every LEADER_RENEW_MS;
 * it steps down at once when the connection fails, and by itself when no renewal has been
 * answered for LEADER_VALID_MS (a stalled PostgreSQL or network).
 *
 * A stalled leader (SIGSTOP) must lose the lock although its socket stays open and its kernel
 * still answers TCP keepalives: the lock session sets idle_session_timeout
 * (LEADER_IDLE_TIMEOUT_MS), so PostgreSQL ends a session that has sent nothing for that long
 * and the lock goes with it; a live leader renews well within it. Since LEADER_VALID_MS <
 * LEADER_IDLE_TIMEOUT_MS, a leader that resumes after a stall has stopped believing it leads
 * before the server can have given the lock away. TCP keepalives (libpq keepalives_*) catch a
 * vanished host. Takeover after a death or stall: at most LEADER_IDLE_TIMEOUT_MS +
 * LEADER_RETRY_MS (7 s).
 *
 * With SQLite (one node) the node always leads. Loop thread only.
 */
#ifndef SEV_CLUSTER_LEADER_H
#define SEV_CLUSTER_LEADER_H

#include <uv.h>

#include "base/err.h"

#define LEADER_RENEW_MS 1000
#define LEADER_RETRY_MS 2000
#define LEADER_VALID_MS 4000
#define LEADER_IDLE_TIMEOUT_MS 5000
#define LEADER_LOCK_KEY 0x53455631 /* "SEV1" */

struct leader;

/* Called on the loop each time leadership changes (1: this node now leads). */
typedef void (*leader_change_fn)(void *arg, int leading);

/* database: the SEV_DATABASE value. "sqlite:…" leads at once (change is called before this
 * returns); postgres:// and postgresql:// URIs connect in the background. Returns 0 and *out,
 * or -1 with err. */
int leader_new(uv_loop_t *loop, const char *database, leader_change_fn change, void *arg,
               struct leader **out, struct err *err);
/* Closes the connection and handles (run the loop afterwards); frees when they are closed. */
void leader_free(struct leader *l);
/* 1 when this node leads now (and its last renewal is recent enough to be sure). */
int leader_is(const struct leader *l);

#endif
