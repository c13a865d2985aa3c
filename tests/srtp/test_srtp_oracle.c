/*
 * srtp/ against an independent implementation: Debian's libsrtp2.
 *
 * For each profile (AES-CM + HMAC-SHA1-80 and AES-128-GCM) a pair of
 * directions is set up: hearth protects and libsrtp unprotects under one
 * master key, libsrtp protects and hearth unprotects under another. Over
 * both directions, RTP and RTCP:
 *   - packets of random sizes, payloads, CSRC counts and header
 *     extensions come out of the other side byte-identical;
 *   - a run of sequence numbers across 65535 -> 0 (ROC 0 -> 1) passes,
 *     and hearth's receiver ends at ROC 1;
 *   - packets delivered out of order within the replay window pass;
 *   - a replayed packet and a packet with one flipped bit are refused by
 *     both receivers, and a refused forgery does not disturb the state:
 *     the genuine packet still passes afterwards.
 * All randomness comes from a fixed-seed generator, so failures repeat.
 */
#include "srtp/srtp_internal.h"

#include <srtp2/srtp.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#define BUF 1600
#define MAX_PAYLOAD 1200

static uint64_t rng_state;

static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

static void fill(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)rnd();
}

typedef struct pair {
    int profile;
    hx_srtp_ctx *hx_tx, *hx_rx; /* hx_tx pairs with ls_rx, ls_tx with hx_rx */
    srtp_t ls_tx, ls_rx;
} pair;

static srtp_t ls_session(int profile, const uint8_t *key_salt, bool outbound)
{
    srtp_policy_t pol;
    memset(&pol, 0, sizeof pol);
    if (profile == HX_SRTP_AES128_CM_SHA1_80) {
        srtp_crypto_policy_set_rtp_default(&pol.rtp);
        srtp_crypto_policy_set_rtcp_default(&pol.rtcp);
    } else {
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtp);
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtcp);
    }
    pol.ssrc.type = outbound ? ssrc_any_outbound : ssrc_any_inbound;
    pol.key = (unsigned char *)key_salt;
    pol.window_size = 128;
    srtp_t s = NULL;
    assert_int_equal(srtp_create(&s, &pol), srtp_err_status_ok);
    return s;
}

static void pair_open(pair *p, int profile, uint64_t seed)
{
    rng_state = seed;
    size_t kl = hx_srtp_key_len(profile), sl = hx_srtp_salt_len(profile);
    uint8_t a[32], b[32];
    fill(a, kl + sl);
    fill(b, kl + sl);
    p->profile = profile;
    assert_int_equal(hx_srtp_create(&p->hx_tx, profile, a, kl, a + kl, sl), 0);
    assert_int_equal(hx_srtp_create(&p->hx_rx, profile, b, kl, b + kl, sl), 0);
    p->ls_rx = ls_session(profile, a, false);
    p->ls_tx = ls_session(profile, b, true);
}

static void pair_close(pair *p)
{
    hx_srtp_destroy(p->hx_tx);
    hx_srtp_destroy(p->hx_rx);
    srtp_dealloc(p->ls_tx);
    srtp_dealloc(p->ls_rx);
}

/* An RTP packet with random CSRCs, maybe an extension, and a random payload. */
static size_t make_rtp(uint8_t *buf, uint32_t ssrc, uint16_t seq, size_t payload)
{
    unsigned cc = rnd() % 4;
    bool x = rnd() % 2;
    size_t h = 12 + 4 * cc;
    buf[0] = (uint8_t)(0x80 | (x ? 0x10 : 0) | cc);
    buf[1] = (uint8_t)(rnd() % 128);
    buf[2] = (uint8_t)(seq >> 8);
    buf[3] = (uint8_t)seq;
    fill(buf + 4, 4);
    hx_wr32(buf + 8, ssrc);
    fill(buf + 12, 4 * cc);
    if (x) {
        unsigned words = rnd() % 4;
        buf[h] = 0xbe;
        buf[h + 1] = 0xde;
        buf[h + 2] = 0;
        buf[h + 3] = (uint8_t)words;
        fill(buf + h + 4, 4 * words);
        h += 4 + 4 * words;
    }
    fill(buf + h, payload);
    return h + payload;
}

/* A sender report header, its SSRC, and a random body of whole words. */
static size_t make_rtcp(uint8_t *buf, uint32_t ssrc, size_t words)
{
    buf[0] = 0x80;
    buf[1] = (uint8_t)(200 + rnd() % 5);
    buf[2] = (uint8_t)((words + 1) >> 8);
    buf[3] = (uint8_t)(words + 1);
    hx_wr32(buf + 4, ssrc);
    fill(buf + 8, 4 * words);
    return 8 + 4 * words;
}

