/*
 * The end of a handshake. OpenSSL reports success as soon as the Finished
 * messages check out, which proves only that the peer holds the key of the
 * certificate it sent. What makes it the peer the signaling talked to is
 * the SDP fingerprint (RFC 8122 §5, RFC 5763 §5), and what makes the
 * association useful for media is a negotiated SRTP profile: OpenSSL
 * completes the handshake without one when the offers do not intersect
 * (RFC 5764 §4.1.1 lets the server omit the extension), so it is checked
 * here, explicitly.
 *
 * The fingerprint may still be missing (SDP arrives after the first
 * flights). Then hs_done is set and the verdict waits for
 * hx_dtls_set_remote_fingerprint.
 */
#include "dtls/dtls_internal.h"

#include <openssl/err.h>
#include <string.h>

#define EXPORTER_LABEL "EXTRACTOR-dtls_srtp"

static int verify_and_connect(hx_dtls *d)
{
    X509 *peer = SSL_get1_peer_certificate(d->ssl);
    int v = peer ? hx_dtls_fp_verify_raw(peer, d->fp_alg, d->fp, d->fp_len) : HX_DTLS_FP_INVALID;
    X509_free(peer);
    if (v != 0) return hx__fail(d, HX_DTLS_ERR_FINGERPRINT, peer ? NULL : "no peer certificate");

    const SRTP_PROTECTION_PROFILE *p = SSL_get_selected_srtp_profile(d->ssl);
    uint8_t key_len, salt_len;
    if (!p) return hx__fail(d, HX_DTLS_ERR_NO_SRTP, "none in common");
    if (hx__srtp_profile_lengths(p->id, &key_len, &salt_len) != 0)
        return hx__fail(d, HX_DTLS_ERR_NO_SRTP, p->name);

    uint8_t material[2 * (HX_DTLS_SRTP_KEY_MAX + HX_DTLS_SRTP_SALT_MAX)];
    size_t n = 2 * ((size_t)key_len + salt_len);
    if (SSL_export_keying_material(d->ssl, material, n, EXPORTER_LABEL, strlen(EXPORTER_LABEL),
                                   NULL, 0, 0) != 1)
        return hx__fail(d, HX_DTLS_ERR_TLS, "keying material export");
    d->keys.profile = (uint16_t)p->id;
    hx__srtp_keys_split(d->role, material, key_len, salt_len, &d->keys);
    OPENSSL_cleanse(material, sizeof material);
    d->state = HX_DTLS_CONNECTED;
    if (d->cbs.on_connected) d->cbs.on_connected(d->cbs.user, &d->keys);
    return 0;
}

int hx__handshake_done(hx_dtls *d)
{
    d->hs_done = true;
    return d->have_fp ? verify_and_connect(d) : 0;
}

int hx_dtls_set_remote_fingerprint(hx_dtls *d, const char *alg, const char *value)
{
    uint8_t fp[HX_DTLS_FP_MAX];
    if (!d || !alg || strlen(alg) >= sizeof d->fp_alg) return HX_DTLS_ERR_ARG;
    long n = hx_dtls_fp_parse(alg, value, fp);
    if (n < 0) return HX_DTLS_ERR_ARG;
    if (d->state == HX_DTLS_FAILED || d->state == HX_DTLS_CLOSED) return HX_DTLS_ERR_STATE;
    memcpy(d->fp, fp, (size_t)n);
    d->fp_len = (size_t)n;
    memcpy(d->fp_alg, alg, strlen(alg) + 1); /* length checked above */
    d->have_fp = true;
    if (d->state == HX_DTLS_CONNECTED) { /* a changed fingerprint must still match */
        X509 *peer = SSL_get1_peer_certificate(d->ssl);
        int v = hx_dtls_fp_verify_raw(peer, d->fp_alg, d->fp, d->fp_len);
        X509_free(peer);
        return v == 0 ? 0 : hx__fail(d, HX_DTLS_ERR_FINGERPRINT, NULL);
    }
    if (d->state != HX_DTLS_CONNECTING || !d->hs_done) return 0;
    ERR_clear_error();
    int rc = verify_and_connect(d);
    hx__dgram_flush(&d->dg);
    return rc;
}
