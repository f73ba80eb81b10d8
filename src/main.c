/* sev: parse the configuration, start the app, run the loop. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <uv.h>

#include "app.h"
#include "base/log.h"
#include "config/config.h"
#include "http/server.h"

extern char **environ;

/* Descriptors kept for everything that is not a client connection: the database and its
 * WAL, the thread pool's read connections, Twitch (libcurl), EventSub WebSockets, PostgreSQL
 * and Redis, log files. */
#define NOFILE_RESERVE 256

/* The open-file limit must hold every connection SEV accepts (plus the few it answers 503
 * while over the limit) and the reserve, or accept(2) would fail with EMFILE instead of the
 * limit answering. Raises the soft limit toward the hard one; if that is still too low,
 * lowers max_connections to fit and says so (as Redis does with maxclients). */
static void nofile_fit(struct config *cfg)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return;
    rlim_t want = (rlim_t)cfg->max_connections + HTTP_REJECTING_MAX + NOFILE_RESERVE;
    if (rl.rlim_cur < want) {
        struct rlimit up = rl;
        up.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want ? want : rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &up) == 0)
            rl = up;
    }
    if (rl.rlim_cur >= want)
        return;
    long fit = (long)rl.rlim_cur - HTTP_REJECTING_MAX - NOFILE_RESERVE;
    if (fit < 16)
        fit = 16;
    log_warn("config.max_connections_lowered",
             "max_connections=%ld wanted=%d open_file_limit=%llu note=\"raise the limit "
             "(ulimit -n, LimitNOFILE=) to allow more\"",
             fit, cfg->max_connections, (unsigned long long)rl.rlim_cur);
    cfg->max_connections = (int)fit;
}

int main(int argc, char **argv)
{
    struct config cfg;
    struct err err = {{0}};
    int r = config_parse(&cfg, argc, argv, environ, stdout, &err);
    if (r == 1)
        return 0;
    if (r < 0) {
        fprintf(stderr, "sev: %s\n", err.msg);
        return 2;
    }
    log_set_level(cfg.log_level);
    /* A peer that resets its socket must cost one failed write (EPIPE), not the process:
     * without this, writing to a reset socket kills sev with SIGPIPE. */
    struct sigaction ign = {.sa_handler = SIG_IGN};
    sigemptyset(&ign.sa_mask);
    if (sigaction(SIGPIPE, &ign, NULL) < 0) {
        fprintf(stderr, "sev: cannot ignore SIGPIPE\n");
        return 2;
    }
    nofile_fit(&cfg);
    uv_loop_t *loop = uv_default_loop();
    static struct app app; /* owned by main, lives as long as the process */
    if (app_start(&app, loop, &cfg, &err) < 0) {
        fprintf(stderr, "sev: %s\n", err.msg);
        app_release(&app);
        return 2;
    }
    log_info("sev.started", "url=%s listen=%s:%d database=\"%s\" bus=%s twitch=%s",
             cfg.public_url, cfg.listen_host, app_port(&app), cfg.database, cfg.bus,
             cfg.client_id[0] ? cfg.api_url : "off");
    fprintf(stderr, "SEV is running at %s (listening on %s:%d). Ctrl-C stops it.\n",
            cfg.public_url, cfg.listen_host, app_port(&app));
    uv_run(loop, UV_RUN_DEFAULT);
    app_release(&app);
    uv_loop_close(loop);
    log_info("sev.stopped", "%s", "clean=true");
    return 0;
}