/* Where the encrypted part of a packet built above starts. */
static size_t clear_len(const uint8_t *pkt, bool rtcp)
{
    if (rtcp) return 8;
    size_t h = 12 + 4 * (size_t)(pkt[0] & 0x0f);
    if (pkt[0] & 0x10) h += 4 + 4 * (size_t)pkt[h + 3];
    return h;
}

/* hearth -> libsrtp */
static void hx_protect(pair *p, bool rtcp, uint8_t *buf, size_t *len)
{
    int rc =
        rtcp ? hx_srtcp_protect(p->hx_tx, buf, len, BUF) : hx_srtp_protect(p->hx_tx, buf, len, BUF);
    assert_int_equal(rc, 0);
}

static int ls_unprotect(pair *p, bool rtcp, uint8_t *buf, size_t *len)
{
    int n = (int)*len;
    srtp_err_status_t st =
        rtcp ? srtp_unprotect_rtcp(p->ls_rx, buf, &n) : srtp_unprotect(p->ls_rx, buf, &n);
    if (st == srtp_err_status_ok) *len = (size_t)n;
    return (int)st;
}

/* libsrtp -> hearth */
static void ls_protect(pair *p, bool rtcp, uint8_t *buf, size_t *len)
{
    int n = (int)*len;
    srtp_err_status_t st =
        rtcp ? srtp_protect_rtcp(p->ls_tx, buf, &n) : srtp_protect(p->ls_tx, buf, &n);
    assert_int_equal(st, srtp_err_status_ok);
    *len = (size_t)n;
}

static int hx_unprotect(pair *p, bool rtcp, uint8_t *buf, size_t *len)
{
    return rtcp ? hx_srtcp_unprotect(p->hx_rx, buf, len) : hx_srtp_unprotect(p->hx_rx, buf, len);
}

typedef void (*protect_fn)(pair *, bool, uint8_t *, size_t *);
typedef int (*unprotect_fn)(pair *, bool, uint8_t *, size_t *);

static const struct direction {
    const char *name;
    protect_fn protect;
    unprotect_fn unprotect;
} directions[] = {
    {"hearth->libsrtp", hx_protect, ls_unprotect},
    {"libsrtp->hearth", ls_protect, hx_unprotect},
};

/* Protect a copy of plain[0..len) and check the other side returns plain. */
static void round_trip(pair *p, const struct direction *d, bool rtcp, const uint8_t *plain,
                       size_t len)
{
    uint8_t buf[BUF];
    size_t n = len;
    memcpy(buf, plain, len);
    d->protect(p, rtcp, buf, &n);
    assert_true(n > len);
    int rc = d->unprotect(p, rtcp, buf, &n);
    if (rc) fail_msg("%s %s: unprotect %d", d->name, rtcp ? "RTCP" : "RTP", rc);
    assert_int_equal(n, len);
    assert_memory_equal(buf, plain, len);
}

static void test_random(void **state)
{
    int profile = *(int *)*state;
    for (size_t di = 0; di < 2; di++) {
        pair p;
        pair_open(&p, profile, 0x1234567 + di);
        uint32_t ssrcs[3] = {rnd(), rnd(), rnd()};
        uint16_t seq[3] = {(uint16_t)rnd(), (uint16_t)rnd(), (uint16_t)rnd()};
        uint8_t plain[BUF];
        for (int i = 0; i < 300; i++) {
            unsigned k = rnd() % 3;
            size_t len = make_rtp(plain, ssrcs[k], seq[k]++, rnd() % (MAX_PAYLOAD + 1));
            round_trip(&p, &directions[di], false, plain, len);
            if (i % 5 == 0) {
                len = make_rtcp(plain, ssrcs[k], rnd() % 64);
                round_trip(&p, &directions[di], true, plain, len);
            }
        }
        pair_close(&p);
    }
}

static void test_rollover(void **state)
{
    int profile = *(int *)*state;
    for (size_t di = 0; di < 2; di++) {
        pair p;
        pair_open(&p, profile, 0xabcdef + di);
        uint32_t ssrc = rnd();
        uint8_t plain[BUF];
        for (uint32_t i = 0; i < 200; i++) {
            uint16_t seq = (uint16_t)(65436 + i); /* 65436..65535, then 0..99 */
            size_t len = make_rtp(plain, ssrc, seq, 20 + rnd() % 200);
            round_trip(&p, &directions[di], false, plain, len);
        }
        hx_srtp_ctx *hx = di == 0 ? p.hx_tx : p.hx_rx;
        hx__stream *s = hx__srtp_find(hx, ssrc);
        assert_non_null(s);
        assert_int_equal(s->rtp.top >> 16, 1);
        assert_int_equal(s->rtp.top & 0xffff, 99);
        pair_close(&p);
    }
}

