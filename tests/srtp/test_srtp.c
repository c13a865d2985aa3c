/*
 * Unit tests for srtp/ edges: index estimation (RFC 3711 Appendix A) at
 * the half-range boundaries, before index 0 and at the top of the ROC; the
 * replay window at its edges, across word boundaries, and against a naive
 * model over a long random run; ROC tracking and state that a forgery must
 * not move, through the public API; buffer too small; the SSRC table full,
 * and its one move from the context to the heap (state intact, forgeries
 * cannot cause it);
 * malformed packets; the SRTCP index limit; creation parameters; and that
 * no packet function allocates (OpenSSL's allocator is counted).
 */
#include "srtp/srtp_internal.h"

#include <openssl/crypto.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static const uint8_t KEY[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const uint8_t SALT[14] = {0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6,
                                 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad};
static const int PROFILES[] = {HX_SRTP_AES128_CM_SHA1_80, HX_SRTP_AEAD_AES_128_GCM};

static hx_srtp_ctx *make(int profile)
{
    hx_srtp_ctx *c;
    assert_int_equal(hx_srtp_create(&c, profile, KEY, 16, SALT, hx_srtp_salt_len(profile)), 0);
    return c;
}

static size_t rtp(uint8_t *buf, uint32_t ssrc, uint16_t seq, size_t payload)
{
    memset(buf, 0, 12);
    buf[0] = 0x80;
    buf[1] = 96;
    buf[2] = (uint8_t)(seq >> 8);
    buf[3] = (uint8_t)seq;
    hx_wr32(buf + 8, ssrc);
    for (size_t i = 0; i < payload; i++)
        buf[12 + i] = (uint8_t)(i * 7 + seq);
    return 12 + payload;
}

static size_t rtcp(uint8_t *buf, uint32_t ssrc)
{
    static const uint8_t rr[8] = {0x81, 201, 0, 7};
    memcpy(buf, rr, 8);
    hx_wr32(buf + 4, ssrc);
    memset(buf + 8, 0x5a, 24);
    return 32;
}

#define ROC(r, s) ((uint64_t)(r) << 16 | (s))

static void test_estimate(void **state)
{
    static const struct {
        uint64_t top;
        uint16_t seq;
        int rc;
        uint64_t index;
    } cases[] = {
        {ROC(0, 100), 101, 0, ROC(0, 101)},
        {ROC(0, 100), 99, 0, ROC(0, 99)},
        {ROC(0, 100), 32868, 0, ROC(0, 32868)},      /* SEQ - s_l == 2^15: same ROC */
        {ROC(0, 100), 32869, HX_SRTP_ERR_REPLAY, 0}, /* would be ROC -1 */
        {ROC(1, 100), 32869, 0, ROC(0, 32869)},      /* ROC - 1 */
        {ROC(1, 100), 65535, 0, ROC(0, 65535)},
        {ROC(0, 65535), 0, 0, ROC(1, 0)},         /* the wrap */
        {ROC(0, 65535), 32767, 0, ROC(0, 32767)}, /* s_l - 2^15 == SEQ: same ROC */
        {ROC(0, 65535), 32766, 0, ROC(1, 32766)},
        {ROC(5, 32768), 0, 0, ROC(5, 0)}, /* s_l == 2^15 */
        {ROC(5, 32769), 0, 0, ROC(6, 0)},
        {ROC(5, 32767), 65535, 0, ROC(5, 65535)}, /* s_l < 2^15, diff 2^15 */
        {ROC(5, 32766), 65535, 0, ROC(4, 65535)},
        {ROC(0xffffffffu, 65535), 0, HX_SRTP_ERR_LIMIT, 0}, /* no ROC 2^32 */
        {ROC(0xffffffffu, 65535), 65000, 0, ROC(0xffffffffu, 65000)},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t index = 0;
        int rc = hx__srtp_estimate(cases[i].top, cases[i].seq, &index);
        if (rc != cases[i].rc) fail_msg("case %zu: rc %d, want %d", i, rc, cases[i].rc);
        if (!rc && index != cases[i].index)
            fail_msg("case %zu: index %llx, want %llx", i, (unsigned long long)index,
                     (unsigned long long)cases[i].index);
    }
}

