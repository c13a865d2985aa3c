/*
 * hearthd's start-up and shut-down around the core context (core/server.h):
 * the store, keys, bus, signaling layer, media engine and HTTP listener are
 * built in order by hx_server_start and torn down in reverse.
 */
#ifndef HX_HEARTHD_DAEMON_H
#define HX_HEARTHD_DAEMON_H

#include "core/server.h"

/** Start the media engine when media.enabled (hearthd/media.c). 0 or -1 with err. */
int hx_server_media_start(hx_server *s, char *err, size_t errlen);
/** Stop it (no-op when not running). */
void hx_server_media_stop(hx_server *s);
/** `hearthd --media-worker`: run one media engine for the hearthd that started us, over fd. */
int hx_media_worker_main(int fd);

/** Start the embedded TURN server when turn.mode = embedded (hearthd/turn.c). 0 or -1 with err. */
int hx_server_turn_start(hx_server *s, char *err, size_t errlen);
/** Stop it (no-op when not running). */
void hx_server_turn_stop(hx_server *s);

/** Build, bind and start serving. 0, or -1 with a logged reason (call hx_server_destroy anyway). */
int hx_server_start(hx_server *s, uv_loop_t *loop, const hx_config *cfg);
/** Begin a clean stop: sessions told `shutdown`, listeners closed; the loop then ends. */
void hx_server_stop(hx_server *s);
/** Free everything; safe on a half-started server. */
void hx_server_destroy(hx_server *s);

#endif
