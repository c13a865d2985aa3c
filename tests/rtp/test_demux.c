/*
 * Unit tests for rtp/demux: every first-byte boundary of RFC 7983 §7, the
 * RFC 5761 §4 RTP/RTCP split on the second byte, and the minimum lengths.
 */
#include "rtp/demux.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static hx_pkt_kind classify2(uint8_t b0, uint8_t b1, size_t len)
{
    uint8_t buf[64];
    memset(buf, 0, sizeof buf);
    buf[0] = b0;
    buf[1] = b1;
    return hx_pkt_classify(buf, len);
}

static void test_first_byte_ranges(void **state)
{
    (void)state;
    for (int b = 0; b < 256; b++) {
        hx_pkt_kind want = HX_PKT_UNKNOWN;
        if (b <= 3)
            want = HX_PKT_STUN;
        else if (b >= 20 && b <= 63)
            want = HX_PKT_DTLS;
        else if (b >= 64 && b <= 79)
            want = HX_PKT_TURN_CHANNEL;
        else if (b >= 128 && b <= 191)
            want = HX_PKT_RTP;
        assert_int_equal(classify2((uint8_t)b, 96, 64), want);
    }
}

static void test_rtp_rtcp_split(void **state)
{
    (void)state;
    for (int b1 = 0; b1 < 256; b1++) {
        hx_pkt_kind want = (b1 >= 192 && b1 <= 223) ? HX_PKT_RTCP : HX_PKT_RTP;
        assert_int_equal(classify2(0x80, (uint8_t)b1, 64), want);
        assert_int_equal(classify2(0xbf, (uint8_t)b1, 64), want);
    }
    /* RR 201 and PSFB 206 as real browsers send them */
    assert_int_equal(classify2(0x81, 201, 32), HX_PKT_RTCP);
    assert_int_equal(classify2(0x8f, 206, 32), HX_PKT_RTCP);
    /* PT 111 with marker is 0xef: RTP */
    assert_int_equal(classify2(0x80, 0xef, 32), HX_PKT_RTP);
}

static void test_min_lengths(void **state)
{
    (void)state;
    assert_int_equal(hx_pkt_classify(NULL, 10), HX_PKT_UNKNOWN);
    assert_int_equal(classify2(0x00, 0x01, 0), HX_PKT_UNKNOWN);
    assert_int_equal(classify2(0x00, 0x01, 19), HX_PKT_UNKNOWN);
    assert_int_equal(classify2(0x00, 0x01, 20), HX_PKT_STUN);
    assert_int_equal(classify2(22, 0xfe, 12), HX_PKT_UNKNOWN);
    assert_int_equal(classify2(22, 0xfe, 13), HX_PKT_DTLS);
    assert_int_equal(classify2(0x40, 0, 3), HX_PKT_UNKNOWN);
    assert_int_equal(classify2(0x40, 0, 4), HX_PKT_TURN_CHANNEL);
    assert_int_equal(classify2(0x80, 96, 11), HX_PKT_UNKNOWN);
    assert_int_equal(classify2(0x80, 96, 12), HX_PKT_RTP);
    assert_int_equal(classify2(0x80, 200, 3), HX_PKT_UNKNOWN);
    assert_int_equal(classify2(0x80, 200, 4), HX_PKT_RTCP);
    assert_string_equal(hx_pkt_kind_name(HX_PKT_RTCP), "rtcp");
    assert_string_equal(hx_pkt_kind_name((hx_pkt_kind)99), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_byte_ranges),
        cmocka_unit_test(test_rtp_rtcp_split),
        cmocka_unit_test(test_min_lengths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
