/*
 * Unit tests for rtp/rtcp and rtp/rtcp_fb: a compound SR + SDES + BYE
 * built and walked, RR with signed 24-bit loss, padding, reduced-size
 * packets, every truncation of the compound, SDES with several items and
 * chunks, PLI/FIR, NACK expansion/compression across the 16-bit wrap, and
 * REMB against a REMB packet captured from Chrome (the pion/rtcp test
 * vector: 8927168 bps for SSRC 1215622422).
 */
#include "rtp/rtcp.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static hx_rtcp_rb sample_rb(uint32_t ssrc, int32_t lost)
{
    hx_rtcp_rb rb = {.ssrc = ssrc,
                     .fraction_lost = 25,
                     .cumulative_lost = lost,
                     .ext_highest_seq = 0x0001fffe,
                     .jitter = 77,
                     .lsr = 0xaabbccdd,
                     .dlsr = 65536};
    return rb;
}

static void assert_rb_equal(const hx_rtcp_rb *a, const hx_rtcp_rb *b)
{
    assert_int_equal(a->ssrc, b->ssrc);
    assert_int_equal(a->fraction_lost, b->fraction_lost);
    assert_int_equal(a->cumulative_lost, b->cumulative_lost);
    assert_int_equal(a->ext_highest_seq, b->ext_highest_seq);
    assert_int_equal(a->jitter, b->jitter);
    assert_int_equal(a->lsr, b->lsr);
    assert_int_equal(a->dlsr, b->dlsr);
}

static size_t build_compound(uint8_t *buf, size_t cap)
{
    hx_rtcp_sr sr = {.ssrc = 0x11111111,
                     .ntp = 0xe1a2b3c4d5e6f708ull,
                     .rtp_ts = 123456,
                     .packet_count = 1000,
                     .octet_count = 1200000,
                     .n_rb = 2};
    sr.rb[0] = sample_rb(0x22222222, 5);
    sr.rb[1] = sample_rb(0x33333333, -3);
    long n1 = hx_rtcp_sr_build(buf, cap, &sr);
    assert_int_equal(n1, 28 + 48);
    long n2 = hx_rtcp_sdes_build_cname(buf + n1, cap - (size_t)n1, 0x11111111, "hearth-cname", 12);
    assert_int_equal(n2, 24); /* 4 + 4 + 2 + 12 + 1 end, padded to 24 */
    const uint32_t gone[] = {0x11111111};
    long n3 = hx_rtcp_bye_build(buf + n1 + n2, cap - (size_t)(n1 + n2), gone, 1, "bye", 3);
    assert_int_equal(n3, 12);
    return (size_t)(n1 + n2 + n3);
}

static void test_compound_round_trip(void **state)
{
    (void)state;
    uint8_t buf[256];
    size_t len = build_compound(buf, sizeof buf);
    hx_rtcp_iter it;
    hx_rtcp_pkt p;
    hx_rtcp_iter_init(&it, buf, len);

    assert_int_equal(hx_rtcp_iter_next(&it, &p), 1);
    hx_rtcp_sr sr;
    assert_int_equal(hx_rtcp_sr_parse(&p, &sr), HX_RTP_OK);
    assert_int_equal(sr.ssrc, 0x11111111);
    assert_true(sr.ntp == 0xe1a2b3c4d5e6f708ull);
    assert_int_equal(sr.rtp_ts, 123456);
    assert_int_equal(sr.packet_count, 1000);
    assert_int_equal(sr.octet_count, 1200000);
    assert_int_equal(sr.n_rb, 2);
    hx_rtcp_rb want = sample_rb(0x33333333, -3);
    assert_rb_equal(&sr.rb[1], &want);
    assert_memory_equal(p.pkt + 52 + 5, "\xff\xff\xfd", 3); /* -3 in 24 bits */

    assert_int_equal(hx_rtcp_iter_next(&it, &p), 1);
    hx_rtcp_sdes_chunk ch[4];
    size_t n;
    assert_int_equal(hx_rtcp_sdes_parse(&p, ch, 4, &n), HX_RTP_OK);
    assert_int_equal(n, 1);
    assert_int_equal(ch[0].ssrc, 0x11111111);
    assert_int_equal(ch[0].cname_len, 12);
    assert_memory_equal(ch[0].cname, "hearth-cname", 12);

    assert_int_equal(hx_rtcp_iter_next(&it, &p), 1);
    hx_rtcp_bye bye;
    assert_int_equal(hx_rtcp_bye_parse(&p, &bye), HX_RTP_OK);
    assert_int_equal(bye.n, 1);
    assert_int_equal(bye.ssrc[0], 0x11111111);
    assert_int_equal(bye.reason_len, 3);
    assert_memory_equal(bye.reason, "bye", 3);
    assert_int_equal(hx_rtcp_iter_next(&it, &p), 0);

    /* wrong parser for the type */
    assert_int_equal(hx_rtcp_rr_parse(&p, &(hx_rtcp_rr){0}), HX_RTP_EINVAL);

    /* every truncation inside a packet is an error, at a packet boundary the end */
    for (size_t cut = 0; cut < len; cut++) {
        int rc, seen = 0;
        hx_rtcp_iter_init(&it, buf, cut);
        while ((rc = hx_rtcp_iter_next(&it, &p)) == 1)
            seen++;
        if (cut == 0 || cut == 76 || cut == 100)
            assert_int_equal(rc, 0);
        else
            assert_int_equal(rc, HX_RTP_ETRUNC);
        assert_int_equal(seen, cut >= 100 ? 2 : cut >= 76 ? 1 : 0);
    }
}