static void test_window_edges(void **state)
{
    hx__replay w;
    hx__replay_start(&w, 1000);
    assert_int_equal(hx__replay_check(&w, 1000), 0); /* the first packet, not yet marked */
    hx__replay_add(&w, 1000);
    assert_int_equal(hx__replay_check(&w, 1000), HX_SRTP_ERR_REPLAY);
    assert_int_equal(hx__replay_check(&w, 1001), 0);
    assert_int_equal(hx__replay_check(&w, 999), 0);
    assert_int_equal(hx__replay_check(&w, 1000 - 127), 0); /* oldest in the window */
    assert_int_equal(hx__replay_check(&w, 1000 - 128), HX_SRTP_ERR_REPLAY); /* too old */
    hx__replay_add(&w, 1000 - 127);
    assert_int_equal(hx__replay_check(&w, 1000 - 127), HX_SRTP_ERR_REPLAY);
    hx__replay_add(&w, 1000 - 128); /* outside: ignored, no write past the bitmap */

    /* Slide by exactly one word: 1000 moves to bit 64. */
    hx__replay_add(&w, 1064);
    assert_int_equal(hx__replay_check(&w, 1000), HX_SRTP_ERR_REPLAY);
    assert_int_equal(hx__replay_check(&w, 1001), 0);
    assert_int_equal(hx__replay_check(&w, 1063), 0);
    assert_int_equal(hx__replay_check(&w, 1000 - 127), HX_SRTP_ERR_REPLAY); /* now too old */

    /* Slide to the last bit, then past the window. */
    hx__replay_add(&w, 1127);
    assert_int_equal(hx__replay_check(&w, 1000), HX_SRTP_ERR_REPLAY);
    assert_int_equal(hx__replay_check(&w, 1064), HX_SRTP_ERR_REPLAY);
    hx__replay_add(&w, 1128);
    assert_int_equal(hx__replay_check(&w, 1000), HX_SRTP_ERR_REPLAY); /* too old now */
    hx__replay_add(&w, 1064 + 128 + 500);
    assert_int_equal(hx__replay_check(&w, 1064 + 128 + 499), 0); /* bitmap cleared */
}

/* The window against a model that remembers every index ever accepted. */
static void test_window_model(void **state)
{
    enum { SPAN = 4096 };
    static uint8_t seen[SPAN];
    memset(seen, 0, sizeof seen);
    uint64_t x = 88172645463325252ull, top = 2000;
    hx__replay w;
    hx__replay_start(&w, top);
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        /* Mostly near the top, sometimes a jump forward, sometimes far back. */
        int64_t delta = (int64_t)(x % 300) - 200;
        if (x % 97 == 0) delta = (int64_t)(x % 200);
        int64_t idx = (int64_t)top + delta;
        if (idx < 0 || idx >= SPAN) continue;
        bool want =
            idx > (int64_t)top || ((int64_t)top - idx < HX_SRTP_REPLAY_WINDOW && !seen[idx]);
        int rc = hx__replay_check(&w, (uint64_t)idx);
        if ((rc == 0) != want)
            fail_msg("step %d index %lld top %llu", i, (long long)idx, (unsigned long long)top);
        if (rc == 0) {
            hx__replay_add(&w, (uint64_t)idx);
            seen[idx] = 1;
            if ((uint64_t)idx > top) top = (uint64_t)idx;
        }
        assert_int_equal(w.top, top);
        if (top > SPAN - 400) break;
    }
}

