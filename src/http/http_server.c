/*
 * The libwebsockets context: one vhost on the configured address, one
 * protocol whose callback sends HTTP reasons to http_conn.c and WebSocket
 * reasons to ws_conn.c (a client that names no subprotocol lands on the
 * first protocol, so both kinds share it). Keep-alive is the session's: it
 * pings through ws_conn.c with a payload (lws reports only non-empty pongs)
 * and closes a peer silent for two intervals with reason `timeout`.
 */
#include "http/http_server.h"

#include "http/conn.h"

#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
    switch (reason) {
    case LWS_CALLBACK_HTTP:
    case LWS_CALLBACK_HTTP_BODY:
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
    case LWS_CALLBACK_HTTP_WRITEABLE:
    case LWS_CALLBACK_CLOSED_HTTP:
        return hx_http_callback(wsi, reason, user, in, len);
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
    case LWS_CALLBACK_ESTABLISHED:
    case LWS_CALLBACK_RECEIVE:
    case LWS_CALLBACK_RECEIVE_PONG:
    case LWS_CALLBACK_SERVER_WRITEABLE:
    case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
    case LWS_CALLBACK_CLOSED:
        return hx_ws_callback(wsi, reason, user, in, len);
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

static const struct lws_protocols protocols[] = {
    {"hearth", callback, sizeof(hx_conn), 4096, 0, NULL, 0}, /* larger messages: fragments */
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/*
 * lws keeps every header of a request in one buffer (max_http_header_data)
 * and drops the connection without an answer when a request overflows it.
 * A token header is the one a client may grow without bound, so lws is told
 * to keep only as much of Authorization as hx_http_req holds: a longer one
 * is cut there (the rest skipped, the buffer untouched), http_conn.c sees it
 * fill the buffer, and a ticket request is answered `token_too_large` and
 * audited (tickets.c). Other headers still share the 16 KiB.
 */
static const struct lws_token_limits token_limits = {
    .token_limit = {[WSI_TOKEN_HTTP_AUTHORIZATION] = sizeof((hx_http_req *)0)->authorization},
};

static void lws_log_emit(int level, const char *line)
{
    /* lws lines end in '\n' already; they are rare (warnings, errors). */
    fprintf(stderr, "lws: %s", line);
}

int hx_http_start(hx_server *s)
{
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_emit);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    void *loops[1] = {s->loop};
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_VALIDATE_UTF8 |
                   LWS_SERVER_OPTION_HTTP_HEADERS_SECURITY_BEST_PRACTICES_ENFORCE;
    if (!strchr(s->cfg.listen_host, ':')) info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    info.foreign_loops = loops;
    info.port = s->cfg.listen_port;
    info.iface = s->cfg.listen_host;
    info.protocols = protocols;
    info.user = s;
    info.max_http_header_data = 16384;
    info.token_limits = &token_limits;
    info.timeout_secs = 20;
    info.vhost_name = "hearth";

    s->lws = lws_create_context(&info);
    if (!s->lws) {
        hx_log(&s->log, HX_LOG_ERROR, "http.start_failed", "reason", "lws_create_context failed",
               NULL);
        return -1;
    }
    s->vhost = lws_get_vhost_by_name(s->lws, "hearth");
    if (!s->vhost) {
        hx_log(&s->log, HX_LOG_ERROR, "http.start_failed", "reason",
               "cannot listen (address in use?)", "listen", s->cfg.listen_host, NULL);
        return -1;
    }
    s->port = lws_get_vhost_listen_port(s->vhost);
    if (s->port <= 0) {
        hx_log(&s->log, HX_LOG_ERROR, "http.start_failed", "reason", "cannot listen", NULL);
        return -1;
    }
    return 0;
}

void hx_http_stop(hx_server *s)
{
    if (s->lws) lws_context_destroy(s->lws);
}

void hx_http_destroy(hx_server *s)
{
    if (s->lws) lws_context_destroy(s->lws);
    s->lws = NULL;
    s->vhost = NULL;
}
