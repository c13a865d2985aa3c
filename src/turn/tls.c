/*
 * TURN over TLS (RFC 8656 §3.1, "turns:"): OpenSSL 3 on memory BIOs, so
 * the socket stays libuv's. Ciphertext read from the stream goes into the
 * SSL's read BIO; plaintext out of SSL_read goes to the framer (conn.c);
 * whatever the SSL writes (handshake, records, alerts) is taken from its
 * write BIO and queued on the connection's bounded write buffers.
 *
 * The SSL_CTX (certificate and key from PEM files, TLS 1.2 at least) is
 * shared by new connections; hx_turn_reload_tls builds a new one on the
 * caller's thread and swaps it under tls_lock, so a failed reload leaves
 * the old one serving, and a connection keeps the context it started with
 * (each SSL holds its own reference).
 */
#include "turn/carrier_internal.h"

#include <openssl/err.h>
#include <stdio.h>
#include <string.h>

#define HX__TURN_PLAIN 16384
#define HX__TURN_TLS_OVERHEAD 128 /* a record's header, MAC, padding, with margin */

int hx__turn_tls_load(const hx_turn_config *cfg, SSL_CTX **out, char *err, size_t errlen)
{
    *out = NULL;
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        snprintf(err, errlen, "tls: cannot create a context");
        return -1;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
    if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        char why[160];
        ERR_error_string_n(ERR_get_error(), why, sizeof why);
        ERR_clear_error();
        snprintf(err, errlen, "tls: %s / %s: %s", cfg->tls_cert, cfg->tls_key, why);
        SSL_CTX_free(ctx);
        return -1;
    }
    *out = ctx;
    return 0;
}

SSL *hx__turn_tls_new(hx_turn *t)
{
    pthread_mutex_lock(&t->tls_lock);
    SSL *ssl = t->ssl_ctx ? SSL_new(t->ssl_ctx) : NULL;
    pthread_mutex_unlock(&t->tls_lock);
    if (!ssl) return NULL;
    BIO *rb = BIO_new(BIO_s_mem()), *wb = BIO_new(BIO_s_mem());
    if (!rb || !wb) {
        BIO_free(rb);
        BIO_free(wb);
        SSL_free(ssl);
        return NULL;
    }
    BIO_set_mem_eof_return(rb, -1); /* empty means "more to come", not EOF */
    SSL_set_bio(ssl, rb, wb);
    SSL_set_accept_state(ssl);
    return ssl;
}

/*
 * Queue what the SSL has written. Ciphertext cannot be dropped in part (the
 * stream would be broken): a connection whose buffers cannot take it is
 * closed; tls_output keeps room by dropping plaintext first.
 */
static void drain(hx__turn_conn *c)
{
    BIO *wb = SSL_get_wbio(c->ssl);
    uint8_t chunk[4096];
    int n;
    while ((n = BIO_read(wb, chunk, sizeof chunk)) > 0)
        if (hx__turn_conn_queue(c, chunk, (size_t)n) != 0) {
            hx__turn_conn_close(c);
            return;
        }
}

int hx__turn_tls_input(hx__turn_conn *c, const uint8_t *data, size_t len)
{
    hx_turn *t = c->t;
    BIO *rb = SSL_get_rbio(c->ssl);
    if (BIO_write(rb, data, (int)len) != (int)len) return -1;
    for (;;) {
        int n = SSL_read(c->ssl, t->plain, HX__TURN_PLAIN);
        if (n > 0) {
            drain(c); /* before the core answers: handshake bytes first */
            if (hx__turn_conn_plain(c, t->plain, (size_t)n) != 0) return -1;
            if (c->closing) return 0;
            continue;
        }
        int e = SSL_get_error(c->ssl, n);
        drain(c);
        if (e == SSL_ERROR_WANT_READ) return 0;
        ERR_clear_error();
        if (!SSL_is_init_finished(c->ssl))
            atomic_fetch_add_explicit(&t->refused_connections, 1, memory_order_relaxed);
        return -1; /* a failed handshake, an alert, or close_notify */
    }
}

void hx__turn_tls_output(hx__turn_conn *c, const uint8_t *data, size_t len)
{
    if (c->closing || !SSL_is_init_finished(c->ssl)) return;
    if (hx__turn_conn_room(c) < len + HX__TURN_TLS_OVERHEAD) { /* dropped as plaintext */
        atomic_fetch_add_explicit(&c->t->dropped, 1, memory_order_relaxed);
        return;
    }
    if (SSL_write(c->ssl, data, (int)len) <= 0) ERR_clear_error();
    drain(c);
}

int hx_turn_reload_tls(hx_turn *t, char *err, size_t errlen)
{
    if (!t) return 0;
    pthread_mutex_lock(&t->tls_lock);
    bool on = t->ssl_ctx != NULL;
    pthread_mutex_unlock(&t->tls_lock);
    if (!on) return 0; /* no TLS listener: nothing to reload */
    SSL_CTX *fresh;
    if (hx__turn_tls_load(&t->cfg, &fresh, err, errlen) != 0) return -1;
    pthread_mutex_lock(&t->tls_lock);
    SSL_CTX *old = t->ssl_ctx;
    t->ssl_ctx = fresh;
    pthread_mutex_unlock(&t->tls_lock);
    SSL_CTX_free(old);
    return 0;
}
