/*
 * Unit tests for rtp/cache: lookups by seq across the 16-bit wrap and
 * around the ring (an entry overwritten by the next lap is gone, not
 * confused), age expiry, the NACK resend rate limit, and RTX wrap/unwrap
 * (RFC 4588 §4) giving back the original bytes, with CSRCs, extensions
 * and padding.
 */
#include "rtp/cache.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static size_t make_pkt(uint8_t *out, uint16_t seq, uint8_t fill, size_t payload_len)
{
    uint8_t payload[1400];
    memset(payload, fill, payload_len);
    const hx_rtp_build_args a = {.pt = 96,
                                 .seq = seq,
                                 .ts = seq * 3000u,
                                 .ssrc = 0x1234,
                                 .payload = payload,
                                 .payload_len = payload_len};
    long n = hx_rtp_build(out, HX_RTP_MAX_PACKET, &a);
    assert_true(n > 0);
    return (size_t)n;
}

static void test_init(void **state)
{
    (void)state;
    hx_rtp_cache c;
    assert_true(hx_rtp_cache_init(&c, 100, 1000) < 0);
    assert_true(hx_rtp_cache_init(&c, 8, 1000) < 0);
    assert_true(hx_rtp_cache_init(&c, 65536, 1000) < 0);
    assert_null(hx_rtp_cache_get(&c, 1, 0));
    hx_rtp_cache_destroy(&c);
    hx_rtp_cache_destroy(&c);
}

static void test_wrap_around(void **state)
{
    (void)state;
    hx_rtp_cache c;
    assert_int_equal(hx_rtp_cache_init(&c, 64, 10000000), 0);
    uint8_t pkt[HX_RTP_MAX_PACKET];
    /* 200 packets starting just before the 16-bit wrap: the ring turns three times */
    for (int i = 0; i < 200; i++) {
        uint16_t seq = (uint16_t)(65500 + i);
        size_t n = make_pkt(pkt, seq, (uint8_t)i, 10 + i);
        assert_int_equal(hx_rtp_cache_put(&c, pkt, n, 1000 + i), HX_RTP_OK);
    }
    for (int i = 0; i < 200; i++) {
        uint16_t seq = (uint16_t)(65500 + i);
        const hx_rtp_cache_entry *e = hx_rtp_cache_get(&c, seq, 2000);
        if (i < 200 - 64) {
            assert_null(e);
            continue;
        }
        assert_non_null(e);
        assert_int_equal(e->len, 12 + 10 + i);
        assert_int_equal(e->arrival_us, 1000 + i);
        hx_rtp_hdr h;
        assert_int_equal(hx_rtp_parse(e->data, e->len, &h), HX_RTP_OK);
        assert_int_equal(h.seq, seq);
        assert_int_equal(e->data[h.payload_offset], (uint8_t)i);
    }
    /* a seq never stored, and one ahead of the newest */
    assert_null(hx_rtp_cache_get(&c, (uint16_t)(65500 + 200), 2000));
    /* a late packet does not evict the newer one in its slot */
    size_t n = make_pkt(pkt, (uint16_t)(65500 + 200 - 64 - 1), 0xee, 5);
    assert_int_equal(hx_rtp_cache_put(&c, pkt, n, 3000), HX_RTP_OK);
    assert_non_null(hx_rtp_cache_get(&c, (uint16_t)(65500 + 199), 3000));
    assert_null(hx_rtp_cache_get(&c, (uint16_t)(65500 + 200 - 64 - 1), 3000));
    /* bad input */
    assert_int_equal(hx_rtp_cache_put(&c, pkt, 5, 0), HX_RTP_ETRUNC);
    assert_int_equal(hx_rtp_cache_put(&c, pkt, HX_RTP_MAX_PACKET + 1, 0), HX_RTP_ENOSPACE);
    hx_rtp_cache_destroy(&c);
}

static void test_age_and_rate_limit(void **state)
{
    (void)state;
    hx_rtp_cache c;
    assert_int_equal(hx_rtp_cache_init(&c, 512, 1000000), 0);
    uint8_t pkt[HX_RTP_MAX_PACKET];
    size_t n = make_pkt(pkt, 7, 1, 1200);
    assert_int_equal(hx_rtp_cache_put(&c, pkt, n, 5000000), HX_RTP_OK);
    assert_non_null(hx_rtp_cache_get(&c, 7, 6000000));
    assert_null(hx_rtp_cache_get(&c, 7, 6000001)); /* older than 1 s */

    /* resend at most once per interval (100 ms here) */
    assert_non_null(hx_rtp_cache_resend(&c, 7, 5100000, 100000));
    assert_null(hx_rtp_cache_resend(&c, 7, 5150000, 100000));
    assert_null(hx_rtp_cache_resend(&c, 7, 5199999, 100000));
    assert_non_null(hx_rtp_cache_resend(&c, 7, 5200000, 100000));
    assert_null(hx_rtp_cache_resend(&c, 8, 5200000, 100000));
    /* storing the seq again (a new packet) resets the limit */
    assert_int_equal(hx_rtp_cache_put(&c, pkt, n, 5300000), HX_RTP_OK);
    assert_non_null(hx_rtp_cache_resend(&c, 7, 5300001, 100000));
    hx_rtp_cache_destroy(&c);
}

