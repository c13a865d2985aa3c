/*
 * Unit tests for the relay's codecs (sfu/relay.h): frames as a worker writes and reads them,
 * a track description through encode and decode, and what each refuses: every truncation of a
 * good description and of a good frame, another version, a kind that is not audio or video,
 * too many layers, a string too long for its field.
 */
#include "sfu/relay.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static hx_relay_desc sample(void)
{
    hx_relay_desc d;
    memset(&d, 0, sizeof d);
    d.kind = HX_SDP_VIDEO;
    snprintf(d.mid, sizeof d.mid, "1");
    d.codec.pt = 96;
    d.codec.rtx_pt = 97;
    d.codec.clock = 90000;
    d.codec.fb = 7;
    snprintf(d.codec.name, sizeof d.codec.name, "VP8");
    snprintf(d.codec.fmtp, sizeof d.codec.fmtp, "max-fr=30");
    d.ext_id[HX_SDP_EXT_MID] = 4;
    d.ext_id[HX_SDP_EXT_RID] = 10;
    d.n_layers = 3;
    const char *rids[] = {"q", "h", "f"};
    for (int i = 0; i < 3; i++) {
        snprintf(d.layers[i].rid, sizeof d.layers[i].rid, "%s", rids[i]);
        d.layers[i].ssrc = 1000u + (uint32_t)i;
        d.layers[i].rtx_ssrc = 2000u + (uint32_t)i;
    }
    return d;
}

static void description_round_trip(void **state)
{
    (void)state;
    hx_relay_desc d = sample(), back;
    uint8_t buf[HX_RELAY_DESC_MAX];
    long n = hx_relay_desc_encode(&d, buf, sizeof buf);
    assert_true(n > 0);
    assert_int_equal(hx_relay_desc_decode(buf, (size_t)n, &back), 0);
    assert_memory_equal(&back.codec, &d.codec, sizeof d.codec);
    assert_string_equal(back.mid, "1");
    assert_int_equal(back.kind, HX_SDP_VIDEO);
    assert_int_equal(back.n_layers, 3);
    assert_string_equal(back.layers[2].rid, "f");
    assert_int_equal(back.layers[1].ssrc, 1001);
    assert_int_equal(back.layers[0].rtx_ssrc, 2000);
    assert_memory_equal(back.ext_id, d.ext_id, sizeof d.ext_id);
    assert_false(back.has_alt);
    /* RED with the Opus inside it */
    hx_relay_desc a = sample();
    a.kind = HX_SDP_AUDIO;
    a.n_layers = 1;
    a.has_alt = true;
    a.alt.pt = 111;
    snprintf(a.alt.name, sizeof a.alt.name, "opus");
    n = hx_relay_desc_encode(&a, buf, sizeof buf);
    assert_int_equal(hx_relay_desc_decode(buf, (size_t)n, &back), 0);
    assert_true(back.has_alt);
    assert_string_equal(back.alt.name, "opus");
    /* every truncation, and one byte too many, is refused */
    for (long cut = 0; cut < n; cut++)
        assert_int_equal(hx_relay_desc_decode(buf, (size_t)cut, &back), -1);
    buf[n] = 0;
    assert_int_equal(hx_relay_desc_decode(buf, (size_t)n + 1, &back), -1);
    /* does not fit: -1 */
    assert_int_equal(hx_relay_desc_encode(&d, buf, 10), -1);
}

static void descriptions_refused(void **state)
{
    (void)state;
    hx_relay_desc d = sample(), back;
    uint8_t buf[HX_RELAY_DESC_MAX];
    long n = hx_relay_desc_encode(&d, buf, sizeof buf);
    buf[0] = 2; /* another version */
    assert_int_equal(hx_relay_desc_decode(buf, (size_t)n, &back), -1);
    buf[0] = 1;
    buf[1] = HX_SDP_APPLICATION; /* not media */
    assert_int_equal(hx_relay_desc_decode(buf, (size_t)n, &back), -1);
    buf[1] = HX_SDP_VIDEO;
    assert_int_equal(hx_relay_desc_decode(buf, (size_t)n, &back), 0);
    /* a mid's length byte past its field: 64 or more */
    buf[2] = 200;
    assert_int_equal(hx_relay_desc_decode(buf, (size_t)n, &back), -1);
    d.n_layers = 0;
    n = hx_relay_desc_encode(&d, buf, sizeof buf);
    assert_int_equal(hx_relay_desc_decode(buf, (size_t)n, &back), -1);
}

