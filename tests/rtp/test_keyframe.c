/*
 * Unit tests for rtp/keyframe and rtp/vp8: keyframe starts from payload
 * headers as browsers send them (VP8 descriptor with 15-bit picture id,
 * TL0PICIDX and TID byte followed by a key frame tag and the 9d 01 2a
 * start code; VP9 flexible/non-flexible descriptors; H.264 single NAL,
 * STAP-A with SPS/PPS/IDR, FU-A; AV1 aggregation headers), truncations,
 * and VP8 picture id / TL0PICIDX rewriting across a simulcast switch.
 */
#include "rtp/keyframe.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

/* X S, I L T, picture id 0x2a (15-bit), TL0PICIDX 5, TID 0 Y 1, key frame tag + start code */
static const uint8_t VP8_KEY[] = {0x90, 0xe0, 0x80, 0x2a, 0x05, 0x20,
                                  0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a};
/* same descriptor, inter frame tag */
static const uint8_t VP8_DELTA[] = {0x90, 0xe0, 0x80, 0x2b, 0x05, 0x20, 0x31, 0x03, 0x00};

#define KF(codec, bytes) hx_keyframe_start(codec, bytes, sizeof bytes)

static void test_vp8(void **state)
{
    (void)state;
    hx_vp8_desc d;
    assert_int_equal(hx_vp8_parse(VP8_KEY, sizeof VP8_KEY, &d), HX_RTP_OK);
    assert_int_equal(d.start, 1);
    assert_int_equal(d.pid, 0);
    assert_int_equal(d.has_picture_id, 1);
    assert_int_equal(d.picture_id_long, 1);
    assert_int_equal(d.picture_id, 0x2a);
    assert_int_equal(d.has_tl0, 1);
    assert_int_equal(d.tl0picidx, 5);
    assert_int_equal(d.has_tid, 1);
    assert_int_equal(d.tid, 0);
    assert_int_equal(d.layer_sync, 1);
    assert_int_equal(d.hdr_len, 6);
    assert_int_equal(d.keyframe, 1);
    assert_int_equal(KF(HX_CODEC_VP8, VP8_KEY), 1);
    assert_int_equal(KF(HX_CODEC_VP8, VP8_DELTA), 0);

    /* not the start of partition 0 */
    uint8_t p[sizeof VP8_KEY];
    memcpy(p, VP8_KEY, sizeof p);
    p[0] = 0x80; /* S=0 */
    assert_int_equal(KF(HX_CODEC_VP8, p), 0);
    p[0] = 0x91; /* S=1, PID=1 */
    assert_int_equal(KF(HX_CODEC_VP8, p), 0);
    /* minimal descriptor, 7-bit picture id */
    const uint8_t small[] = {0x90, 0x80, 0x11, 0x10, 0x02, 0x00};
    assert_int_equal(hx_vp8_parse(small, sizeof small, &d), HX_RTP_OK);
    assert_int_equal(d.picture_id_long, 0);
    assert_int_equal(d.picture_id, 0x11);
    assert_int_equal(d.keyframe, 1);
    const uint8_t bare[] = {0x10, 0x10};
    assert_int_equal(KF(HX_CODEC_VP8, bare), 1);
    /* every truncation of the descriptor */
    for (size_t n = 0; n < 6; n++)
        assert_int_equal(hx_vp8_parse(VP8_KEY, n, &d), HX_RTP_ETRUNC);
    assert_int_equal(hx_vp8_parse(VP8_KEY, 6, &d), HX_RTP_OK);
    assert_int_equal(d.keyframe, 0); /* no payload header: not known to be a keyframe */
}

/* The size in a VP8 keyframe's first packet (RFC 6386 §9.1); none elsewhere. */
static void test_vp8_size(void **state)
{
    (void)state;
    uint16_t w = 0, h = 0;
    /* descriptor S=1, then frame tag (P=0), start code, 640 and 480 (with scale bits set) */
    static const uint8_t key[] = {0x10, 0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x42, 0xe0, 0xc1};
    assert_int_equal(hx_vp8_keyframe_size(key, sizeof key, &w, &h), HX_RTP_OK);
    assert_int_equal(w, 640);
    assert_int_equal(h, 480);
    static const uint8_t delta[] = {0x10, 0x51, 0x42, 0x00, 1, 2, 3, 4, 5, 6, 7};
    assert_int_equal(hx_vp8_keyframe_size(delta, sizeof delta, &w, &h), HX_RTP_ENOTFOUND);
    uint8_t bad[sizeof key];
    memcpy(bad, key, sizeof key);
    bad[4] = 0x9c; /* not the start code */
    assert_int_equal(hx_vp8_keyframe_size(bad, sizeof bad, &w, &h), HX_RTP_EINVAL);
    for (size_t n = 1; n < sizeof key; n++)
        assert_true(hx_vp8_keyframe_size(key, n, &w, &h) < 0);
}