static void test_rtx(void **state)
{
    (void)state;
    const uint32_t csrc[1] = {0x0c0c0c0c};
    const hx_rtp_ext ext[1] = {{.id = 3, .len = 2, .val = (const uint8_t *)"\x01\x02"}};
    const uint8_t payload[5] = {9, 8, 7, 6, 5};
    const hx_rtp_build_args a = {.marker = 1,
                                 .pt = 96,
                                 .seq = 65535,
                                 .ts = 0xabcdef,
                                 .ssrc = 0x11111111,
                                 .csrc = csrc,
                                 .csrc_count = 1,
                                 .ext = ext,
                                 .n_ext = 1,
                                 .payload = payload,
                                 .payload_len = sizeof payload,
                                 .padding = 4};
    uint8_t orig[128], rtx[128];
    long on = hx_rtp_build(orig, sizeof orig, &a);
    assert_true(on > 0);
    long rn = hx_rtx_wrap(rtx, sizeof rtx, orig, (size_t)on, 0x22222222, 97, 4);
    assert_int_equal(rn, on - 4 + 2); /* padding dropped, OSN added */
    hx_rtp_hdr h;
    assert_int_equal(hx_rtp_parse(rtx, (size_t)rn, &h), HX_RTP_OK);
    assert_int_equal(h.ssrc, 0x22222222);
    assert_int_equal(h.pt, 97);
    assert_int_equal(h.seq, 4);
    assert_int_equal(h.ts, 0xabcdef);
    assert_int_equal(h.marker, 1);
    assert_int_equal(h.padding, 0);
    assert_int_equal(h.payload_len, 7);
    assert_memory_equal(rtx + h.payload_offset, "\xff\xff\x09\x08\x07\x06\x05", 7);
    assert_int_equal(hx_rtx_wrap(rtx, (size_t)rn - 1, orig, (size_t)on, 1, 97, 4), HX_RTP_ENOSPACE);

    /* unwrapping restores the original minus its padding */
    long un = hx_rtx_unwrap(rtx, (size_t)rn, 0x11111111, 96);
    assert_int_equal(un, on - 4);
    uint8_t want[128];
    memcpy(want, orig, (size_t)on - 4);
    want[0] &= (uint8_t)~0x20;
    assert_memory_equal(rtx, want, (size_t)un);

    /* an RTX packet with padding keeps it through unwrapping */
    const uint8_t osn_payload[3] = {0x00, 0x10, 0x42};
    const hx_rtp_build_args r = {
        .pt = 97, .seq = 1, .ssrc = 2, .payload = osn_payload, .payload_len = 3, .padding = 2};
    rn = hx_rtp_build(rtx, sizeof rtx, &r);
    un = hx_rtx_unwrap(rtx, (size_t)rn, 5, 96);
    assert_int_equal(un, rn - 2);
    assert_int_equal(hx_rtp_parse(rtx, (size_t)un, &h), HX_RTP_OK);
    assert_int_equal(h.seq, 0x10);
    assert_int_equal(h.pt, 96);
    assert_int_equal(h.ssrc, 5);
    assert_int_equal(h.payload_len, 1);
    assert_int_equal(rtx[h.payload_offset], 0x42);
    assert_int_equal(h.padding_len, 2);

    /* a padding-only RTX probe has no original */
    const hx_rtp_build_args probe = {.pt = 97, .seq = 1, .ssrc = 2, .padding = 200};
    rn = hx_rtp_build(rtx, sizeof rtx, &probe);
    assert_true(rn < 0); /* 212 > sizeof rtx */
    uint8_t big[256];
    rn = hx_rtp_build(big, sizeof big, &probe);
    assert_int_equal(hx_rtx_unwrap(big, (size_t)rn, 5, 96), HX_RTP_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init),
        cmocka_unit_test(test_wrap_around),
        cmocka_unit_test(test_age_and_rate_limit),
        cmocka_unit_test(test_rtx),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
