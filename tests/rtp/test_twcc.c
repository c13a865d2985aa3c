/*
 * Unit tests for rtp/rtcp_twcc. An independent vector first: a TWCC
 * feedback packet captured from a browser session and decoded by
 * Wireshark (olivermichel/webrtc-analysis test data): base seq 1, 9
 * packets, reference time 6197520, one run-length chunk, deltas 7, 3, 11,
 * 14, 0, 1, 0, 2, 6 ms. hearth parses it to those values, and building
 * from the same arrival times reproduces its bytes (except the padding
 * style: the capture uses the P bit, hearth zero-pads as the draft
 * shows). Then build/parse round trips over lost packets, reordering
 * (negative deltas), long runs, both vector kinds, and the 16-bit delta
 * limit, and the draft's §3.1.3 run-length example.
 */
#include "rtp/rtcp.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static const uint8_t CAPTURE[] = {
    0xaf, 0xcd, 0x00, 0x07, 0x00, 0x00, 0x00, 0x01, 0xdd, 0x58, 0x6e, 0xb6, 0x00, 0x01, 0x00, 0x09,
    0x5e, 0x91, 0x10, 0x00, 0x20, 0x09, 0x1c, 0x0c, 0x2c, 0x38, 0x00, 0x04, 0x00, 0x08, 0x18, 0x01,
};
static const int32_t CAPTURE_DELTAS[9] = {28, 12, 44, 56, 0, 4, 0, 8, 24};

static int parse_one(const uint8_t *buf, size_t len, hx_twcc_fb *fb, hx_twcc_status *st, size_t cap)
{
    hx_rtcp_iter it;
    hx_rtcp_pkt p;
    hx_rtcp_iter_init(&it, buf, len);
    assert_int_equal(hx_rtcp_iter_next(&it, &p), 1);
    return hx_rtcp_twcc_parse(&p, fb, st, cap);
}

static void test_capture(void **state)
{
    (void)state;
    hx_twcc_fb fb;
    hx_twcc_status st[16];
    assert_int_equal(parse_one(CAPTURE, sizeof CAPTURE, &fb, st, 16), HX_RTP_OK);
    assert_int_equal(fb.sender_ssrc, 1);
    assert_int_equal(fb.media_ssrc, 0xdd586eb6);
    assert_int_equal(fb.base_seq, 1);
    assert_int_equal(fb.status_count, 9);
    assert_int_equal(fb.ref_time, 6197520);
    assert_int_equal(fb.fb_count, 0);
    for (int i = 0; i < 9; i++) {
        assert_int_equal(st[i].seq, 1 + i);
        assert_int_equal(st[i].status, HX_TWCC_SMALL_DELTA);
        assert_int_equal(st[i].delta, CAPTURE_DELTAS[i]);
    }
    assert_int_equal(parse_one(CAPTURE, sizeof CAPTURE, &fb, st, 8), HX_RTP_ENOSPACE);

    /* rebuild from arrival times */
    int64_t arrival[9], t = 6197520LL * 64000;
    for (int i = 0; i < 9; i++)
        arrival[i] = t += CAPTURE_DELTAS[i] * 250;
    uint8_t out[64];
    size_t used;
    long n = hx_rtcp_twcc_build(out, sizeof out, 1, 0xdd586eb6, 1, 0, arrival, 9, &used);
    assert_int_equal(n, (long)sizeof CAPTURE);
    assert_int_equal(used, 9);
    assert_int_equal(out[0], CAPTURE[0] & ~0x20);
    assert_memory_equal(out + 1, CAPTURE + 1, sizeof CAPTURE - 2);
    assert_int_equal(out[sizeof CAPTURE - 1], 0);
}