static void test_vp8_rewrite(void **state)
{
    (void)state;
    hx_vp8_rewriter rw;
    hx_vp8_desc d;
    uint8_t p[sizeof VP8_KEY];
    hx_vp8_rw_init(&rw);
    /* layer A: pictures 0x7ffe, 0x7fff, 0 (15-bit wrap), tl0 254, 255, 0 */
    const uint16_t pids[] = {0x7ffe, 0x7fff, 0x0000};
    const uint8_t tl0s[] = {254, 255, 0};
    for (int i = 0; i < 3; i++) {
        memcpy(p, VP8_KEY, sizeof p);
        p[2] = (uint8_t)(0x80 | pids[i] >> 8);
        p[3] = (uint8_t)pids[i];
        p[4] = tl0s[i];
        assert_int_equal(hx_vp8_rw_rewrite(&rw, p, sizeof p), HX_RTP_OK);
        assert_int_equal(hx_vp8_parse(p, sizeof p, &d), HX_RTP_OK);
        assert_int_equal(d.picture_id, pids[i]); /* no offset before a switch */
        assert_int_equal(d.tl0picidx, tl0s[i]);
    }
    /* switch to layer B whose numbering is elsewhere: continues at 1 / 1 */
    hx_vp8_rw_switch(&rw);
    memcpy(p, VP8_KEY, sizeof p); /* picture 0x2a, tl0 5 */
    assert_int_equal(hx_vp8_rw_rewrite(&rw, p, sizeof p), HX_RTP_OK);
    assert_int_equal(hx_vp8_parse(p, sizeof p, &d), HX_RTP_OK);
    assert_int_equal(d.picture_id, 1);
    assert_int_equal(d.tl0picidx, 1);
    assert_int_equal(d.keyframe, 1);
    assert_memory_equal(p + d.hdr_len, VP8_KEY + 6, sizeof VP8_KEY - 6);
    /* the next B picture follows; a second packet of it keeps its number */
    uint8_t q[sizeof VP8_DELTA];
    memcpy(q, VP8_DELTA, sizeof q); /* picture 0x2b */
    assert_int_equal(hx_vp8_rw_rewrite(&rw, q, sizeof q), HX_RTP_OK);
    assert_int_equal(hx_vp8_parse(q, sizeof q, &d), HX_RTP_OK);
    assert_int_equal(d.picture_id, 2);
    memcpy(q, VP8_DELTA, sizeof q);
    q[0] = 0x80; /* continuation packet */
    assert_int_equal(hx_vp8_rw_rewrite(&rw, q, sizeof q), HX_RTP_OK);
    assert_int_equal(hx_vp8_parse(q, sizeof q, &d), HX_RTP_OK);
    assert_int_equal(d.picture_id, 2);
    /* a dropped picture (two packets of it) moves the next id down by one */
    memcpy(q, VP8_DELTA, sizeof q);
    q[3] = 0x2c; /* picture 0x2c: dropped */
    assert_int_equal(hx_vp8_parse(q, sizeof q, &d), HX_RTP_OK);
    hx_vp8_rw_drop(&rw, &d);
    hx_vp8_rw_drop(&rw, &d);
    assert_true(rw.dropped);
    memcpy(q, VP8_DELTA, sizeof q);
    q[3] = 0x2d;
    assert_int_equal(hx_vp8_rw_rewrite(&rw, q, sizeof q), HX_RTP_OK);
    assert_int_equal(hx_vp8_parse(q, sizeof q, &d), HX_RTP_OK);
    assert_int_equal(d.picture_id, 3);
    assert_int_equal(rw.out_pid, 3);
    /* a resend gets the id it was sent with, and TL0PICIDX with the switch's offset */
    memcpy(q, VP8_DELTA, sizeof q); /* picture 0x2b, sent as 2 */
    hx_vp8_rewriter kept = rw;
    assert_int_equal(hx_vp8_rw_resend(&rw, q, sizeof q, 2), HX_RTP_OK);
    assert_memory_equal(&kept, &rw, sizeof rw);
    assert_int_equal(hx_vp8_parse(q, sizeof q, &d), HX_RTP_OK);
    assert_int_equal(d.picture_id, 2);
    assert_int_equal(d.tl0picidx, (uint8_t)(VP8_DELTA[4] + rw.tl0_offset));
    /* 7-bit ids are written back at their width */
    uint8_t s7[] = {0x90, 0x80, 0x7f, 0x10, 0x02, 0x00};
    assert_int_equal(hx_vp8_parse(s7, sizeof s7, &d), HX_RTP_OK);
    assert_int_equal(hx_vp8_set_picture_id(s7, &d, 0x1234), HX_RTP_OK);
    assert_int_equal(s7[2], 0x34);
    assert_int_equal(hx_vp8_set_tl0picidx(s7, &d, 1), HX_RTP_ENOTFOUND);
}

