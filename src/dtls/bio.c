/*
 * The datagram BIO (see dtls_internal.h for the packing rule). OpenSSL's
 * memory BIOs concatenate records into a byte stream, so a reader cannot
 * tell where one datagram ended; and socket BIOs would tie the engine to a
 * socket. This BIO keeps boundaries both ways and owns no I/O: the send
 * function pointer is the adapter to UDP (or, in tests, to a queue).
 *
 * A record larger than HX_DTLS_MTU (application data up to 16 KiB) is sent
 * alone, after whatever was packed before it; so is every record once the
 * packing buffer is gone (after the handshake). A send failure is a lost
 * datagram: the handshake retransmits, SCTP retransmits.
 */
#include "dtls/dtls_internal.h"

#include <string.h>

void hx__dgram_flush(hx__dgram *dg)
{
    if (dg->out_len == 0) return;
    dg->send(dg->user, dg->out, dg->out_len);
    dg->out_len = 0;
}

static int dgram_write(BIO *b, const char *data, int len)
{
    hx__dgram *dg = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (!dg || len < 0) return -1;
    size_t n = (size_t)len;
    if (dg->out_len + n > HX_DTLS_MTU) hx__dgram_flush(dg);
    if (n > HX_DTLS_MTU || !dg->out) {
        dg->send(dg->user, (const uint8_t *)data, n);
        return len;
    }
    memcpy(dg->out + dg->out_len, data, n);
    dg->out_len += n;
    return len;
}

static int dgram_read(BIO *b, char *out, int outl)
{
    hx__dgram *dg = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (!dg || outl < 0) return -1;
    if (!dg->in) {
        BIO_set_retry_read(b);
        return -1;
    }
    /* Datagram semantics: a short read loses the tail. */
    size_t n = dg->in_len < (size_t)outl ? dg->in_len : (size_t)outl;
    memcpy(out, dg->in, n);
    dg->in = NULL;
    dg->in_len = 0;
    return (int)n;
}

static long dgram_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    hx__dgram *dg = BIO_get_data(b);
    (void)num;
    (void)ptr;
    switch (cmd) {
    case BIO_CTRL_FLUSH:
        if (dg) hx__dgram_flush(dg);
        return 1;
    case BIO_CTRL_WPENDING:
        return dg ? (long)dg->out_len : 0;
    case BIO_CTRL_PENDING:
        return dg && dg->in ? (long)dg->in_len : 0;
    case BIO_CTRL_DGRAM_QUERY_MTU:
    case BIO_CTRL_DGRAM_GET_FALLBACK_MTU:
        return HX_DTLS_MTU;
    case BIO_CTRL_DGRAM_GET_MTU_OVERHEAD:
        return 0; /* the MTU already excludes IP/UDP */
    default:
        return 0;
    }
}

static int dgram_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

BIO_METHOD *hx__dgram_method(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "hearth datagram");
    if (!m) return NULL;
    if (BIO_meth_set_write(m, dgram_write) != 1 || BIO_meth_set_read(m, dgram_read) != 1 ||
        BIO_meth_set_ctrl(m, dgram_ctrl) != 1 || BIO_meth_set_create(m, dgram_create) != 1) {
        BIO_meth_free(m);
        return NULL;
    }
    return m;
}
