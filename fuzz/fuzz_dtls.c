/*
 * libFuzzer target for dtls/record and the hx_dtls input path.
 *
 * Input: a sequence of datagrams, each a 2-byte big-endian length and that
 * many bytes; a short tail is one last datagram. Each input is used:
 *   1. whole, and datagram by datagram, by the record scanner, which must
 *      agree with itself (count > 0 iff the callback saw that many records,
 *      each inside the datagram) and with the classifiers;
 *   2. fed datagram by datagram to a fresh server-role hx_dtls, with the
 *      timer fired after each; whatever happens must end in a defined
 *      state, and destroy must be clean (LSan checks the leaks).
 * The context and certificate are built once in LLVMFuzzerInitialize.
 *
 * The seed corpus (fuzz/corpus/dtls) holds a ClientHello flight captured
 * from tests/dtls/test_pair.c (HX_DTLS_CAPTURE_DIR), which drives the server
 * through its first flight.
 */
#include "dtls/dtls.h"
#include "dtls/record.h"

#include <stdlib.h>
#include <string.h>

static hx_dtls_cert cert;
static hx_dtls_ctx *ctx;

static int drop(void *user, const uint8_t *buf, size_t len)
{
    (void)user;
    if (len == 0 || len > HX_DTLS_MAX_APP_LEN + 512) abort();
    (void)buf;
    return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    hx_dtls_config cfg = {.cert = &cert};
    if (hx_dtls_cert_generate(&cert) != 0 || hx_dtls_ctx_new(&ctx, &cfg) != 0) abort();
    return 0;
}

typedef struct walk {
    const uint8_t *buf;
    size_t len;
    int n;
} walk;

static int check_record(void *user, const hx_dtls_record *r)
{
    walk *w = user;
    if (r->body < w->buf + HX_DTLS_RECORD_HEADER_LEN || r->body + r->len > w->buf + w->len ||
        r->type < 20 || r->type > 23 || r->len > HX_DTLS_RECORD_MAX_BODY)
        abort();
    w->n++;
    return 0;
}

static void check_scan(const uint8_t *buf, size_t len)
{
    walk w = {buf, len, 0};
    int n = hx_dtls_record_scan(buf, len, check_record, &w);
    if (n > 0 ? w.n != n : w.n != 0) abort();
    if (n > 0 && !hx_dtls_is_dtls(buf, len)) abort();
    if (hx_dtls_is_client_hello(buf, len) && n <= 0) abort();
    if (n <= 0 && strcmp(hx_dtls_record_strerror(n), "unknown error") == 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_scan(data, size);
    hx_dtls *d = NULL;
    hx_dtls_cbs cbs = {.send = drop};
    if (hx_dtls_new(&d, ctx, HX_DTLS_SERVER, &cbs) != 0) abort();
    hx_dtls_set_remote_fingerprint(d, "sha-256", cert.fingerprint);
    uint64_t now = 1000;
    for (size_t off = 0; off < size;) {
        size_t n = size - off;
        const uint8_t *p = data + off;
        if (n >= 2) {
            size_t want = (size_t)data[off] << 8 | data[off + 1];
            p += 2;
            n = want <= size - off - 2 ? want : size - off - 2;
            off += 2;
        }
        off += n;
        if (n == 0) continue;
        check_scan(p, n);
        int rc = hx_dtls_input(d, p, n, now);
        if (rc > 0) abort();
        now += 10;
        hx_dtls_on_timer(d, now);
        hx_dtls_state st = hx_dtls_get_state(d);
        if (st != HX_DTLS_CONNECTING && st != HX_DTLS_FAILED && st != HX_DTLS_CLOSED) abort();
        const char *why = NULL;
        if ((st == HX_DTLS_FAILED) != (hx_dtls_error(d, &why) != 0) || !why) abort();
    }
    hx_dtls_on_timer(d, now + 60000); /* past any deadline: must fail, not hang */
    if (hx_dtls_get_state(d) == HX_DTLS_CONNECTING) abort();
    hx_dtls_free(d);
    return 0;
}
