/*
 * HTTP/1.1 + WebSocket on one port, with libwebsockets on the daemon's own
 * libuv loop (DEPS.md: foreign loop, the evlib-uv plugin). Plain HTTP
 * requests go to the API (src/api/), upgrades on /v1/signal become
 * signaling sessions (src/signal/). With tls.cert_file set the port speaks
 * TLS (https://, wss://); behind a reverse proxy, http.trusted_proxies says
 * whose forwarding header names the client (client_addr.h).
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
/**
 * SIGHUP: load tls.cert_file/key_file again; new TLS connections get the new
 * certificate, open ones keep theirs. On failure the old one keeps serving,
 * the error is logged and returned (-1 with err). 0 (also when TLS is off).
 */
int hx_http_reload_tls(hx_server *s, char *err, size_t errlen);

#endif
