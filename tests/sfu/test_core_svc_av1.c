/*
 * AV1 SVC (src/sfu/svc.c) through the engine fixture: Chromium's offer with AV1 first and the
 * dependency descriptor, pictures of three spatial layers in one stream, one packet per layer
 * frame, each with its descriptor (tests/support/dd_writer: the L3T3 structure on keyframes, in
 * a two-byte extension element). The answer keeps the extension; a subscriber is offered it
 * (and extmap-allow-mixed) and gets it on every packet as the publisher sent it. By default it
 * gets every layer; asked for q, spatial layer 0 alone from the next picture, each packet ending
 * its picture with the marker, sequence numbers without a gap; asked for f it climbs only at a
 * keyframe, which a PLI asks for. Sizes come from the structure's resolutions.
 */
#include "support/dd_writer.h"
#include "support/engine_cmocka.h"

#include "rtp/dd.h"
#include "rtp/rtcp.h"

#include <stdio.h>
#include <string.h>

#define AV1_PT 45
#define VIDEO_SSRC FX_CHROMIUM_VIDEO_SSRC

static const char *av1_offer(void)
{
    const char *sdp = fx_sdp_av1_offer(HX_SOURCE_DIR);
    assert_non_null(sdp);
    return sdp;
}

/* One layer frame of picture `pic` in one packet: an AV1 payload of 40 + sid bytes (so a
 * subscriber's packets tell their layer by size) and its dependency descriptor. */
static void send_sid(fx_peer *pub, uint16_t seq, uint16_t pic, int sid, bool key)
{
    uint8_t pl[64], dd[255], pkt[512];
    memset(pl, 0, sizeof pl);
    pl[0] = (uint8_t)(0x10 | (key && sid == 0 ? 0x08 : 0)); /* W=1, N on the keyframe */
    ddw_args a = {.start = true,
                  .end = true,
                  .frame_number = (uint16_t)(pic * 3 + sid),
                  .template_index = key && sid == 0 ? 0 : ddw_template(sid, 0),
                  .structure = key && sid == 0,
                  .sizes = true};
    size_t dn = ddw_write(dd, sizeof dd, &a);
    assert_true(dn > 0);
    hx_rtp_ext x = {.id = FX_DD_ID, .len = (uint8_t)dn, .val = dd};
    hx_rtp_build_args b = {.marker = sid == 2,
                           .pt = AV1_PT,
                           .seq = seq,
                           .ts = 3000u * pic,
                           .ssrc = VIDEO_SSRC,
                           .ext = &x,
                           .n_ext = 1,
                           .payload = pl,
                           .payload_len = 40 + (size_t)sid};
    long len = hx_rtp_build(pkt, sizeof pkt, &b);
    assert_true(len > 0);
    assert_int_equal(fx_send_rtp(pub, pkt, (size_t)len), 0);
}

static void send_picture(fx_peer *pub, uint16_t *seq, uint16_t pic, bool key)
{
    for (int s = 0; s < 3; s++)
        send_sid(pub, (*seq)++, pic, s, key);
}

/* The nth packet the subscriber got carries the descriptor (id 4, its offer's) of spatial
 * layer sid, as the publisher wrote it. */
static void has_dd(const fx_peer *sub, uint32_t ssrc, size_t nth, int sid)
{
    size_t len;
    const uint8_t *p = fx_rtp_data_of(sub, ssrc, nth, &len);
    assert_non_null(p);
    hx_rtp_hdr h;
    assert_int_equal(hx_rtp_parse(p, len, &h), HX_RTP_OK);
    hx_rtp_ext x;
    assert_int_equal(hx_rtp_ext_find(p, &h, 4, &x), HX_RTP_OK);
    hx_dd_frame fr;
    static hx_dd_structure s;
    int rc = hx_dd_parse(x.val, x.len, &s, &s, &fr);
    assert_int_equal(rc, HX_RTP_OK);
    assert_int_equal(fr.sid, sid);
}

