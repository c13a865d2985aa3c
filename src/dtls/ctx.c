/*
 * The shared DTLS context: one SSL_CTX per worker with everything that is
 * the same for all its transports.
 *
 * - DTLS 1.2 only (RFC 8827 §6.5 requires at least 1.2; OpenSSL 3.0 has no
 *   DTLS 1.3), ECDHE-ECDSA with AES-GCM or ChaCha20-Poly1305 (the suites
 *   browsers offer for an ECDSA certificate), groups X25519 and P-256.
 * - use_srtp with the configured profiles. The server picks by its own
 *   order, so the default list puts AEAD_AES_128_GCM first.
 * - A peer certificate is required both ways (RFC 5763 §5: the offerer's
 *   certificate is authenticated too). The certificate verify callback
 *   accepts any chain, self-signed included: trust comes from the SDP fingerprint,
 *   checked by dtls.c once the handshake ends.
 * - No path-MTU queries (there is no socket to ask), no renegotiation, no
 *   session tickets or cache (every transport has fresh keys anyway).
 * - The info callback records fatal alerts received, for the failure reason.
 */
#include "dtls/dtls_internal.h"

#include <stdlib.h>

#define CIPHERS                                                                                    \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-GCM-SHA384"
#define GROUPS "X25519:P-256"

/* Replaces X509_verify_cert: no chain building and no self-signature check (one ECDSA verify
 * per handshake saved); the CertificateVerify message still proves the key. */
static int accept_any_chain(X509_STORE_CTX *store, void *arg)
{
    (void)store;
    (void)arg;
    return 1;
}

static void info_cb(const SSL *ssl, int where, int ret)
{
    if (!(where & SSL_CB_ALERT) || !(where & SSL_CB_READ)) return;
    hx_dtls *d = SSL_get_app_data(ssl);
    if (d && (ret >> 8) == SSL3_AL_FATAL) {
        d->fatal_alert = true;
        d->alert_desc = (uint8_t)(ret & 0xff);
    }
}

int hx_dtls_ctx_new(hx_dtls_ctx **out, const hx_dtls_config *cfg)
{
    *out = NULL;
    if (!cfg || !cfg->cert || !cfg->cert->key || !cfg->cert->x509) return HX_DTLS_ERR_ARG;
    hx_dtls_ctx *c = calloc(1, sizeof *c);
    if (!c) return HX_DTLS_ERR_NOMEM;
    c->initial_rto_ms = cfg->initial_rto_ms ? cfg->initial_rto_ms : 100;
    c->max_rto_ms = cfg->max_rto_ms ? cfg->max_rto_ms : 4000;
    c->max_retransmits = cfg->max_retransmits ? cfg->max_retransmits : 8;
    c->handshake_timeout_ms = cfg->handshake_timeout_ms ? cfg->handshake_timeout_ms : 30000;
    /* OpenSSL treats a timer with under 15 ms left as expired, and retransmits from inside
     * SSL_do_handshake when it sees one: a shorter first timeout resends every flight at once. */
    if (c->initial_rto_ms < HX_DTLS_MIN_RTO_MS) c->initial_rto_ms = HX_DTLS_MIN_RTO_MS;
    if (c->max_rto_ms < c->initial_rto_ms) c->max_rto_ms = c->initial_rto_ms;
    const char *profiles = cfg->srtp_profiles ? cfg->srtp_profiles : HX_DTLS_SRTP_PROFILES;

    c->bio_method = hx__dgram_method();
    c->ssl = SSL_CTX_new(DTLS_method());
    if (!c->bio_method || !c->ssl) goto fail;
    SSL_CTX *s = c->ssl;
    if (SSL_CTX_set_min_proto_version(s, DTLS1_2_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(s, DTLS1_2_VERSION) != 1 ||
        SSL_CTX_set_cipher_list(s, CIPHERS) != 1 || SSL_CTX_set1_groups_list(s, GROUPS) != 1 ||
        SSL_CTX_use_certificate(s, cfg->cert->x509) != 1 ||
        SSL_CTX_use_PrivateKey(s, cfg->cert->key) != 1 || SSL_CTX_check_private_key(s) != 1)
        goto fail;
    /* Unlike the rest of OpenSSL, 0 means success here. */
    if (SSL_CTX_set_tlsext_use_srtp(s, profiles) != 0) goto fail;
    SSL_CTX_set_verify(s, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    SSL_CTX_set_cert_verify_callback(s, accept_any_chain, NULL);
    SSL_CTX_set_options(s, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET |
                               SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_session_cache_mode(s, SSL_SESS_CACHE_OFF);
    /* Read and write buffers (~34 KiB) only while a record is in flight: thousands of idle
     * associations (data channels quiet most of the time) cost little memory. */
    SSL_CTX_set_mode(s, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_read_ahead(s, 1);
    SSL_CTX_set_info_callback(s, info_cb);
    *out = c;
    return HX_DTLS_OK;
fail:
    hx_dtls_ctx_free(c);
    return HX_DTLS_ERR_TLS;
}

void hx_dtls_ctx_free(hx_dtls_ctx *ctx)
{
    if (!ctx) return;
    SSL_CTX_free(ctx->ssl);
    BIO_meth_free(ctx->bio_method);
    free(ctx);
}

const char *hx_dtls_strerror(int err)
{
    switch (err) {
    case HX_DTLS_OK:
        return "ok";
    case HX_DTLS_ERR_ARG:
        return "invalid argument";
    case HX_DTLS_ERR_STATE:
        return "not allowed in this state";
    case HX_DTLS_ERR_NOMEM:
        return "out of memory";
    case HX_DTLS_ERR_TLS:
        return "TLS library error";
    case HX_DTLS_ERR_FINGERPRINT:
        return "fingerprint mismatch";
    case HX_DTLS_ERR_NO_SRTP:
        return "no SRTP profile";
    case HX_DTLS_ERR_TIMEOUT:
        return "handshake timeout";
    case HX_DTLS_ERR_ALERT:
        return "alert received";
    case HX_DTLS_ERR_HANDSHAKE:
        return "handshake error";
    default:
        return "unknown error";
    }
}