static void test_vp9(void **state)
{
    (void)state;
    /* I B V: keyframe with scalability structure (Y: one 1280x720 layer, G: no pictures),
     * 15-bit picture id */
    const uint8_t key[] = {0x8a, 0x80, 0x01, 0x18, 0x05, 0x00, 0x02, 0xd0, 0x00};
    const uint8_t inter[] = {0xc8, 0x80, 0x02, 0x00};
    const uint8_t middle[] = {0x80, 0x80, 0x01, 0x00}; /* B=0 */
    assert_int_equal(KF(HX_CODEC_VP9, key), 1);
    assert_int_equal(KF(HX_CODEC_VP9, inter), 0);
    assert_int_equal(KF(HX_CODEC_VP9, middle), 0);
    /* L: layer byte TID(3) U SID(3) D, then TL0PICIDX (non-flexible) */
    const uint8_t sid0[] = {0xa8, 0x05, 0x00, 0x07, 0x00};
    const uint8_t sid1[] = {0xa8, 0x05, 0x02, 0x07, 0x00};
    assert_int_equal(KF(HX_CODEC_VP9, sid0), 1);
    assert_int_equal(KF(HX_CODEC_VP9, sid1), 0);
    assert_int_equal(hx_keyframe_start(HX_CODEC_VP9, sid0, 2), HX_RTP_ETRUNC);
    assert_int_equal(hx_keyframe_start(HX_CODEC_VP9, key, 0), HX_RTP_ETRUNC);
}

/* The descriptor fields SVC selection reads (vp9.c): non-flexible with a scalability
 * structure, flexible with references, and every truncation an error. */
static void test_vp9_parse(void **state)
{
    (void)state;
    hx_vp9_desc d;
    /* I P=0 L F=0 B E V; 15-bit picture id 0x1234; TID 2 U SID 0 D=0; TL0PICIDX; SS: N_S=2 Y G
     * (3 layers 320x180 640x360 1280x720; 1 picture: TID 0 U R=1 P_DIFF) */
    static const uint8_t ss[] = {0xae, 0x92, 0x34, 0x50, 0x07, 0x58, 0x01, 0x40, 0x00, 0xb4, 0x02,
                                 0x80, 0x01, 0x68, 0x05, 0x00, 0x02, 0xd0, 0x01, 0x14, 0x02, 0x99};
    assert_int_equal(hx_vp9_parse(ss, sizeof ss, &d), 0);
    assert_true(d.has_picture_id && d.picture_id == 0x1234);
    assert_true(d.has_layers && !d.flexible && !d.inter && d.begin && d.end && d.has_ss);
    assert_int_equal(d.tid, 2);
    assert_true(d.switch_up);
    assert_int_equal(d.sid, 0);
    assert_int_equal(d.ss_layers, 3);
    assert_int_equal(d.ss_width[2], 1280);
    assert_int_equal(d.ss_height[1], 360);
    assert_int_equal(d.hdr_len, sizeof ss - 1);
    assert_true(d.keyframe);
    for (size_t n = 0; n < sizeof ss - 1; n++)
        assert_int_equal(hx_vp9_parse(ss, n, &d), HX_RTP_ETRUNC);
    /* I(7) P L F B=0 E; TID 1 SID 2 D; two P_DIFFs (N on the first): not a keyframe. */
    static const uint8_t flex[] = {0xf4, 0x05, 0x25, 0x03, 0x04, 0xff};
    assert_int_equal(hx_vp9_parse(flex, sizeof flex, &d), 0);
    assert_true(d.inter && d.flexible && !d.begin && d.end && !d.has_ss);
    assert_int_equal(d.picture_id, 5);
    assert_int_equal(d.sid, 2);
    assert_int_equal(d.tid, 1);
    assert_true(d.inter_layer);
    assert_int_equal(d.hdr_len, 5);
    assert_false(d.keyframe);
    /* Four references is one more than the format allows. */
    static const uint8_t refs[] = {0x50, 0x03, 0x03, 0x03, 0x03, 0xff};
    assert_int_equal(hx_vp9_parse(refs, sizeof refs, &d), HX_RTP_EINVAL);
    assert_int_equal(hx_vp9_parse(NULL, 0, &d), HX_RTP_ETRUNC);
}

