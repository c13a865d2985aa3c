/*
 * The libwebsockets context: one vhost on the configured address, one
 * protocol whose callback sends HTTP reasons to http_conn.c and WebSocket
 * reasons to ws_conn.c (a client that names no subprotocol lands on the
 * first protocol, so both kinds share it). Keep-alive is the session's: it
 * pings through ws_conn.c with a payload (lws reports only non-empty pongs)
 * and closes a peer silent for two intervals with reason `timeout`.
 *
 * The edge (docs/connectivity.md): with tls.cert_file the one port speaks
 * TLS only (https, wss; tls.c serves and reloads the certificate); every
 * accepted socket is counted per client address (conn_limit.c), from
 * accept (FILTER_NETWORK_CONNECTION, SERVER_NEW_CLIENT_INSTANTIATED) to
 * WSI_DESTROY, which lws sends to protocols[0] for every wsi. With the
 * embedded TURN server and turn.on_http_port, a connection that does not
 * speak HTTP falls back to the raw role and turn_splice.c hands TURN over.
 */
#include "http/http_server.h"

#include "http/conn.h"
#include "http/http_internal.h"

#include <libwebsockets.h>
#include <stdint.h>
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
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
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
    case LWS_CALLBACK_FILTER_NETWORK_CONNECTION: /* in: the accepted socket */
        return hx__conn_limit_accept(hx__http_of(wsi), (int)(intptr_t)in);
    case LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED:
        hx__conn_limit_open(hx__http_of(wsi), wsi);
        return 0;
    case LWS_CALLBACK_WSI_DESTROY:
        hx__conn_limit_close(hx__http_of(wsi), wsi);
        return 0;
    case LWS_CALLBACK_RAW_ADOPT:
    case LWS_CALLBACK_RAW_RX:
    case LWS_CALLBACK_RAW_WRITEABLE:
    case LWS_CALLBACK_RAW_CLOSE:
        return hx__turn_splice_callback(wsi, reason, in, len);
    case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS: /* user: the vhost's SSL_CTX */
        return hx__tls_attach(hx__http_of(wsi), user);
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

static const struct lws_protocols protocols[] = {
    /* 2 KiB per connection (memory per participant): most messages arrive whole; SDP comes in
     * fragments that ws_conn.c gathers */
    {"hearth", callback, sizeof(hx_conn), 2048, 0, NULL, 0},
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

static void free_http(hx_http *h)
{
    if (!h) return;
    hx__conn_limit_free(h);
    hx__tls_material_free(&h->tls);
    free(h->direct);
    free(h);
}

/* The edge's settings, parsed: trusted proxies, the forwarding header, the certificate. */
static int configure(hx_server *s, hx_http *h)
{
    char err[512];
    for (size_t i = 0; i < s->cfg.n_trusted_proxies; i++) {
        if (hx_cidr_parse(s->cfg.trusted_proxies[i], &h->trusted[h->n_trusted])) {
            hx_log(&s->log, HX_LOG_ERROR, "http.start_failed", "reason",
                   "http.trusted_proxies: not an address or prefix (a.b.c.d[/n], v6[/n])", "value",
                   s->cfg.trusted_proxies[i], NULL);
            return -1;
        }
        h->n_trusted++;
    }
    if (hx_fwd_header_parse(s->cfg.proxy_header, &h->fwd)) {
        hx_log(&s->log, HX_LOG_ERROR, "http.start_failed", "reason", "bad http.proxy_header", NULL);
        return -1;
    }
    if (s->cfg.tls_cert[0] &&
        hx__tls_load(s->cfg.tls_cert, s->cfg.tls_key, &h->tls, err, sizeof err)) {
        hx_log(&s->log, HX_LOG_ERROR, "http.start_failed", "reason", err, NULL);
        return -1;
    }
    return 0;
}

int hx_http_start(hx_server *s)
{
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_emit);
    hx_http *h = calloc(1, sizeof *h);
    if (!h) return -1;
    h->srv = s;
    hx__conn_limit_init(h);
    if (configure(s, h)) {
        free_http(h);
        return -1;
    }
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    void *loops[1] = {s->loop};
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_VALIDATE_UTF8;
    info.headers = hx__security_headers(); /* lws' own set, with a CSP the demo can use */
    if (!strchr(s->cfg.listen_host, ':')) info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    if (s->cfg.tls_cert[0]) {
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = s->cfg.tls_cert;
        info.ssl_private_key_filepath = s->cfg.tls_key;
        info.alpn = "http/1.1"; /* lws would offer h2; the API and signaling are HTTP/1.1 */
    }
    if (s->turn && s->cfg.turn_on_http_port) {
        /* Not HTTP (after TLS, if any): the raw role, where turn_splice.c takes TURN over.
         * lws needs the plaintext option for the fallback to work on a TLS listener. */
        info.options |= LWS_SERVER_OPTION_FALLBACK_TO_APPLY_LISTEN_ACCEPT_CONFIG;
        if (s->cfg.tls_cert[0]) info.options |= LWS_SERVER_OPTION_ALLOW_NON_SSL_ON_SSL_PORT;
        info.listen_accept_role = "raw-skt";
        info.listen_accept_protocol = protocols[0].name;
    }
    info.foreign_loops = loops;
    info.port = s->cfg.listen_port;
    info.iface = s->cfg.listen_host;
    info.protocols = protocols;
    info.user = h;
    /* The head limit is ours (http_conn.c answers 431); lws' buffer only has to hold a head
     * just over it, plus the Authorization it keeps (token_limits). */
    size_t hdr = s->cfg.max_head_bytes + sizeof((hx_http_req *)0)->authorization + 1024;
    info.max_http_header_data = (unsigned short)(hdr > 65535 ? 65535 : hdr);
    info.token_limits = &token_limits;
    info.timeout_secs = 20;
    info.vhost_name = "hearth";

    s->lws = lws_create_context(&info);
    if (!s->lws) {
        hx_log(&s->log, HX_LOG_ERROR, "http.start_failed", "reason", "lws_create_context failed",
               NULL);
        free_http(h);
        return -1;
    }
    /* From here the context owns h: hx_http_destroy frees it after the context. */
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
    if (s->cfg.tls_cert[0]) {
        if (!h->ssl_ctx) {
            hx_log(&s->log, HX_LOG_ERROR, "http.start_failed", "reason",
                   "TLS: lws made no SSL_CTX for the listener", NULL);
            return -1;
        }
        s->tls = true;
    }
    return 0;
}

void hx_http_stop(hx_server *s)
{
    if (s->lws) lws_context_destroy(s->lws);
}

void hx_http_destroy(hx_server *s)
{
    hx_http *h = s->lws ? lws_context_user(s->lws) : NULL;
    if (s->lws) lws_context_destroy(s->lws);
    free_http(h);
    s->lws = NULL;
    s->vhost = NULL;
    s->tls = false;
}
