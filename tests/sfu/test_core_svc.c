/*
 * VP9 SVC (src/sfu/svc.c) through the engine fixture: Chromium's offer with VP9 first, pictures
 * of three spatial layers in one stream (one packet per layer frame, the marker on the top one,
 * the scalability structure on keyframes). A subscriber gets every layer by default; asked for
 * q it gets only spatial layer 0 from the next picture, each packet ending its picture with the
 * marker and sequence numbers without a gap; asked for f it climbs only at a keyframe (and a PLI
 * asks for one); asked for h it gets layers 0 and 1. Each change of what it receives is an
 * EV_RECEIVING naming the spatial layer and its size from the scalability structure, and a size
 * asked for picks the smallest spatial layer at least that large.
 */
#include "support/engine_cmocka.h"

#include "rtp/rtcp.h"

#include <stdio.h>
#include <string.h>

#define VP9_PT 98
#define VIDEO_SSRC FX_CHROMIUM_VIDEO_SSRC

static const char *vp9_offer(void)
{
    const char *sdp = fx_sdp_vp9_offer(HX_SOURCE_DIR);
    assert_non_null(sdp);
    return sdp;
}

/* One layer frame of picture `pic` in one packet: payload 40 + sid bytes, so a subscriber's
 * packets tell their layer by size. */
static void send_sid(fx_peer *pub, uint16_t seq, uint16_t pic, int sid, bool key)
{
    uint8_t pl[64], pkt[128];
    size_t n = 0;
    pl[n++] = (uint8_t)(0x80 | (key ? 0 : 0x40) | 0x20 | 0x08 | 0x04 | (key && sid == 0 ? 2 : 0));
    pl[n++] = (uint8_t)(0x80 | pic >> 8); /* I: a 15-bit picture id */
    pl[n++] = (uint8_t)pic;
    pl[n++] = (uint8_t)(sid << 1 | (sid > 0)); /* TID 0, SID, D for the upper layers */
    pl[n++] = (uint8_t)pic;                    /* TL0PICIDX */
    if (key && sid == 0) {                     /* SS: three layers with their sizes */
        pl[n++] = 2 << 5 | 0x10;
        for (int s = 0; s < 3; s++) {
            uint16_t w = (uint16_t)(320 << s), h = (uint16_t)(180 << s);
            pl[n++] = (uint8_t)(w >> 8), pl[n++] = (uint8_t)w;
            pl[n++] = (uint8_t)(h >> 8), pl[n++] = (uint8_t)h;
        }
    }
    memset(pl + n, 0xab, 40 + (size_t)sid - n);
    n = 40 + (size_t)sid;
    size_t len = fx_rtp(pkt, VP9_PT, seq, 3000u * pic, VIDEO_SSRC, sid == 2, pl, n);
    assert_int_equal(fx_send_rtp(pub, pkt, len), 0);
}

/* A picture of three spatial layers. */
static void send_picture(fx_peer *pub, uint16_t *seq, uint16_t pic, bool key)
{
    for (int s = 0; s < 3; s++)
        send_sid(pub, (*seq)++, pic, s, key);
}

static int plis(const fx_peer *p)
{
    return fx_rtcp_count(p, HX_RTCP_PSFB, HX_RTCP_FMT_PLI);
}

