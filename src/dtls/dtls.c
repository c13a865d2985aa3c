/*
 * One DTLS association per transport: lifecycle, datagram input, timers,
 * application data and close. The end of the handshake and its checks
 * live in verify.c.
 *
 * Every entry point that calls into OpenSSL follows one pattern: clear the
 * thread's error queue (so SSL_get_error sees only this call), lend the
 * input datagram to the BIO, call OpenSSL, take the datagram back (an
 * unread one is dropped, never kept across calls), flush the BIO so that no
 * packed record waits for the next call.
 *
 * Record buffers: OpenSSL holds a 16.7 KiB read and a 16.6 KiB write
 * buffer per SSL from the first handshake call to SSL_free, and never
 * drops them for DTLS (SSL_MODE_RELEASE_BUFFERS acts on TLS only). After
 * the handshake an association is idle nearly all the time (SCTP on a
 * quiet data channel, or nothing at all), so every entry point releases
 * them on the way out (SSL_free_buffers refuses while a record is
 * pending) and takes them back before the next call into OpenSSL: its
 * DTLS write path does not reallocate a released write buffer by itself,
 * and any call may write (an alert, close_notify, the last flight again
 * when the peer repeats its Finished). The cost is two allocations per
 * call, i.e. per SCTP packet; the media path never comes here. The BIO's
 * packing buffer goes at the same point, for good. What stays (~38 KiB
 * with OpenSSL 3.0): the SSL, the session with the peer's certificate, the
 * cipher contexts, and a 21 KiB handshake message buffer that OpenSSL
 * keeps for DTLS in case the peer repeats its last flight and offers no
 * call to release (SSL_clear would end the association).
 *
 * Retransmission: OpenSSL runs the DTLS timer on its own clock; the timer
 * callback below replaces its 1 s start and doubling to 60 s with
 * initial_rto_ms doubling to max_rto_ms (browsers start near 50-100 ms).
 * The caller's clock (now_ms) drives the total handshake deadline and the
 * retransmit count, which fail the transport with HX_DTLS_ERR_TIMEOUT.
 */
#include "dtls/dtls_internal.h"
#include "common/invariant.h"

#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned int timer_cb(SSL *ssl, unsigned int prev_us)
{
    hx_dtls *d = SSL_get_app_data(ssl);
    uint64_t next = prev_us == 0 ? (uint64_t)d->ctx->initial_rto_ms * 1000 : (uint64_t)prev_us * 2;
    uint64_t cap = (uint64_t)d->ctx->max_rto_ms * 1000;
    return (unsigned int)(next < cap ? next : cap);
}

int hx_dtls_new(hx_dtls **out, hx_dtls_ctx *ctx, hx_dtls_role role, const hx_dtls_cbs *cbs)
{
    *out = NULL;
    if (!ctx || !cbs || !cbs->send || (role != HX_DTLS_CLIENT && role != HX_DTLS_SERVER))
        return HX_DTLS_ERR_ARG;
    hx_dtls *d = calloc(1, sizeof *d);
    if (!d) return HX_DTLS_ERR_NOMEM;
    d->ctx = ctx;
    d->cbs = *cbs;
    d->role = role;
    d->dg.send = cbs->send;
    d->dg.user = cbs->user;
    d->dg.out = malloc(HX_DTLS_MTU);
    if (!d->dg.out) {
        free(d);
        return HX_DTLS_ERR_NOMEM;
    }
    d->ssl = SSL_new(ctx->ssl);
    BIO *bio = BIO_new(ctx->bio_method);
    if (!d->ssl || !bio) {
        BIO_free(bio);
        goto fail;
    }
    BIO_set_data(bio, &d->dg);
    SSL_set_bio(d->ssl, bio, bio); /* one reference, owned by the SSL now */
    if (SSL_set_app_data(d->ssl, d) != 1 || SSL_set_mtu(d->ssl, HX_DTLS_MTU) <= 0)
        goto fail; /* returns the MTU set */
    DTLS_set_timer_cb(d->ssl, timer_cb);
    if (role == HX_DTLS_CLIENT)
        SSL_set_connect_state(d->ssl);
    else
        SSL_set_accept_state(d->ssl);
    *out = d;
    return HX_DTLS_OK;
fail:
    hx_dtls_free(d);
    return HX_DTLS_ERR_TLS;
}

