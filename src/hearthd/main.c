/*
 * hearthd: parse the configuration, run the server on a libuv loop until
 * SIGTERM/SIGINT, tear down. Exit 0 on a clean stop, 1 when start-up fails,
 * 2 on a configuration error.
 */
#include "config/config.h"
#include "hearthd/daemon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    static hx_config cfg;
    static hx_server srv;
    char err[512];
    /* A media worker process (media.isolation = process): hearthd started it, fd 3 is ours. */
    if (argc == 2 && !strcmp(argv[1], "--media-worker")) return hx_media_worker_main(3);
    switch (hx_config_from_args(&cfg, argc, argv, err, sizeof err)) {
    case HX_CLI_EXIT_OK: return 0;
    case HX_CLI_ERROR: fprintf(stderr, "hearthd: %s\n", err); return 2;
    case HX_CLI_CHECK: hx_config_print(&cfg, stdout); return 0;
    case HX_CLI_RUN: break;
    }
    uv_loop_t loop;
    if (uv_loop_init(&loop)) {
        fprintf(stderr, "hearthd: cannot create the event loop\n");
        return 1;
    }
    int rc = hx_server_start(&srv, &loop, &cfg) ? 1 : 0;
    if (rc == 0) uv_run(&loop, UV_RUN_DEFAULT);
    hx_server_destroy(&srv);
    uv_run(&loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&loop)) fprintf(stderr, "hearthd: event loop still busy at exit\n");
    if (rc == 0) hx_log(&srv.log, HX_LOG_INFO, "server.stopped", NULL);
    return rc;
}