/* Sender and receiver track the wrap; a forgery moves nothing. */
static void test_roc_public(void **state)
{
    for (size_t pi = 0; pi < 2; pi++) {
        hx_srtp_ctx *tx = make(PROFILES[pi]), *rx = make(PROFILES[pi]);
        uint8_t b[256], late[256];
        size_t n, late_n;
        static const uint16_t seqs[] = {65533, 65535, 0, 1};
        for (size_t i = 0; i < 4; i++) {
            n = rtp(b, 42, seqs[i], 50);
            assert_int_equal(hx_srtp_protect(tx, b, &n, sizeof b), 0);
            assert_int_equal(hx_srtp_unprotect(rx, b, &n), 0);
        }
        assert_int_equal(hx__srtp_find(rx, 42)->rtp.top, ROC(1, 1));
        assert_int_equal(hx__srtp_find(tx, 42)->rtp.top, ROC(1, 1));

        /* 65534 sent late, after the wrap: still ROC 0 on both ends. */
        late_n = rtp(late, 42, 65534, 50);
        assert_int_equal(hx_srtp_protect(tx, late, &late_n, sizeof late), 0);
        memcpy(b, late, late_n);
        n = late_n;
        assert_int_equal(hx_srtp_unprotect(rx, b, &n), 0);
        assert_int_equal(n, 62);
        assert_int_equal(hx__srtp_find(rx, 42)->rtp.top, ROC(1, 1));

        /* A forged jump ahead (seq 30000, tag wrong) leaves top and window alone. */
        hx__replay before = hx__srtp_find(rx, 42)->rtp;
        n = rtp(b, 42, 30000, 50) + hx_srtp_tag_len(PROFILES[pi]);
        assert_int_equal(hx_srtp_unprotect(rx, b, &n), HX_SRTP_ERR_AUTH);
        assert_memory_equal(&hx__srtp_find(rx, 42)->rtp, &before, sizeof before);

        /* A forgery from a new SSRC creates no stream. */
        n = rtp(b, 43, 7, 50) + hx_srtp_tag_len(PROFILES[pi]);
        assert_int_equal(hx_srtp_unprotect(rx, b, &n), HX_SRTP_ERR_AUTH);
        assert_int_equal(hx_srtp_stream_count(rx), 1);
        hx_srtp_destroy(tx);
        hx_srtp_destroy(rx);
    }
}

/* The first packet sets ROC 0 (RFC 3711 §3.3.1): one from "before" it across the wrap has no
 * index, and both ends refuse it without touching the keys. */
static void test_before_first(void **state)
{
    hx_srtp_ctx *tx = make(HX_SRTP_AES128_CM_SHA1_80), *rx = make(HX_SRTP_AES128_CM_SHA1_80);
    hx_srtp_ctx *tx2 = make(HX_SRTP_AES128_CM_SHA1_80);
    uint8_t a[128], b[128];
    size_t an = rtp(a, 9, 65530, 10), bn = rtp(b, 9, 10, 10);
    assert_int_equal(hx_srtp_protect(tx, b, &bn, sizeof b), 0);
    assert_int_equal(hx_srtp_protect(tx, a, &an, sizeof a), HX_SRTP_ERR_REPLAY);
    assert_int_equal(hx_srtp_protect(tx2, a, &an, sizeof a), 0); /* index 65530 elsewhere */
    assert_int_equal(hx_srtp_unprotect(rx, b, &bn), 0);
    assert_int_equal(hx_srtp_unprotect(rx, a, &an), HX_SRTP_ERR_REPLAY);
    hx_srtp_destroy(tx);
    hx_srtp_destroy(tx2);
    hx_srtp_destroy(rx);
}

static void test_nospace(void **state)
{
    for (size_t pi = 0; pi < 2; pi++) {
        int p = PROFILES[pi];
        hx_srtp_ctx *c = make(p);
        uint8_t b[256], orig[256];
        size_t n = rtp(b, 1, 1, 100), len = n;
        memcpy(orig, b, n);
        assert_int_equal(hx_srtp_protect(c, b, &n, len + hx_srtp_overhead(p) - 1),
                         HX_SRTP_ERR_NOSPACE);
        assert_int_equal(n, len);
        assert_memory_equal(b, orig, len);
        assert_int_equal(hx_srtp_protect(c, b, &n, len + hx_srtp_overhead(p)), 0);
        assert_int_equal(n, len + hx_srtp_overhead(p));

        n = len = rtcp(b, 1);
        memcpy(orig, b, n);
        assert_int_equal(hx_srtcp_protect(c, b, &n, len + hx_srtcp_overhead(p) - 1),
                         HX_SRTP_ERR_NOSPACE);
        assert_memory_equal(b, orig, len);
        assert_int_equal(hx_srtcp_protect(c, b, &n, len + hx_srtcp_overhead(p)), 0);
        assert_int_equal(n, len + hx_srtcp_overhead(p));
        hx_srtp_destroy(c);
    }
}