void hx_dtls_free(hx_dtls *d)
{
    if (!d) return;
    SSL_free(d->ssl);
    free(d->dg.out);
    OPENSSL_cleanse(&d->keys, sizeof d->keys);
    free(d);
}

/* Before a call into OpenSSL: its buffers back, if released. Pairs with bufs_release. */
static int bufs_take(hx_dtls *d)
{
    if (d->bufs_freed) {
        if (SSL_alloc_buffers(d->ssl) != 1) return HX_DTLS_ERR_NOMEM;
        d->bufs_freed = false;
    }
    d->calls++;
    return 0;
}

/* After a call: release them once the handshake is over (it needs them throughout) and the
 * outermost call returns (on_connected may send, inside hx_dtls_input); the BIO's packing
 * buffer too (flushed by then), for good. */
static void bufs_release(hx_dtls *d)
{
    if (HX_NEVER(d->calls == 0)) return;
    if (--d->calls != 0 || !d->hs_done) return;
    d->bufs_freed = SSL_free_buffers(d->ssl) == 1;
    if (d->dg.out && HX_ALWAYS(d->dg.out_len == 0)) {
        free(d->dg.out);
        d->dg.out = NULL;
    }
}

int hx__fail(hx_dtls *d, int err, const char *detail)
{
    if (d->state == HX_DTLS_FAILED || d->state == HX_DTLS_CLOSED) return err;
    d->state = HX_DTLS_FAILED;
    d->err = err;
    if (detail && *detail)
        snprintf(d->reason, sizeof d->reason, "%s: %s", hx_dtls_strerror(err), detail);
    else
        snprintf(d->reason, sizeof d->reason, "%s", hx_dtls_strerror(err));
    /* A finished handshake can say goodbye; a broken one already sent its alert. */
    if (d->hs_done && bufs_take(d) == 0) {
        SSL_shutdown(d->ssl);
        hx__dgram_flush(&d->dg);
        bufs_release(d);
    }
    if (d->cbs.on_failed) d->cbs.on_failed(d->cbs.user, err, d->reason);
    return err;
}

/* A failed OpenSSL call: a fatal alert from the peer, or our own error. */
static int fail_ssl(hx_dtls *d)
{
    if (d->fatal_alert)
        return hx__fail(d, HX_DTLS_ERR_ALERT, SSL_alert_desc_string_long(d->alert_desc));
    unsigned long e = ERR_peek_last_error();
    const char *why = e ? ERR_reason_error_string(e) : NULL;
    return hx__fail(d, HX_DTLS_ERR_HANDSHAKE, why ? why : "unexpected end");
}

static int begin(hx_dtls *d, uint64_t now_ms)
{
    d->state = HX_DTLS_CONNECTING;
    d->deadline_ms = now_ms + d->ctx->handshake_timeout_ms;
    return 0;
}

