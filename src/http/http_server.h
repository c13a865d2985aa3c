/*
 * HTTP/1.1 + WebSocket on one port, with libwebsockets on the daemon's own
 * libuv loop (DEPS.md: foreign loop, the evlib-uv plugin). Plain HTTP
 * requests go to the API (src/api/), upgrades on /v1/signal become
 * signaling sessions (src/signal/). TLS is left to a reverse proxy for now.
 */
#ifndef HX_HTTP_HTTP_SERVER_H
#define HX_HTTP_HTTP_SERVER_H

#include "core/server.h"

/** Create the lws context on s->loop and listen on the configured address. 0 or -1 (logged). */
int hx_http_start(hx_server *s);
/** First step of teardown: close listeners and connections (run the loop afterwards). */
void hx_http_stop(hx_server *s);
/** Final step, after the loop has drained. */
void hx_http_destroy(hx_server *s);

#endif