static void test_table_full(void **state)
{
    hx_srtp_ctx *tx = make(HX_SRTP_AEAD_AES_128_GCM), *rx = make(HX_SRTP_AEAD_AES_128_GCM);
    uint8_t b[128], extra[128];
    size_t n;
    for (uint32_t s = 0; s < HX_SRTP_MAX_SSRCS; s++) {
        n = rtp(b, 1000 + s, 5, 20);
        assert_int_equal(hx_srtp_protect(tx, b, &n, sizeof b), 0);
        assert_int_equal(hx_srtp_unprotect(rx, b, &n), 0);
    }
    assert_int_equal(hx_srtp_stream_count(rx), HX_SRTP_MAX_SSRCS);
    n = rtp(b, 5000, 5, 20);
    assert_int_equal(hx_srtp_protect(tx, b, &n, sizeof b), HX_SRTP_ERR_TABLE_FULL);
    n = rtcp(b, 5000);
    assert_int_equal(hx_srtcp_protect(tx, b, &n, sizeof b), HX_SRTP_ERR_TABLE_FULL);

    /* Free a slot on the sender: the new SSRC goes out, the full receiver refuses it. */
    hx_srtp_forget(tx, 1000);
    size_t en = rtp(extra, 5000, 5, 20);
    assert_int_equal(hx_srtp_protect(tx, extra, &en, sizeof extra), 0);
    memcpy(b, extra, en);
    n = en;
    assert_int_equal(hx_srtp_unprotect(rx, b, &n), HX_SRTP_ERR_TABLE_FULL);
    hx_srtp_forget(rx, 1063);
    assert_int_equal(hx_srtp_stream_count(rx), HX_SRTP_MAX_SSRCS - 1);
    assert_null(hx__srtp_find(rx, 1063));
    assert_non_null(hx__srtp_find(rx, 1062));
    n = en;
    assert_int_equal(hx_srtp_unprotect(rx, extra, &n), 0);
    hx_srtp_forget(rx, 123456); /* unknown: no-op */
    assert_int_equal(hx_srtp_stream_count(rx), HX_SRTP_MAX_SSRCS);
    hx_srtp_destroy(tx);
    hx_srtp_destroy(rx);
}

static void test_table_grows(void **state)
{
    for (size_t pi = 0; pi < 2; pi++) {
        hx_srtp_ctx *tx = make(PROFILES[pi]), *rx = make(PROFILES[pi]);
        uint8_t b[128], replay[128];
        size_t n, rn = 0;
        /* Fill the inline table; SSRC 1 sits at the sequence wrap, SSRC 0 leaves a copy. */
        for (uint32_t s = 0; s < HX__SRTP_INLINE_SSRCS; s++)
            for (uint16_t q = 65533; q != 1; q++) {
                n = rtp(b, s, s == 1 ? q : (uint16_t)(q + 200), 20);
                assert_int_equal(hx_srtp_protect(tx, b, &n, sizeof b), 0);
                if (s == 0 && q == 65534) memcpy(replay, b, rn = n);
                assert_int_equal(hx_srtp_unprotect(rx, b, &n), 0);
            }
        assert_int_equal(rx->cap, HX__SRTP_INLINE_SSRCS);
        assert_ptr_equal(rx->streams, rx->inline_streams);
        /* A forgery from a new SSRC neither takes a slot nor moves the table. */
        n = rtp(b, 999, 1, 20);
        assert_int_equal(hx_srtp_protect(tx, b, &n, sizeof b), 0);
        assert_int_equal(tx->cap, HX_SRTP_MAX_SSRCS);
        uint8_t good[128];
        size_t gn = n;
        memcpy(good, b, n);
        b[n - 1] ^= 1;
        assert_int_equal(hx_srtp_unprotect(rx, b, &n), HX_SRTP_ERR_AUTH);
        assert_int_equal(rx->cap, HX__SRTP_INLINE_SSRCS);
        assert_int_equal(hx_srtp_stream_count(rx), HX__SRTP_INLINE_SSRCS);
        /* The genuine one moves it, once; every stream keeps its state. */
        assert_int_equal(hx_srtp_unprotect(rx, good, &gn), 0);
        assert_int_equal(rx->cap, HX_SRTP_MAX_SSRCS);
        assert_ptr_not_equal(rx->streams, rx->inline_streams);
        assert_int_equal(hx_srtp_unprotect(rx, replay, &rn), HX_SRTP_ERR_REPLAY);
        for (uint16_t q = 1; q < 3; q++) { /* ROC 1 on both sides */
            n = rtp(b, 1, q, 20);
            assert_int_equal(hx_srtp_protect(tx, b, &n, sizeof b), 0);
            assert_int_equal(hx_srtp_unprotect(rx, b, &n), 0);
        }
        assert_int_equal(rx->streams[1].rtp.top, ROC(1, 2));
        n = rtcp(b, 0);
        assert_int_equal(hx_srtcp_protect(tx, b, &n, sizeof b), 0);
        assert_int_equal(hx_srtcp_unprotect(rx, b, &n), 0);
        hx_srtp_destroy(tx);
        hx_srtp_destroy(rx);
    }
}