static void test_av1_svc(void **state)
{
    fx *f = *state;
    fx_peer *pub = fx_publisher(f, 2, "r", "p_alice", av1_offer());
    if (!pub) fail_msg("publisher: %s", f->err);
    char track[64];
    snprintf(track, sizeof track, "%s", fx_track_id(f, 2, 1));
    uint16_t seq = 1000, pic = 1;
    send_picture(pub, &seq, pic++, true);
    uint32_t ssrc;
    fx_peer *sub = fx_subscribed(f, 5, "p_bob", track, &ssrc);
    send_picture(pub, &seq, pic++, false); /* before a keyframe: nothing */
    send_picture(pub, &seq, pic++, true);
    send_picture(pub, &seq, pic++, false);
    hx_rtp_hdr h[32];
    assert_int_equal(fx_rtp_of(sub, ssrc, h, 32), 6);
    for (int i = 0; i < 6; i++) {
        assert_int_equal(h[i].marker, i % 3 == 2);
        if (i) assert_int_equal((uint16_t)(h[i].seq - h[i - 1].seq), 1);
        has_dd(sub, ssrc, (size_t)i, i % 3);
    }
    uint16_t last = h[5].seq;
    fx_receiving_is(f, 5, "f", "1280x720");
    /* q: spatial layer 0 alone from the next picture. */
    fx_rx_clear(sub);
    fx_rx_clear(pub);
    fx_track_cmd(f, HX_SFU_SET_LAYER, 5, track, "q");
    fx_advance(f, 20);
    for (int i = 0; i < 3; i++)
        send_picture(pub, &seq, pic++, false);
    assert_int_equal(fx_rtp_of(sub, ssrc, h, 32), 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(h[i].payload_len, 40);
        assert_true(h[i].marker);
        assert_int_equal((uint16_t)(h[i].seq - last), 1);
        last = h[i].seq;
        has_dd(sub, ssrc, (size_t)i, 0);
    }
    assert_int_equal(fx_rtcp_count(pub, HX_RTCP_PSFB, HX_RTCP_FMT_PLI), 0);
    fx_receiving_is(f, 5, "q", "320x180");
    /* f: a keyframe asked for; layer 0 until it comes, then all three. */
    fx_rx_clear(sub);
    fx_track_cmd(f, HX_SFU_SET_LAYER, 5, track, "f");
    fx_advance(f, 600);
    assert_int_equal(fx_rtcp_count(pub, HX_RTCP_PSFB, HX_RTCP_FMT_PLI), 1);
    send_picture(pub, &seq, pic++, false);
    assert_int_equal(fx_rtp_of(sub, ssrc, h, 32), 1);
    send_picture(pub, &seq, pic++, true);
    assert_int_equal(fx_rtp_of(sub, ssrc, h, 32), 4);
    for (int i = 1; i < 4; i++) {
        assert_int_equal(h[i].payload_len, 40 + i - 1);
        assert_int_equal(h[i].marker, i == 3);
        assert_int_equal((uint16_t)(h[i].seq - h[i - 1].seq), 1);
    }
    fx_receiving_is(f, 5, "f", "1280x720");
    /* A size picks the smallest layer at least that large. */
    fx_size_cmd(f, 5, track, "600x300");
    send_picture(pub, &seq, pic++, false);
    fx_receiving_is(f, 5, "h", "640x360");
}

/* Packets whose descriptor cannot be read (none yet, or cut) are forwarded as a plain stream
 * would be, and a track without the extension negotiated is no SVC track at all. */
static void test_av1_without_dd(void **state)
{
    fx *f = *state;
    char *offer = strdup(av1_offer());
    char *line = strstr(offer, "a=extmap:" FX_DD_ID_STR " ");
    assert_non_null(line);
    memcpy(line, "a=x-none", 8); /* no longer an extmap line */
    fx_peer *pub = fx_publisher(f, 2, "r", "p_alice", offer);
    free(offer);
    if (!pub) fail_msg("publisher: %s", f->err);
    char track[64];
    snprintf(track, sizeof track, "%s", fx_track_id(f, 2, 1));
    uint16_t seq = 1, pic = 1;
    uint32_t ssrc;
    fx_peer *sub = fx_subscribed(f, 5, "p_bob", track, &ssrc);
    fx_track_cmd(f, HX_SFU_SET_LAYER, 5, track, "q");
    send_picture(pub, &seq, pic++, true); /* the N bit starts the keyframe */
    send_picture(pub, &seq, pic++, false);
    hx_rtp_hdr h[16];
    assert_int_equal(fx_rtp_of(sub, ssrc, h, 16), 6); /* every layer: no SVC without the DD */
    size_t len;
    const uint8_t *p = fx_rtp_data_of(sub, ssrc, 0, &len);
    hx_rtp_hdr g;
    hx_rtp_ext x;
    assert_int_equal(hx_rtp_parse(p, len, &g), HX_RTP_OK);
    assert_int_not_equal(hx_rtp_ext_find(p, &g, 4, &x), HX_RTP_OK); /* nor the extension */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_av1_svc, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_av1_without_dd, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