static void test_reorder(void **state)
{
    int profile = *(int *)*state;
    enum { N = 96, BLOCK = 32 };
    static uint8_t sealed[N][BUF], plain[N][BUF];
    static size_t slen[N], plen[N];
    for (size_t di = 0; di < 2; di++) {
        const struct direction *d = &directions[di];
        for (int rtcp = 0; rtcp < 2; rtcp++) {
            pair p;
            pair_open(&p, profile, 0x5151 + di * 2 + (uint64_t)rtcp);
            uint32_t ssrc = rnd();
            uint16_t seq0 = (uint16_t)(65535 - 40); /* reordering across the wrap too */
            for (int i = 0; i < N; i++) {
                plen[i] = rtcp ? make_rtcp(plain[i], ssrc, 1 + rnd() % 20)
                               : make_rtp(plain[i], ssrc, (uint16_t)(seq0 + i), rnd() % 300);
                memcpy(sealed[i], plain[i], plen[i]);
                slen[i] = plen[i];
                d->protect(&p, rtcp, sealed[i], &slen[i]);
            }
            /* Deliver each block of 32 shuffled: never more than 63 behind the newest. */
            int order[N];
            for (int i = 0; i < N; i++)
                order[i] = i;
            for (int b = 0; b < N; b += BLOCK)
                for (int i = BLOCK - 1; i > 0; i--) {
                    int j = (int)(rnd() % (unsigned)(i + 1)), t = order[b + i];
                    order[b + i] = order[b + j];
                    order[b + j] = t;
                }
            for (int k = 0; k < N; k++) {
                int i = order[k];
                size_t n = slen[i];
                int rc = d->unprotect(&p, rtcp, sealed[i], &n);
                if (rc)
                    fail_msg("%s rtcp=%d: packet %d delivered %d-th: %d", d->name, rtcp, i, k, rc);
                assert_int_equal(n, plen[i]);
                assert_memory_equal(sealed[i], plain[i], n);
            }
            pair_close(&p);
        }
    }
}

static void test_replay_and_tamper(void **state)
{
    int profile = *(int *)*state;
    for (size_t di = 0; di < 2; di++) {
        const struct direction *d = &directions[di];
        for (int rtcp = 0; rtcp < 2; rtcp++) {
            pair p;
            pair_open(&p, profile, 0x7777 + di * 2 + (uint64_t)rtcp);
            uint32_t ssrc = rnd();
            uint8_t plain[BUF], sealed[BUF], copy[BUF];
            for (int i = 0; i < 20; i++) {
                size_t len = rtcp ? make_rtcp(plain, ssrc, 1 + rnd() % 30)
                                  : make_rtp(plain, ssrc, (uint16_t)(1000 + i), 1 + rnd() % 400);
                size_t slen = len, n;
                memcpy(sealed, plain, len);
                d->protect(&p, rtcp, sealed, &slen);

                /* One flipped bit past the clear header: refused. */
                size_t first = clear_len(plain, rtcp), pos = first + rnd() % (slen - first);
                memcpy(copy, sealed, slen);
                copy[pos] ^= (uint8_t)(1u << (rnd() % 8));
                n = slen;
                int rc = d->unprotect(&p, rtcp, copy, &n);
                assert_int_not_equal(rc, 0);
                if (di == 1) assert_int_equal(rc, HX_SRTP_ERR_AUTH);

                /* A flip in the first 8 octets (header, SSRC, seq): refused too. */
                memcpy(copy, sealed, slen);
                copy[1 + rnd() % 7] ^= (uint8_t)(1u << (rnd() % 8));
                n = slen;
                assert_int_not_equal(d->unprotect(&p, rtcp, copy, &n), 0);

                /* The genuine packet still passes, exactly once. */
                memcpy(copy, sealed, slen);
                n = slen;
                assert_int_equal(d->unprotect(&p, rtcp, copy, &n), 0);
                assert_int_equal(n, len);
                assert_memory_equal(copy, plain, len);
                memcpy(copy, sealed, slen);
                n = slen;
                rc = d->unprotect(&p, rtcp, copy, &n);
                if (di == 0)
                    assert_int_equal(rc, srtp_err_status_replay_fail);
                else
                    assert_int_equal(rc, HX_SRTP_ERR_REPLAY);
            }
            pair_close(&p);
        }
    }
}

static int setup(void **state)
{
    return srtp_init() == srtp_err_status_ok ? 0 : -1;
}

static int teardown(void **state)
{
    srtp_shutdown();
    return 0;
}

static int cm = HX_SRTP_AES128_CM_SHA1_80, gcm = HX_SRTP_AEAD_AES_128_GCM;

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(test_random, &cm),
        cmocka_unit_test_prestate(test_random, &gcm),
        cmocka_unit_test_prestate(test_rollover, &cm),
        cmocka_unit_test_prestate(test_rollover, &gcm),
        cmocka_unit_test_prestate(test_reorder, &cm),
        cmocka_unit_test_prestate(test_reorder, &gcm),
        cmocka_unit_test_prestate(test_replay_and_tamper, &cm),
        cmocka_unit_test_prestate(test_replay_and_tamper, &gcm),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
