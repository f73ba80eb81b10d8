/* sev: parse the configuration, start the app, run the loop. */
#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

#include "app.h"
#include "base/log.h"
#include "config/config.h"

extern char **environ;

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