static void test_h264(void **state)
{
    (void)state;
    const uint8_t idr[] = {0x65, 0x88, 0x84};
    const uint8_t non_idr[] = {0x41, 0x9a, 0x00};
    const uint8_t sps[] = {0x67, 0x42, 0xc0, 0x1f};
    /* STAP-A: SPS, PPS, IDR as Chrome sends them */
    const uint8_t stap[] = {0x78, 0x00, 0x04, 0x67, 0x42, 0xc0, 0x1f, 0x00,
                            0x02, 0x68, 0xce, 0x00, 0x02, 0x65, 0x88};
    const uint8_t stap_plain[] = {0x78, 0x00, 0x02, 0x68, 0xce, 0x00, 0x02, 0x41, 0x9a};
    const uint8_t fu_start[] = {0x7c, 0x85, 0xb8};
    const uint8_t fu_middle[] = {0x7c, 0x05, 0xb8};
    const uint8_t fu_non_idr[] = {0x5c, 0x81, 0x9a};
    assert_int_equal(KF(HX_CODEC_H264, idr), 1);
    assert_int_equal(KF(HX_CODEC_H264, sps), 1);
    assert_int_equal(KF(HX_CODEC_H264, non_idr), 0);
    assert_int_equal(KF(HX_CODEC_H264, stap), 1);
    assert_int_equal(KF(HX_CODEC_H264, stap_plain), 0);
    assert_int_equal(KF(HX_CODEC_H264, fu_start), 1);
    assert_int_equal(KF(HX_CODEC_H264, fu_middle), 0);
    assert_int_equal(KF(HX_CODEC_H264, fu_non_idr), 0);
    /* a STAP-A size running past the payload */
    uint8_t bad[sizeof stap_plain];
    memcpy(bad, stap_plain, sizeof bad);
    bad[6] = 0x09;
    assert_int_equal(KF(HX_CODEC_H264, bad), HX_RTP_ETRUNC);
    assert_int_equal(hx_keyframe_start(HX_CODEC_H264, fu_start, 1), HX_RTP_ETRUNC);
}

static void test_av1(void **state)
{
    (void)state;
    const uint8_t n_bit[] = {0x18, 0x32, 0x00};                   /* W=1, N=1 */
    const uint8_t seq_hdr[] = {0x10, 0x0a, 0x0b, 0x00};           /* W=1, sequence header OBU */
    const uint8_t frame[] = {0x20, 0x02, 0x32, 0x00, 0x10, 0x00}; /* W=2, frame OBU first */
    const uint8_t lenseq[] = {0x00, 0x02, 0x0a, 0x0b}; /* W=0, LEB128 length + seq header */
    const uint8_t cont[] = {0x90, 0x0a, 0x0b};         /* Z=1: continuation */
    assert_int_equal(KF(HX_CODEC_AV1, n_bit), 1);
    assert_int_equal(KF(HX_CODEC_AV1, seq_hdr), 1);
    assert_int_equal(KF(HX_CODEC_AV1, frame), 0);
    assert_int_equal(KF(HX_CODEC_AV1, lenseq), 1);
    assert_int_equal(KF(HX_CODEC_AV1, cont), 0);
    const uint8_t bad_len[] = {0x00, 0x09, 0x0a};
    assert_int_equal(KF(HX_CODEC_AV1, bad_len), HX_RTP_ETRUNC);
    const uint8_t endless[] = {0x00, 0x80, 0x80, 0x80};
    assert_int_equal(KF(HX_CODEC_AV1, endless), HX_RTP_ETRUNC);
    assert_int_equal(hx_keyframe_start(HX_CODEC_OTHER, n_bit, sizeof n_bit), 0);
    assert_int_equal(hx_keyframe_start(HX_CODEC_AV1, NULL, 0), HX_RTP_ETRUNC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vp8),         cmocka_unit_test(test_vp8_size),
        cmocka_unit_test(test_vp8_rewrite), cmocka_unit_test(test_vp9),
        cmocka_unit_test(test_vp9_parse),   cmocka_unit_test(test_h264),
        cmocka_unit_test(test_av1),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
