/*
 * The HTTP layer's own state, beside hx_server: what the edge needs that the
 * rest of the daemon does not see. One hx_http per lws context, allocated by
 * hx_http_start, reached from any wsi through lws_context_user() (its first
 * member is the server), freed by hx_http_destroy after the context.
 *
 *   conn_limit.c  open connections per client address (accept, head, close)
 *   tls.c         the listener's certificate: loaded, served, reloaded
 *   head.c        request-head checks lws leaves to us (size, Content-Length)
 *   turn_splice.c TURN on this port (turn.on_http_port): raw connections to the TURN server
 *   security_headers.c  the CSP and other security headers on every response
 */
#ifndef HX_HTTP_HTTP_INTERNAL_H
#define HX_HTTP_HTTP_INTERNAL_H

#include "common/strmap.h"
#include "core/server.h"
#include "http/client_addr.h"

#include <libwebsockets.h>
#include <openssl/ssl.h>
#include <stdbool.h>

/* The certificate new TLS connections get; replaced whole on reload. */
typedef struct hx_tls_material {
    X509 *cert;
    STACK_OF(X509) * chain; /* intermediates after the leaf, may be empty */
    EVP_PKEY *key;
} hx_tls_material;

typedef struct hx_http {
    hx_server *srv;
    hx_cidr trusted[HX_CFG_MAX_LIST]; /* http.trusted_proxies, parsed */
    size_t n_trusted;
    hx_fwd_header fwd; /* http.proxy_header */
    /* conn_limit.c: address -> open connections (a count in the pointer), and
     * wsi ("%p") -> the address it is counted under (malloc'd string). */
    hx_strmap per_addr;
    hx_strmap by_wsi;
    /* tls.c */
    SSL_CTX *ssl_ctx; /* the vhost's, owned by lws */
    hx_tls_material tls;
    /* ws_conn.c: LWS_PRE + HX__WS_DIRECT_MAX bytes for a message written at once, from the
     * first such message on (lws copies what the socket does not take). */
    unsigned char *direct;
} hx_http;

#define HX__WS_DIRECT_MAX 65536

/** The hx_http of a wsi's context. */
static inline hx_http *hx__http_of(struct lws *wsi)
{
    return lws_context_user(lws_get_context(wsi));
}

/* ---- security_headers.c ---- */
/** The vhost's headers for every response (lws_context_creation_info.headers). */
const struct lws_protocol_vhost_options *hx__security_headers(void);

/* ---- conn_limit.c ---- */
void hx__conn_limit_init(hx_http *h);
void hx__conn_limit_free(hx_http *h);
/** LWS_CALLBACK_FILTER_NETWORK_CONNECTION: 0 to accept fd, -1 to close it (over the limit). */
int hx__conn_limit_accept(hx_http *h, int fd);
/** LWS_CALLBACK_SERVER_NEW_CLIENT_INSTANTIATED: count wsi under its socket peer (not a proxy's). */
void hx__conn_limit_open(hx_http *h, struct lws *wsi);
/**
 * The head is parsed and addr is the client: count wsi under addr from now on (moving it from
 * where it was). 0, or -1 when addr is over http.max_conns_per_addr (refuse with 429).
 */
int hx__conn_limit_claim(hx_http *h, struct lws *wsi, const char *addr);
/** LWS_CALLBACK_WSI_DESTROY: uncount wsi. */
void hx__conn_limit_close(hx_http *h, struct lws *wsi);
/** Open connections counted (every address). */
size_t hx__conn_limit_total(const hx_http *h);
/** Count a refusal: hearth_http_refused_total{reason}. */
void hx__http_refused(hx_http *h, const char *reason);

/* ---- tls.c ---- */
/** Load cert_file/key_file into m (checked to match). 0, or -1 with err. */
int hx__tls_load(const char *cert_file, const char *key_file, hx_tls_material *m, char *err,
                 size_t errlen);
void hx__tls_material_free(hx_tls_material *m);
/** The vhost's SSL_CTX is ready (LOAD_EXTRA_SERVER_VERIFY_CERTS): serve h->tls from it. 0/-1. */
int hx__tls_attach(hx_http *h, SSL_CTX *ctx);

/* ---- head.c ---- */
/** The request head's size as lws parsed it (request line + headers, Authorization excepted). */
size_t hx__head_size(struct lws *wsi);
/** The client address of a parsed request into out (HX_ADDR_STRLEN). */
void hx__request_addr(hx_http *h, struct lws *wsi, char *out, size_t outlen);
/** Content-Length: 0 absent, 1 present and valid (*n set), -1 negative or unparsable. */
int hx__content_length(struct lws *wsi, unsigned long long *n);

/* ---- turn_splice.c ---- */
/** The raw role's callbacks (RAW_ADOPT, RAW_RX, RAW_WRITEABLE, RAW_CLOSE). */
int hx__turn_splice_callback(struct lws *wsi, enum lws_callback_reasons reason, void *in,
                             size_t len);

#endif