static void test_svc_layers(void **state)
{
    fx *f = *state;
    fx_peer *pub = fx_publisher(f, 2, "r", "p_alice", vp9_offer());
    if (!pub) fail_msg("publisher: %s", f->err);
    char track[64];
    snprintf(track, sizeof track, "%s", fx_track_id(f, 2, 1));
    uint16_t seq = 1000, pic = 1;
    send_picture(pub, &seq, pic++, true);
    uint32_t ssrc;
    fx_peer *sub = fx_subscribed(f, 5, "p_bob", track, &ssrc);
    /* By default: every layer from a keyframe on, the marker where the publisher put it. */
    send_picture(pub, &seq, pic++, false); /* before a keyframe: nothing */
    send_picture(pub, &seq, pic++, true);
    send_picture(pub, &seq, pic++, false);
    hx_rtp_hdr h[32];
    assert_int_equal(fx_rtp_of(sub, ssrc, h, 32), 6);
    for (int i = 0; i < 6; i++) {
        assert_int_equal(h[i].marker, i % 3 == 2);
        if (i) assert_int_equal((uint16_t)(h[i].seq - h[i - 1].seq), 1);
    }
    uint16_t last = h[5].seq;
    fx_receiving_is(f, 5, "f", "1280x720");
    /* q: spatial layer 0 alone from the next picture, no keyframe needed, none asked for. */
    fx_rx_clear(sub);
    fx_rx_clear(pub);
    fx_track_cmd(f, HX_SFU_SET_LAYER, 5, track, "q");
    fx_advance(f, 20);
    for (int i = 0; i < 3; i++)
        send_picture(pub, &seq, pic++, false);
    assert_int_equal(fx_rtp_of(sub, ssrc, h, 32), 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(h[i].payload_len, 40); /* layer 0 */
        assert_true(h[i].marker);               /* ends the picture for this subscriber */
        assert_int_equal((uint16_t)(h[i].seq - last), 1);
        last = h[i].seq;
    }
    assert_int_equal(plis(pub), 0);
    fx_receiving_is(f, 5, "q", "320x180");
    /* f: asks the publisher for a keyframe; stays at layer 0 until it comes. */
    fx_rx_clear(sub);
    fx_track_cmd(f, HX_SFU_SET_LAYER, 5, track, "f");
    fx_advance(f, 600);
    assert_int_equal(plis(pub), 1);
    send_picture(pub, &seq, pic++, false);
    assert_int_equal(fx_rtp_of(sub, ssrc, h, 32), 1);
    send_picture(pub, &seq, pic++, true);
    send_picture(pub, &seq, pic++, false);
    assert_int_equal(fx_rtp_of(sub, ssrc, h, 32), 7);
    for (int i = 1; i < 7; i++) {
        assert_int_equal(h[i].payload_len, 40 + (i - 1) % 3);
        assert_int_equal(h[i].marker, (i - 1) % 3 == 2);
        assert_int_equal((uint16_t)(h[i].seq - h[i - 1].seq), 1);
    }
    /* h: layers 0 and 1, the marker on 1. */
    fx_rx_clear(sub);
    fx_track_cmd(f, HX_SFU_SET_LAYER, 5, track, "h");
    fx_advance(f, 20);
    send_picture(pub, &seq, pic++, false);
    assert_int_equal(fx_rtp_of(sub, ssrc, h, 32), 2);
    assert_int_equal(h[0].payload_len, 40);
    assert_false(h[0].marker);
    assert_int_equal(h[1].payload_len, 41);
    assert_true(h[1].marker);
    fx_receiving_is(f, 5, "h", "640x360");
    /* A size: the smallest spatial layer at least that large (400x200: h), none larger: f. */
    fx_clear_events(f);
    fx_size_cmd(f, 5, track, "400x200");
    send_picture(pub, &seq, pic++, false);
    assert_int_equal(fx_count(f, HX_SFU_EV_RECEIVING, 5), 0); /* h already */
    fx_size_cmd(f, 5, track, "300x100");
    send_picture(pub, &seq, pic++, false);
    fx_receiving_is(f, 5, "q", "320x180");
    fx_size_cmd(f, 5, track, "4000x3000");
    fx_advance(f, 600);
    send_picture(pub, &seq, pic++, true);
    fx_receiving_is(f, 5, "f", "1280x720");
    fx_track_cmd(f, HX_SFU_SET_LAYER, 5, track, "h");
    send_picture(pub, &seq, pic++, false);
    /* A name that is no layer changes nothing. */
    fx_rx_clear(sub);
    fx_track_cmd(f, HX_SFU_SET_LAYER, 5, track, "x");
    fx_advance(f, 20);
    send_picture(pub, &seq, pic++, false);
    assert_int_equal(fx_rtp_of(sub, ssrc, h, 32), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_svc_layers, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