static void test_malformed(void **state)
{
    for (size_t pi = 0; pi < 2; pi++) {
        int p = PROFILES[pi];
        hx_srtp_ctx *c = make(p);
        uint8_t b[256];
        size_t n, t = hx_srtp_tag_len(p);

        n = rtp(b, 1, 1, 10);
        b[0] = 0x40; /* version 1 */
        assert_int_equal(hx_srtp_protect(c, b, &n, sizeof b), HX_SRTP_ERR_MALFORMED);
        n = 11;
        b[0] = 0x80;
        assert_int_equal(hx_srtp_protect(c, b, &n, sizeof b), HX_SRTP_ERR_MALFORMED);
        n = rtp(b, 1, 1, 10);
        b[0] = 0x83; /* 3 CSRCs = 12 octets, only 10 there */
        assert_int_equal(hx_srtp_protect(c, b, &n, sizeof b), HX_SRTP_ERR_MALFORMED);
        n = rtp(b, 1, 1, 8);
        b[0] = 0x90; /* extension of 2 words, only 4 octets after its header */
        b[12] = 0xbe, b[13] = 0xde, b[14] = 0, b[15] = 2;
        assert_int_equal(hx_srtp_protect(c, b, &n, sizeof b), HX_SRTP_ERR_MALFORMED);
        b[15] = 1; /* exactly fills the packet: an empty payload is fine */
        assert_int_equal(hx_srtp_protect(c, b, &n, sizeof b), 0);
        hx_srtp_ctx *rx = make(p);
        assert_int_equal(hx_srtp_unprotect(rx, b, &n), 0);
        assert_int_equal(n, 20);
        hx_srtp_destroy(rx);

        n = 12 + t - 1;
        assert_int_equal(hx_srtp_unprotect(c, b, &n), HX_SRTP_ERR_MALFORMED);
        n = HX_SRTP_MAX_PACKET + 1;
        assert_int_equal(hx_srtp_protect(c, b, &n, sizeof b), HX_SRTP_ERR_MALFORMED);
        n = 7;
        assert_int_equal(hx_srtcp_protect(c, b, &n, sizeof b), HX_SRTP_ERR_MALFORMED);
        n = rtcp(b, 1);
        b[0] = 0x01;
        assert_int_equal(hx_srtcp_protect(c, b, &n, sizeof b), HX_SRTP_ERR_MALFORMED);
        n = 8 + t + 4 - 1;
        b[0] = 0x80;
        assert_int_equal(hx_srtcp_unprotect(c, b, &n), HX_SRTP_ERR_MALFORMED);
        hx_srtp_destroy(c);
    }
}

static void test_srtcp_limit_and_replay(void **state)
{
    for (size_t pi = 0; pi < 2; pi++) {
        hx_srtp_ctx *tx = make(PROFILES[pi]), *rx = make(PROFILES[pi]);
        uint8_t b[128], keep[128];
        size_t n = rtcp(b, 77), kn;
        assert_int_equal(hx_srtcp_protect(tx, b, &n, sizeof b), 0);
        memcpy(keep, b, n);
        kn = n;
        assert_int_equal(hx_srtcp_unprotect(rx, b, &n), 0);
        n = kn;
        memcpy(b, keep, kn);
        assert_int_equal(hx_srtcp_unprotect(rx, b, &n), HX_SRTP_ERR_REPLAY);

        /* Jump the sender 200 ahead: index 0 is now older than the receiver's window. */
        hx__srtp_find(tx, 77)->rtcp_next = 200;
        n = rtcp(b, 77);
        assert_int_equal(hx_srtcp_protect(tx, b, &n, sizeof b), 0);
        assert_int_equal(hx_srtcp_unprotect(rx, b, &n), 0);

        hx__srtp_find(tx, 77)->rtcp_next = HX__SRTCP_INDEX_MAX;
        n = rtcp(b, 77);
        assert_int_equal(hx_srtcp_protect(tx, b, &n, sizeof b), 0);
        assert_int_equal(hx_srtcp_unprotect(rx, b, &n), 0);
        n = rtcp(b, 77);
        assert_int_equal(hx_srtcp_protect(tx, b, &n, sizeof b), HX_SRTP_ERR_LIMIT);
        hx_srtp_destroy(tx);
        hx_srtp_destroy(rx);
    }
}