static void frames(void **state)
{
    (void)state;
    uint8_t buf[256];
    long n = hx_relay_frame_head(buf, sizeof buf, HX_RELAY_MEDIA, "TR_ab", 5, 2);
    assert_int_equal(n, HX_RELAY_HEAD + 5);
    uint8_t rtp[12] = {0x80, 96, 0, 1, 0, 0, 0, 9, 0, 0, 0, 7};
    memcpy(buf + n, rtp, sizeof rtp);
    hx_relay_frame f;
    assert_int_equal(hx_relay_frame_parse(buf, (size_t)n + sizeof rtp, &f), 0);
    assert_int_equal(f.type, HX_RELAY_MEDIA);
    assert_int_equal(f.arg, 2);
    assert_int_equal(f.id_len, 5);
    assert_memory_equal(f.id, "TR_ab", 5);
    assert_int_equal(f.payload_len, 12);
    assert_ptr_equal(f.payload, buf + n);
    for (long cut = 0; cut < n + 12; cut++) /* a MEDIA frame needs a whole RTP header */
        assert_int_equal(hx_relay_frame_parse(buf, (size_t)cut, &f), -1);
    n = hx_relay_frame_sr(buf, sizeof buf, "TR_ab", 1, 0x0102030405060708ull, 0xa0b0c0d0u);
    assert_int_equal(hx_relay_frame_parse(buf, (size_t)n, &f), 0);
    assert_int_equal(f.type, HX_RELAY_SR);
    assert_true(f.ntp == 0x0102030405060708ull);
    assert_int_equal(f.rtp, 0xa0b0c0d0u);
    assert_int_equal(hx_relay_frame_parse(buf, (size_t)n - 1, &f), -1);
    n = hx_relay_frame_head(buf, sizeof buf, HX_RELAY_KEYFRAME, "TR_ab", 5, 255);
    assert_int_equal(hx_relay_frame_parse(buf, (size_t)n, &f), 0);
    assert_int_equal(f.arg, 255);
    n = hx_relay_frame_head(buf, sizeof buf, HX_RELAY_NACK, "TR_ab", 5, 0);
    memcpy(buf + n, "\x00\x05\x00\x07", 4);
    assert_int_equal(hx_relay_frame_parse(buf, (size_t)n + 4, &f), 0);
    assert_int_equal(f.payload_len, 4);
    assert_int_equal(hx_relay_frame_parse(buf, (size_t)n + 3, &f), -1); /* half a number */
    assert_int_equal(hx_relay_frame_parse(buf, (size_t)n, &f), -1);     /* none */
    assert_int_equal(hx_relay_frame_parse(buf, (size_t)n + 2 * HX_RELAY_MAX_NACKS + 2, &f), -1);
    n = hx_relay_frame_head(buf, sizeof buf, HX_RELAY_KEYFRAME, "TR_ab", 5, 255);
    buf[n] = 1; /* a keyframe request carries nothing */
    assert_int_equal(hx_relay_frame_parse(buf, (size_t)n + 1, &f), -1);
    n = hx_relay_frame_head(buf, sizeof buf, HX_RELAY_DATA, "hall", 4,
                            HX_RELAY_DATA_BINARY | HX_RELAY_DATA_MORE);
    memcpy(buf + n, "\0\0\0\x07\0\x02PA_x\nhi", 13); /* message 7, fragment 2 */
    assert_int_equal(hx_relay_frame_parse(buf, (size_t)n + 13, &f), 0);
    assert_int_equal(f.data_seq, 7);
    assert_int_equal(f.frag, 2);
    assert_int_equal(f.payload_len, 7);
    assert_memory_equal(f.payload, "PA_x\nhi", 7);
    assert_int_equal(hx_relay_frame_parse(buf, (size_t)n + 6, &f), -1); /* no fragment */
    buf[3] = 4;                                                         /* an unknown flag */
    assert_int_equal(hx_relay_frame_parse(buf, (size_t)n + 13, &f), -1);
    buf[3] = 0;
    buf[0] = 0x80; /* RTP, not a relay frame */
    assert_int_equal(hx_relay_frame_parse(buf, (size_t)n + 13, &f), -1);
    buf[0] = HX_RELAY_BYTE;
    buf[1] = 9; /* an unknown type */
    assert_int_equal(hx_relay_frame_parse(buf, (size_t)n + 13, &f), -1);
    assert_int_equal(hx_relay_frame_head(buf, sizeof buf, HX_RELAY_MEDIA, "", 0, 0), -1);
    assert_int_equal(hx_relay_frame_head(buf, 6, HX_RELAY_MEDIA, "TR_ab", 5, 0), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(description_round_trip),
        cmocka_unit_test(descriptions_refused),
        cmocka_unit_test(frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