static void test_rr_and_limits(void **state)
{
    (void)state;
    hx_rtcp_rr rr = {.ssrc = 9, .n_rb = 1}, out;
    rr.rb[0] = sample_rb(1, 0x7fffff + 10); /* clamps to the 24-bit maximum */
    uint8_t buf[64];
    long n = hx_rtcp_rr_build(buf, sizeof buf, &rr);
    assert_int_equal(n, 32);
    assert_int_equal(buf[0], 0x81);
    assert_int_equal(buf[1], 201);
    assert_int_equal(buf[3], 7);
    hx_rtcp_iter it;
    hx_rtcp_pkt p;
    hx_rtcp_iter_init(&it, buf, (size_t)n);
    assert_int_equal(hx_rtcp_iter_next(&it, &p), 1);
    assert_int_equal(hx_rtcp_rr_parse(&p, &out), HX_RTP_OK);
    assert_int_equal(out.rb[0].cumulative_lost, 0x7fffff);
    rr.rb[0].cumulative_lost = -0x900000;
    n = hx_rtcp_rr_build(buf, sizeof buf, &rr);
    hx_rtcp_iter_init(&it, buf, (size_t)n);
    assert_int_equal(hx_rtcp_iter_next(&it, &p), 1);
    assert_int_equal(hx_rtcp_rr_parse(&p, &out), HX_RTP_OK);
    assert_int_equal(out.rb[0].cumulative_lost, -0x800000);

    assert_int_equal(hx_rtcp_rr_build(buf, 31, &rr), HX_RTP_ENOSPACE);
    rr.n_rb = 32;
    assert_int_equal(hx_rtcp_rr_build(buf, sizeof buf, &rr), HX_RTP_EINVAL);

    /* a count promising more blocks than the length holds */
    buf[0] = 0x82;
    hx_rtcp_iter_init(&it, buf, 32);
    assert_int_equal(hx_rtcp_iter_next(&it, &p), 1);
    assert_int_equal(hx_rtcp_rr_parse(&p, &out), HX_RTP_ETRUNC);

    /* version 1 */
    buf[0] = 0x41;
    hx_rtcp_iter_init(&it, buf, 32);
    assert_int_equal(hx_rtcp_iter_next(&it, &p), HX_RTP_EVERSION);
    assert_int_equal(hx_rtcp_iter_next(&it, &p), 0); /* iteration stopped */
}

static void test_padding_and_reduced_size(void **state)
{
    (void)state;
    /* reduced-size RTCP (RFC 5506): a lone PLI, padded with 4 bytes */
    uint8_t buf[32];
    long n = hx_rtcp_pli_build(buf, sizeof buf, 0xaaaa, 0xbbbb);
    assert_int_equal(n, 12);
    buf[0] |= 0x20;
    buf[3] = 3;
    memset(buf + 12, 0, 4);
    buf[15] = 4;
    hx_rtcp_iter it;
    hx_rtcp_pkt p;
    hx_rtcp_fb fb;
    hx_rtcp_iter_init(&it, buf, 16);
    assert_int_equal(hx_rtcp_iter_next(&it, &p), 1);
    assert_int_equal(p.pt, HX_RTCP_PSFB);
    assert_int_equal(p.count, HX_RTCP_FMT_PLI);
    assert_int_equal(p.pkt_len, 16);
    assert_int_equal(p.body_len, 8);
    assert_int_equal(hx_rtcp_fb_parse(&p, &fb), HX_RTP_OK);
    assert_int_equal(fb.sender_ssrc, 0xaaaa);
    assert_int_equal(fb.media_ssrc, 0xbbbb);
    assert_int_equal(fb.fci_len, 0);
    buf[15] = 0;
    hx_rtcp_iter_init(&it, buf, 16);
    assert_int_equal(hx_rtcp_iter_next(&it, &p), HX_RTP_EPADDING);
    buf[15] = 13;
    hx_rtcp_iter_init(&it, buf, 16);
    assert_int_equal(hx_rtcp_iter_next(&it, &p), HX_RTP_EPADDING);
}