static int drive_handshake(hx_dtls *d)
{
    int r = SSL_do_handshake(d->ssl);
    if (r == 1) return hx__handshake_done(d);
    int e = SSL_get_error(d->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return 0;
    return fail_ssl(d);
}

static int read_app(hx_dtls *d)
{
    while (d->state == HX_DTLS_CONNECTED) {
        int n = SSL_read(d->ssl, d->ctx->rx, sizeof d->ctx->rx);
        if (n > 0) {
            if (d->cbs.on_data) d->cbs.on_data(d->cbs.user, d->ctx->rx, (size_t)n);
            continue;
        }
        int e = SSL_get_error(d->ssl, n);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return 0;
        if (e == SSL_ERROR_ZERO_RETURN) { /* close_notify: answer it, report it */
            SSL_shutdown(d->ssl);
            d->state = HX_DTLS_CLOSED;
            if (d->cbs.on_closed) d->cbs.on_closed(d->cbs.user);
            return 0;
        }
        return fail_ssl(d);
    }
    return 0;
}

int hx_dtls_start(hx_dtls *d, uint64_t now_ms)
{
    if (!d) return HX_DTLS_ERR_ARG;
    if (d->state != HX_DTLS_NEW) return HX_DTLS_ERR_STATE;
    begin(d, now_ms);
    if (d->role == HX_DTLS_SERVER) return 0;
    ERR_clear_error();
    int rc = drive_handshake(d);
    hx__dgram_flush(&d->dg);
    return rc;
}

int hx_dtls_input(hx_dtls *d, const uint8_t *buf, size_t len, uint64_t now_ms)
{
    if (!d || !buf || len == 0) return HX_DTLS_ERR_ARG;
    if (d->state == HX_DTLS_NEW && d->role == HX_DTLS_SERVER) begin(d, now_ms);
    if (d->state != HX_DTLS_CONNECTING && d->state != HX_DTLS_CONNECTED) return HX_DTLS_ERR_STATE;
    if (bufs_take(d) != 0) return HX_DTLS_ERR_NOMEM; /* dropped, as if lost */
    ERR_clear_error();
    d->dg.in = buf;
    d->dg.in_len = len;
    int rc = 0;
    if (!d->hs_done) rc = drive_handshake(d);
    if (rc == 0 && d->state == HX_DTLS_CONNECTED) rc = read_app(d);
    d->dg.in = NULL;
    d->dg.in_len = 0;
    hx__dgram_flush(&d->dg);
    bufs_release(d);
    return rc;
}

int64_t hx_dtls_timeout_ms(hx_dtls *d, uint64_t now_ms)
{
    if (!d || d->state != HX_DTLS_CONNECTING) return -1;
    int64_t left = now_ms >= d->deadline_ms ? 0 : (int64_t)(d->deadline_ms - now_ms);
    struct timeval tv;
    if (!d->hs_done && DTLSv1_get_timeout(d->ssl, &tv) == 1) {
        int64_t rto = (int64_t)tv.tv_sec * 1000 + ((int64_t)tv.tv_usec + 999) / 1000;
        if (rto < left) left = rto;
    }
    return left;
}

int hx_dtls_on_timer(hx_dtls *d, uint64_t now_ms)
{
    if (!d) return HX_DTLS_ERR_ARG;
    if (d->state != HX_DTLS_CONNECTING) return 0;
    if (now_ms >= d->deadline_ms) return hx__fail(d, HX_DTLS_ERR_TIMEOUT, "deadline passed");
    struct timeval tv;
    if (d->hs_done || DTLSv1_get_timeout(d->ssl, &tv) != 1 || tv.tv_sec != 0 || tv.tv_usec != 0)
        return 0; /* nothing due (yet) */
    if (d->retransmits >= d->ctx->max_retransmits)
        return hx__fail(d, HX_DTLS_ERR_TIMEOUT, "retransmit limit");
    ERR_clear_error();
    int r = DTLSv1_handle_timeout(d->ssl);
    hx__dgram_flush(&d->dg);
    if (r < 0) return hx__fail(d, HX_DTLS_ERR_TIMEOUT, "retransmit limit");
    if (r > 0) d->retransmits++;
    return 0;
}

int hx_dtls_send(hx_dtls *d, const uint8_t *buf, size_t len)
{
    if (!d || !buf || len == 0 || len > HX_DTLS_MAX_APP_LEN) return HX_DTLS_ERR_ARG;
    if (d->state != HX_DTLS_CONNECTED) return HX_DTLS_ERR_STATE;
    if (bufs_take(d) != 0) return HX_DTLS_ERR_NOMEM;
    ERR_clear_error();
    int n = SSL_write(d->ssl, buf, (int)len);
    hx__dgram_flush(&d->dg);
    bufs_release(d);
    return n == (int)len ? 0 : HX_DTLS_ERR_TLS;
}

int hx_dtls_close(hx_dtls *d)
{
    if (!d) return HX_DTLS_ERR_ARG;
    if (d->state == HX_DTLS_FAILED || d->state == HX_DTLS_CLOSED) return 0;
    if (d->state != HX_DTLS_NEW && bufs_take(d) == 0) {
        ERR_clear_error();
        SSL_shutdown(d->ssl);
        hx__dgram_flush(&d->dg);
        bufs_release(d);
    }
    d->state = HX_DTLS_CLOSED;
    return 0;
}

hx_dtls_state hx_dtls_get_state(const hx_dtls *d)
{
    return d->state;
}

hx_dtls_role hx_dtls_get_role(const hx_dtls *d)
{
    return d->role;
}

const hx_dtls_srtp_keys *hx_dtls_keys(const hx_dtls *d)
{
    return d->keys.profile ? &d->keys : NULL;
}

int hx_dtls_error(const hx_dtls *d, const char **reason)
{
    if (reason) *reason = d->reason;
    return d->err;
}

unsigned hx_dtls_retransmits(const hx_dtls *d)
{
    return d->retransmits;
}