static void test_draft_run_length_example(void **state)
{
    (void)state;
    /* §3.1.3 example 1: run-length chunk 0x00DD = 221 packets not received */
    const uint8_t pkt[] = {0x8f, 205,  0,    5,   0,    0,    0,    1, 0,    0,    0, 2,
                           0x10, 0x00, 0x00, 221, 0xff, 0xff, 0xff, 3, 0x00, 0xdd, 0, 0};
    hx_twcc_fb fb;
    hx_twcc_status st[221];
    assert_int_equal(parse_one(pkt, sizeof pkt, &fb, st, 221), HX_RTP_OK);
    assert_int_equal(fb.ref_time, -1);
    assert_int_equal(fb.fb_count, 3);
    for (int i = 0; i < 221; i++)
        assert_int_equal(st[i].status, HX_TWCC_NOT_RECEIVED);
    assert_int_equal(st[220].seq, 0x1000 + 220);

    /* symbol 11 is reserved; a missing delta is truncation */
    uint8_t bad[sizeof pkt];
    memcpy(bad, pkt, sizeof bad);
    bad[15] = 1;
    bad[20] = 0xf0; /* two-bit vector, first symbol 11 */
    assert_int_equal(parse_one(bad, sizeof bad, &fb, st, 221), HX_RTP_EINVAL);
    bad[20] = 0x20; /* run-length chunk of small deltas */
    bad[21] = 0x03; /* 3 small deltas, but only 2 bytes left */
    bad[15] = 3;
    assert_int_equal(parse_one(bad, sizeof bad, &fb, st, 221), HX_RTP_ETRUNC);
}

static void round_trip(const int64_t *arrival, size_t n, uint16_t base)
{
    uint8_t out[HX_RTP_MAX_PACKET];
    size_t used;
    long len = hx_rtcp_twcc_build(out, sizeof out, 7, 8, base, 42, arrival, n, &used);
    assert_true(len > 0);
    assert_int_equal(used, n);
    assert_int_equal(len % 4, 0);
    hx_twcc_fb fb;
    static hx_twcc_status st[1024];
    assert_int_equal(parse_one(out, (size_t)len, &fb, st, 1024), HX_RTP_OK);
    assert_int_equal(fb.status_count, n);
    assert_int_equal(fb.base_seq, base);
    assert_int_equal(fb.fb_count, 42);
    /* re-integrate the deltas: each arrival comes back floored to 250 us */
    int64_t t = (int64_t)fb.ref_time * 64000;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(st[i].seq, (uint16_t)(base + i));
        if (arrival[i] < 0) {
            assert_int_equal(st[i].status, HX_TWCC_NOT_RECEIVED);
            continue;
        }
        t += (int64_t)st[i].delta * 250;
        assert_int_equal(t, arrival[i] / 250 * 250);
        int small = st[i].delta >= 0 && st[i].delta <= 255;
        assert_int_equal(st[i].status, small ? HX_TWCC_SMALL_DELTA : HX_TWCC_LARGE_DELTA);
    }
}

static void test_round_trips(void **state)
{
    (void)state;
    int64_t a[600];
    /* steady 1 ms spacing with every 5th lost: one-bit vectors and runs */
    for (int i = 0; i < 100; i++)
        a[i] = i % 5 == 3 ? -1 : 1000000 + i * 1000 + 37;
    round_trip(a, 100, 65500);
    /* reordering and large gaps: two-bit vectors */
    for (int i = 0; i < 50; i++)
        a[i] = 2000000 + i * 500 + (i % 3 == 0 ? 70000 : 0);
    a[10] = 1990000; /* earlier than the previous: negative delta */
    round_trip(a, 50, 0);
    /* long runs: 300 received, 200 lost, 100 received */
    for (int i = 0; i < 600; i++)
        a[i] = (i >= 300 && i < 500) ? -1 : 5000000 + i * 100;
    round_trip(a, 600, 1234);
    /* nothing received */
    for (int i = 0; i < 20; i++)
        a[i] = -1;
    round_trip(a, 20, 9);
    /* a single packet */
    a[0] = 123456789;
    round_trip(a, 1, 9);
}

static void test_limits(void **state)
{
    (void)state;
    int64_t a[4] = {1000000, 1001000, 1001000 + 9000000, 1001000 + 9001000};
    uint8_t out[128];
    size_t used;
    /* 9 s is more than 32767 ticks: the feedback stops before that packet */
    long n = hx_rtcp_twcc_build(out, sizeof out, 1, 2, 100, 0, a, 4, &used);
    assert_true(n > 0);
    assert_int_equal(used, 2);
    hx_twcc_fb fb;
    hx_twcc_status st[4];
    assert_int_equal(parse_one(out, (size_t)n, &fb, st, 4), HX_RTP_OK);
    assert_int_equal(fb.status_count, 2);
    assert_int_equal(hx_rtcp_twcc_build(out, 16, 1, 2, 100, 0, a, 2, &used), HX_RTP_ENOSPACE);
    assert_int_equal(hx_rtcp_twcc_build(out, sizeof out, 1, 2, 100, 0, a, 0, &used), HX_RTP_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_capture),
        cmocka_unit_test(test_draft_run_length_example),
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