static void test_sdes_items(void **state)
{
    (void)state;
    /* two chunks: NAME then CNAME; second chunk CNAME only, exactly aligned */
    const uint8_t pkt[] = {
        0x82, 202,  0x00, 0x06,                                               /* SC=2, 7 words */
        0x00, 0x00, 0x00, 0x01, 2, 2, 'n', 'm', 1, 3, 'a', 'b', 'c', 0, 0, 0, /* chunk 1 */
        0x00, 0x00, 0x00, 0x02, 1, 1, 'z', 0,                                 /* chunk 2 */
    };
    hx_rtcp_iter it;
    hx_rtcp_pkt p;
    hx_rtcp_sdes_chunk ch[2];
    size_t n;
    hx_rtcp_iter_init(&it, pkt, sizeof pkt);
    assert_int_equal(hx_rtcp_iter_next(&it, &p), 1);
    assert_int_equal(hx_rtcp_sdes_parse(&p, ch, 2, &n), HX_RTP_OK);
    assert_int_equal(n, 2);
    assert_int_equal(ch[0].cname_len, 3);
    assert_memory_equal(ch[0].cname, "abc", 3);
    assert_int_equal(ch[1].ssrc, 2);
    assert_memory_equal(ch[1].cname, "z", 1);
    assert_int_equal(hx_rtcp_sdes_parse(&p, ch, 1, &n), HX_RTP_ENOSPACE);
    /* the second chunk loses its end byte */
    uint8_t bad[sizeof pkt];
    memcpy(bad, pkt, sizeof bad);
    bad[27] = 'y';
    hx_rtcp_iter_init(&it, bad, sizeof bad);
    assert_int_equal(hx_rtcp_iter_next(&it, &p), 1);
    assert_int_equal(hx_rtcp_sdes_parse(&p, ch, 2, &n), HX_RTP_ETRUNC);
}

static void test_fir(void **state)
{
    (void)state;
    const hx_rtcp_fir_entry e[2] = {{0x01020304, 7}, {0x05060708, 255}};
    uint8_t buf[64];
    long n = hx_rtcp_fir_build(buf, sizeof buf, 0xabcdef01, e, 2);
    assert_int_equal(n, 28);
    assert_int_equal(buf[0], 0x84);
    assert_int_equal(buf[1], 206);
    assert_memory_equal(buf + 8, "\0\0\0\0", 4); /* media SSRC 0 */
    hx_rtcp_iter it;
    hx_rtcp_pkt p;
    hx_rtcp_fb fb;
    hx_rtcp_fir_entry got[2];
    size_t k;
    hx_rtcp_iter_init(&it, buf, (size_t)n);
    assert_int_equal(hx_rtcp_iter_next(&it, &p), 1);
    assert_int_equal(hx_rtcp_fir_parse(&p, &fb, got, 2, &k), HX_RTP_OK);
    assert_int_equal(k, 2);
    assert_int_equal(fb.sender_ssrc, 0xabcdef01);
    assert_int_equal(got[1].ssrc, 0x05060708);
    assert_int_equal(got[1].seq, 255);
    assert_int_equal(hx_rtcp_fir_parse(&p, &fb, got, 1, &k), HX_RTP_ENOSPACE);
    /* a PLI is not a FIR */
    n = hx_rtcp_pli_build(buf, sizeof buf, 1, 2);
    hx_rtcp_iter_init(&it, buf, (size_t)n);
    assert_int_equal(hx_rtcp_iter_next(&it, &p), 1);
    assert_int_equal(hx_rtcp_fir_parse(&p, &fb, got, 2, &k), HX_RTP_EINVAL);
}