static void test_params(void **state)
{
    hx_srtp_ctx *c = (hx_srtp_ctx *)&c;
    assert_int_equal(hx_srtp_create(&c, 0x0002, KEY, 16, SALT, 14), HX_SRTP_ERR_PARAM);
    assert_null(c);
    assert_int_equal(hx_srtp_create(&c, HX_SRTP_AES128_CM_SHA1_80, KEY, 15, SALT, 14),
                     HX_SRTP_ERR_PARAM);
    assert_int_equal(hx_srtp_create(&c, HX_SRTP_AES128_CM_SHA1_80, KEY, 16, SALT, 12),
                     HX_SRTP_ERR_PARAM);
    assert_int_equal(hx_srtp_create(&c, HX_SRTP_AEAD_AES_128_GCM, KEY, 16, SALT, 14),
                     HX_SRTP_ERR_PARAM);
    assert_int_equal(hx_srtp_key_len(0x0007), 16);
    assert_int_equal(hx_srtp_salt_len(0x0001), 14);
    assert_int_equal(hx_srtp_salt_len(0x0007), 12);
    assert_int_equal(hx_srtp_overhead(0x0001), 10);
    assert_int_equal(hx_srtcp_overhead(0x0001), 14);
    assert_int_equal(hx_srtp_overhead(0x0007), 16);
    assert_int_equal(hx_srtcp_overhead(0x0007), 20);
    assert_int_equal(hx_srtp_overhead(0x0003), 0);
    assert_true(hx_srtp_overhead(0x0007) <= HX_SRTP_MAX_OVERHEAD);
    assert_true(hx_srtcp_overhead(0x0007) <= HX_SRTCP_MAX_OVERHEAD);
    hx_srtp_destroy(NULL);

    /* Every code has its own description. */
    const char *seen[9];
    for (int e = 0; e >= HX_SRTP_ERR_CRYPTO; e--) {
        const char *s = hx_srtp_strerror(e);
        assert_non_null(s);
        for (int k = 0; k < -e; k++)
            assert_string_not_equal(s, seen[k]);
        seen[-e] = s;
    }
    assert_string_equal(hx_srtp_strerror(-99), "unknown SRTP error");
}

/* OpenSSL's allocator, counted (installed in main before OpenSSL allocates). */
static long n_alloc;
static void *count_malloc(size_t n, const char *f, int l)
{
    n_alloc++;
    return malloc(n);
}
static void *count_realloc(void *p, size_t n, const char *f, int l)
{
    n_alloc++;
    return realloc(p, n);
}
static void count_free(void *p, const char *f, int l)
{
    free(p);
}

static void test_no_allocation(void **state)
{
    for (size_t pi = 0; pi < 2; pi++) {
        hx_srtp_ctx *tx = make(PROFILES[pi]), *rx = make(PROFILES[pi]);
        uint8_t b[1300];
        long before = n_alloc;
        for (int i = 0; i < 500; i++) {
            size_t n = rtp(b, 3, (uint16_t)i, 1200);
            assert_int_equal(hx_srtp_protect(tx, b, &n, sizeof b), 0);
            assert_int_equal(hx_srtp_unprotect(rx, b, &n), 0);
            n = rtcp(b, 3);
            assert_int_equal(hx_srtcp_protect(tx, b, &n, sizeof b), 0);
            assert_int_equal(hx_srtcp_unprotect(rx, b, &n), 0);
        }
        assert_int_equal(n_alloc, before);
        hx_srtp_destroy(tx);
        hx_srtp_destroy(rx);
    }
    assert_true(n_alloc > 0); /* the counter does see OpenSSL's allocations (at create) */
}

int main(void)
{
    if (!CRYPTO_set_mem_functions(count_malloc, count_realloc, count_free)) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_estimate),
        cmocka_unit_test(test_window_edges),
        cmocka_unit_test(test_window_model),
        cmocka_unit_test(test_roc_public),
        cmocka_unit_test(test_before_first),
        cmocka_unit_test(test_nospace),
        cmocka_unit_test(test_table_full),
        cmocka_unit_test(test_table_grows),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_srtcp_limit_and_replay),
        cmocka_unit_test(test_params),
        cmocka_unit_test(test_no_allocation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
