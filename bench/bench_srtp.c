/*
 * Micro-benchmark for srtp/: ns per 1200-byte RTP packet (12-byte header +
 * 1188-byte payload) for protect and unprotect, both profiles, best of 7
 * rounds of 100000 packets on one cache-hot buffer. Unprotect needs a new
 * index each time, so a round protects and unprotects each packet and the
 * protect-only time of the same round is subtracted. With -DWITH_LIBSRTP
 * the same loops run through
 * libsrtp2 for comparison. Not built by CMake; from the repository root
 * (SRC being every src/srtp/ .c file):
 *
 *   SRC=$(ls src/srtp/[a-z]*.c)
 *   gcc -O2 -std=gnu11 -Isrc bench/bench_srtp.c $SRC -lcrypto -o build/bench_srtp
 *   gcc -O2 -std=gnu11 -Isrc -DWITH_LIBSRTP bench/bench_srtp.c $SRC -lcrypto -lsrtp2 \
 *       -o build/bench_srtp
 *   build/bench_srtp
 */
#include "srtp/srtp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef WITH_LIBSRTP
#include <srtp2/srtp.h>
#endif

#define PKT 1200
#define SLOT 1280
#define N 100000
#define ROUNDS 7

static uint8_t buf[SLOT];

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static void header(unsigned seq)
{
    buf[0] = 0x80, buf[1] = 96, buf[2] = (uint8_t)(seq >> 8), buf[3] = (uint8_t)seq;
    buf[8] = 0x12, buf[9] = 0x34, buf[10] = 0x56, buf[11] = 0x78;
}

typedef int (*prot_fn)(void *ctx, size_t *len);

static void report(const char *lib, const char *name, double p, double pu)
{
    printf("%-7s %-24s protect %5.0f ns  unprotect %5.0f ns\n", lib, name, p, pu - p);
}

/* Best-of-ROUNDS ns per packet for protect alone (*p) and protect + unprotect (*pu). */
static void run(prot_fn protect, prot_fn unprotect, void *tx, void *tx2, void *rx, double *p,
                double *pu, int round)
{
    size_t len;
    memset(buf, 0xab, sizeof buf);
    double t0 = now_ns();
    for (unsigned i = 0; i < N; i++) {
        header(i + (unsigned)round * N);
        len = PKT;
        if (protect(tx, &len)) exit(2);
    }
    double t1 = now_ns();
    for (unsigned i = 0; i < N; i++) {
        header(i + (unsigned)round * N);
        len = PKT;
        if (protect(tx2, &len) || unprotect(rx, &len)) exit(3);
    }
    double t2 = now_ns();
    if ((t1 - t0) / N < *p) *p = (t1 - t0) / N;
    if ((t2 - t1) / N < *pu) *pu = (t2 - t1) / N;
}

static int hx_p(void *c, size_t *len)
{
    return hx_srtp_protect(c, buf, len, SLOT);
}

static int hx_u(void *c, size_t *len)
{
    return hx_srtp_unprotect(c, buf, len);
}

static void bench_hearth(int profile, const char *name)
{
    static const uint8_t key[16] = {1, 2, 3}, salt[14] = {4, 5, 6};
    size_t sl = hx_srtp_salt_len(profile);
    hx_srtp_ctx *tx, *tx2, *rx;
    if (hx_srtp_create(&tx, profile, key, 16, salt, sl) ||
        hx_srtp_create(&tx2, profile, key, 16, salt, sl) ||
        hx_srtp_create(&rx, profile, key, 16, salt, sl))
        exit(1);
    double p = 1e18, pu = 1e18;
    for (int r = 0; r < ROUNDS; r++)
        run(hx_p, hx_u, tx, tx2, rx, &p, &pu, r);
    report("hearth", name, p, pu);
    hx_srtp_destroy(tx);
    hx_srtp_destroy(tx2);
    hx_srtp_destroy(rx);
}

#ifdef WITH_LIBSRTP
static int ls_p(void *c, size_t *len)
{
    int n = (int)*len, rc = srtp_protect(c, buf, &n);
    *len = (size_t)n;
    return rc;
}

static int ls_u(void *c, size_t *len)
{
    int n = (int)*len, rc = srtp_unprotect(c, buf, &n);
    *len = (size_t)n;
    return rc;
}

static srtp_t ls_session(int gcm, int outbound)
{
    static unsigned char key[30] = {1, 2, 3};
    srtp_policy_t pol;
    srtp_t s;
    memset(&pol, 0, sizeof pol);
    if (gcm) {
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtp);
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtcp);
    } else {
        srtp_crypto_policy_set_rtp_default(&pol.rtp);
        srtp_crypto_policy_set_rtcp_default(&pol.rtcp);
    }
    pol.key = key;
    pol.ssrc.type = outbound ? ssrc_any_outbound : ssrc_any_inbound;
    if (srtp_create(&s, &pol)) exit(4);
    return s;
}

static void bench_libsrtp(int gcm, const char *name)
{
    srtp_t tx = ls_session(gcm, 1), tx2 = ls_session(gcm, 1), rx = ls_session(gcm, 0);
    double p = 1e18, pu = 1e18;
    for (int r = 0; r < ROUNDS; r++)
        run(ls_p, ls_u, tx, tx2, rx, &p, &pu, r);
    report("libsrtp", name, p, pu);
    srtp_dealloc(tx);
    srtp_dealloc(tx2);
    srtp_dealloc(rx);
}
#endif

int main(void)
{
    bench_hearth(HX_SRTP_AES128_CM_SHA1_80, "AES_CM_128_HMAC_SHA1_80");
    bench_hearth(HX_SRTP_AEAD_AES_128_GCM, "AEAD_AES_128_GCM");
#ifdef WITH_LIBSRTP
    if (srtp_init()) return 1;
    bench_libsrtp(0, "AES_CM_128_HMAC_SHA1_80");
    bench_libsrtp(1, "AEAD_AES_128_GCM");
    srtp_shutdown();
#endif
    return 0;
}