static void test_nack(void **state)
{
    (void)state;
    /* hand-built: PID 0xfff0, BLP bits 0 and 15 -> fff0, fff1 and (fff0+16) = 0000 */
    const uint8_t pkt[] = {0x81, 205, 0x00, 0x04, 0,    0,    0,    1,    0,    0,
                           0,    2,   0xff, 0xf0, 0x80, 0x01, 0x00, 0x11, 0x00, 0x00};
    hx_rtcp_iter it;
    hx_rtcp_pkt p;
    hx_rtcp_fb fb;
    uint16_t seqs[40];
    size_t n;
    hx_rtcp_iter_init(&it, pkt, sizeof pkt);
    assert_int_equal(hx_rtcp_iter_next(&it, &p), 1);
    assert_int_equal(hx_rtcp_nack_parse(&p, &fb, seqs, 40, &n), HX_RTP_OK);
    assert_int_equal(fb.media_ssrc, 2);
    assert_int_equal(n, 4);
    assert_int_equal(seqs[0], 0xfff0);
    assert_int_equal(seqs[1], 0xfff1);
    assert_int_equal(seqs[2], 0x0000);
    assert_int_equal(seqs[3], 0x0011);
    assert_int_equal(hx_rtcp_nack_parse(&p, &fb, seqs, 3, &n), HX_RTP_ENOSPACE);

    /* compressing the expanded list gives back the same bytes */
    uint8_t out[64];
    long len = hx_rtcp_nack_build(out, sizeof out, 1, 2, seqs, 4);
    assert_int_equal(len, (long)sizeof pkt);
    assert_memory_equal(out, pkt, sizeof pkt);

    /* 40 consecutive seqs: 17 per pair -> 3 pairs, and back */
    uint16_t many[40], back[64];
    for (int i = 0; i < 40; i++)
        many[i] = (uint16_t)(65530 + i);
    len = hx_rtcp_nack_build(out, sizeof out, 1, 2, many, 40);
    assert_int_equal(len, 12 + 3 * 4);
    hx_rtcp_iter_init(&it, out, (size_t)len);
    assert_int_equal(hx_rtcp_iter_next(&it, &p), 1);
    assert_int_equal(hx_rtcp_nack_parse(&p, &fb, back, 64, &n), HX_RTP_OK);
    assert_int_equal(n, 40);
    assert_memory_equal(back, many, sizeof many);
    assert_int_equal(hx_rtcp_nack_build(out, sizeof out, 1, 2, many, 0), HX_RTP_EINVAL);
    assert_int_equal(hx_rtcp_nack_build(out, 20, 1, 2, many, 40), HX_RTP_ENOSPACE);
}

static void test_remb(void **state)
{
    (void)state;
    const uint8_t chrome[] = {143, 206, 0,  5,  0, 0,  0,  1,   0,  0,   0,   0,
                              82,  69,  77, 66, 1, 26, 32, 223, 72, 116, 237, 22};
    hx_rtcp_iter it;
    hx_rtcp_pkt p;
    hx_rtcp_fb fb;
    hx_rtcp_remb r;
    hx_rtcp_iter_init(&it, chrome, sizeof chrome);
    assert_int_equal(hx_rtcp_iter_next(&it, &p), 1);
    assert_int_equal(hx_rtcp_remb_parse(&p, &fb, &r), HX_RTP_OK);
    assert_int_equal(fb.sender_ssrc, 1);
    assert_int_equal(r.bitrate, 8927168);
    assert_int_equal(r.n_ssrc, 1);
    assert_int_equal(r.ssrc[0], 1215622422);
    uint8_t out[64];
    assert_int_equal(hx_rtcp_remb_build(out, sizeof out, 1, &r), (long)sizeof chrome);
    assert_memory_equal(out, chrome, sizeof chrome);

    /* large rates lose precision below 18 significant bits, never overflow */
    r.bitrate = 10000000000ull;
    r.n_ssrc = 0;
    long n = hx_rtcp_remb_build(out, sizeof out, 1, &r);
    hx_rtcp_iter_init(&it, out, (size_t)n);
    assert_int_equal(hx_rtcp_iter_next(&it, &p), 1);
    assert_int_equal(hx_rtcp_remb_parse(&p, &fb, &r), HX_RTP_OK);
    assert_true(r.bitrate <= 10000000000ull && r.bitrate > 10000000000ull - (1ull << 16));

    /* another AFB message is not a REMB */
    uint8_t other[sizeof chrome];
    memcpy(other, chrome, sizeof other);
    other[12] = 'X';
    hx_rtcp_iter_init(&it, other, sizeof other);
    assert_int_equal(hx_rtcp_iter_next(&it, &p), 1);
    assert_int_equal(hx_rtcp_remb_parse(&p, &fb, &r), HX_RTP_ENOTFOUND);
    other[12] = 'R';
    other[16] = 2; /* two SSRCs promised, one present */
    hx_rtcp_iter_init(&it, other, sizeof other);
    assert_int_equal(hx_rtcp_iter_next(&it, &p), 1);
    assert_int_equal(hx_rtcp_remb_parse(&p, &fb, &r), HX_RTP_ETRUNC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compound_round_trip),
        cmocka_unit_test(test_rr_and_limits),
        cmocka_unit_test(test_padding_and_reduced_size),
        cmocka_unit_test(test_sdes_items),
        cmocka_unit_test(test_fir),
        cmocka_unit_test(test_nack),
        cmocka_unit_test(test_remb),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
