/*
 * The engine core's simulcast layer switching and transport-wide congestion
 * feedback, through the engine fixture (tests/support/engine_fixture.h):
 * Chromium's simulcast offer (three layers q, h, f named only by the mid and
 * rid header extensions, as Chromium sends them) forwarded to a subscriber
 * who gets the best layer, asks for another, and is switched at that
 * layer's key frame with sequence numbers continuous (EV_RECEIVING says so);
 * and transport-cc feedback to a publisher, with a lost packet reported as
 * lost.
 */
#include "support/engine_cmocka.h"

#include "rtp/rtcp.h"

#include <stdio.h>
#include <string.h>

#define EXT_TWCC 3 /* the fixtures' extmap ids */
#define EXT_MID 4
#define EXT_RID 10
#define VP8_PT 96
#define OPUS_PT 111
#define AUDIO_SSRC 200015246u                                   /* chromium_pub.sdp */
static const uint32_t layer_ssrc[3] = {0x1001, 0x1002, 0x1003}; /* q, h, f: learned from rids */
static const char *const rid[3] = {"q", "h", "f"};

static const uint8_t vp8_key[] = {0x10, 0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01};
static const uint8_t vp8_delta[] = {0x10, 0x01, 0x00, 0x00, 1, 2, 3, 4, 5, 6};

/* A frame on layer l: its mid and rid extensions, as Chromium sends simulcast. */
static void send_layer(fx_peer *pub, int l, uint16_t seq, uint32_t ts, bool key)
{
    uint8_t pkt[256];
    fx_ext ext[2] = {fx_ext_str(EXT_MID, "1"), fx_ext_str(EXT_RID, rid[l])};
    size_t n = fx_rtp_ext(pkt, VP8_PT, seq, ts, layer_ssrc[l], true, ext, 2,
                          key ? vp8_key : vp8_delta, key ? sizeof vp8_key : sizeof vp8_delta);
    assert_int_equal(fx_send_rtp(pub, pkt, n), 0);
}

/* PLIs the publisher received for one SSRC. */
static int plis_for(const fx_peer *p, uint32_t ssrc)
{
    fx_rtcp_cursor c = {0};
    hx_rtcp_pkt k;
    hx_rtcp_fb fb;
    int n = 0;
    while (fx_rtcp_next(p, &c, HX_RTCP_PSFB, HX_RTCP_FMT_PLI, &k))
        n += hx_rtcp_fb_parse(&k, &fb) == 0 && fb.media_ssrc == ssrc;
    return n;
}

static void test_simulcast_switch(void **state)
{
    fx *f = *state;
    fx_peer *pub = fx_publisher(f, 2, "r", "p_sim", fx_fixture("chromium_pub_simulcast.sdp"));
    if (!pub) fail_msg("publisher: %s", f->err);
    const char *video = fx_track_id(f, 2, 1);
    assert_non_null(video);
    char track[64];
    snprintf(track, sizeof track, "%s", video);
    /* Every layer sends a key frame: the SSRCs are learned from mid + rid. */
    for (int l = 0; l < 3; l++)
        send_layer(pub, l, (uint16_t)(100 * (l + 1)), 9000, true);
    uint32_t ssrc;
    fx_peer *sub = fx_subscribed(f, 5, "p_bob", track, &ssrc);
    /* The best layer (f) from its next key frame; q and h are not forwarded. */
    uint16_t seq[3] = {101, 201, 301};
    uint32_t ts = 12000;
    for (int l = 0; l < 3; l++)
        send_layer(pub, l, seq[l]++, ts, true);
    for (int i = 0; i < 3; i++, ts += 3000)
        for (int l = 0; l < 3; l++)
            send_layer(pub, l, seq[l]++, ts, false);
    hx_rtp_hdr h[32];
    assert_int_equal(fx_rtp_of(sub, ssrc, h, 32), 4);
    assert_int_equal(h[0].payload_len, sizeof vp8_key); /* f's key frame, then f's deltas */
    uint16_t last_seq = h[3].seq;
    uint32_t last_ts = h[3].ts;
    /* The subscriber asks for q: a PLI for q's SSRC (within the 500 ms limit); f goes on until
     * q's key frame. */
    fx_rx_clear(pub);
    fx_rx_clear(sub);
    fx_track_cmd(f, HX_SFU_SET_LAYER, 5, track, "q");
    fx_advance(f, 500);
    assert_int_equal(plis_for(pub, layer_ssrc[0]), 1); /* (a held request for f may ride along) */
    fx_rx_clear(sub);
    send_layer(pub, 2, seq[2]++, ts, false); /* f: still forwarded */
    send_layer(pub, 0, seq[0]++, ts, false); /* q delta: not yet */
    assert_int_equal(fx_rtp_of(sub, ssrc, h, 32), 1);
    ts += 3000;
    send_layer(pub, 0, seq[0]++, ts, true);  /* q's key frame: the switch */
    send_layer(pub, 2, seq[2]++, ts, false); /* f: no longer */
    ts += 3000;
    send_layer(pub, 0, seq[0]++, ts, false);
    assert_int_equal(fx_rtp_of(sub, ssrc, h, 32), 3);
    /* One stream for the subscriber: its SSRC, sequence numbers without a gap or a repeat. */
    assert_int_equal((uint16_t)(h[0].seq - last_seq), 1);
    assert_int_equal((uint16_t)(h[1].seq - h[0].seq), 1);
    assert_int_equal((uint16_t)(h[2].seq - h[1].seq), 1);
    assert_true(h[1].ts - last_ts > 0 && h[1].ts - last_ts < 90000); /* timestamps move on */
    assert_int_equal(h[1].payload_len, sizeof vp8_key);
    /* The control plane hears it: q, the size its keyframe carries, not limited. */
    const hx_sfu_msg *m = fx_event(f, HX_SFU_EV_RECEIVING, 5, -1);
    assert_non_null(m);
    assert_string_equal(fx_field(m, HX_SFU_T_LAYER), "q");
    assert_string_equal(fx_field(m, HX_SFU_T_SIZE), "640x480");
    assert_int_equal(m->flags, 0);
    /* q stops sending: after 1 s without it the subscriber falls back to what still sends. */
    fx_rx_clear(sub);
    fx_advance(f, 1100);
    send_layer(pub, 1, seq[1]++, ts + 3000, true);
    send_layer(pub, 1, seq[1]++, ts + 6000, false);
    assert_int_equal(fx_rtp_of(sub, ssrc, h, 32), 2);
    assert_int_equal(hx_engine_core_check(f->core), 0);
}

static void send_twcc_audio(fx_peer *pub, uint16_t seq, uint16_t twcc)
{
    uint8_t pkt[256];
    static const uint8_t opus[] = {0xfc, 0xff, 0xfe, 1, 2, 3};
    fx_ext ext = {.id = EXT_TWCC, .len = 2, .data = {(uint8_t)(twcc >> 8), (uint8_t)twcc}};
    size_t n =
        fx_rtp_ext(pkt, OPUS_PT, seq, 960u * seq, AUDIO_SSRC, false, &ext, 1, opus, sizeof opus);
    assert_int_equal(fx_send_rtp(pub, pkt, n), 0);
}

static void test_twcc_feedback(void **state)
{
    fx *f = *state;
    fx_peer *pub = fx_publisher(f, 2, "r", "p_alice", fx_fixture("chromium_pub.sdp"));
    if (!pub) fail_msg("publisher: %s", f->err);
    fx_rx_clear(pub);
    /* Transport-wide sequence numbers 1, 2, 3, 5 (4 lost), 5 ms apart. */
    static const uint16_t tw[] = {1, 2, 3, 5};
    for (int i = 0; i < 4; i++) {
        send_twcc_audio(pub, (uint16_t)(10 + i), tw[i]);
        f->now += 5;
    }
    fx_advance(f, 60);
    assert_int_equal(fx_rtcp_count(pub, HX_RTCP_RTPFB, HX_RTCP_FMT_TWCC), 1);
    hx_twcc_status st[16];
    hx_twcc_fb fb;
    int found = 0;
    fx_rtcp_cursor c = {0};
    hx_rtcp_pkt k;
    while (fx_rtcp_next(pub, &c, HX_RTCP_RTPFB, HX_RTCP_FMT_TWCC, &k)) {
        assert_int_equal(hx_rtcp_twcc_parse(&k, &fb, st, 16), 0);
        found++;
    }
    assert_int_equal(found, 1);
    assert_int_equal(fb.base_seq, 1);
    assert_int_equal(fb.status_count, 5);
    assert_int_equal(fb.media_ssrc, AUDIO_SSRC);
    for (int i = 0; i < 5; i++)
        assert_int_equal(st[i].status == HX_TWCC_NOT_RECEIVED, i == 3); /* 4 lost */
    assert_int_equal(st[1].delta, 20);                                  /* 5 ms in 250 us ticks */
    /* Nothing new: no more feedback. */
    fx_rx_clear(pub);
    fx_advance(f, 500);
    assert_int_equal(fx_rtcp_count(pub, HX_RTCP_RTPFB, HX_RTCP_FMT_TWCC), 0);
    /* The next packets: feedback from where the last ended, within 50 ms. */
    send_twcc_audio(pub, 20, 6);
    fx_advance(f, 50);
    assert_int_equal(fx_rtcp_count(pub, HX_RTCP_RTPFB, HX_RTCP_FMT_TWCC), 1);
}

/* A frame on layer l whose VP8 descriptor carries a 15-bit picture id (I, M) and TL0PICIDX. */
static void send_pid(fx_peer *pub, int l, uint16_t seq, uint32_t ts, bool key, uint16_t pid)
{
    uint8_t pl[32] = {0x90, 0xc0, (uint8_t)(0x80 | pid >> 8), (uint8_t)pid, (uint8_t)pid};
    static const uint8_t key_hdr[] = {0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01};
    static const uint8_t delta_hdr[] = {0x01, 0x00, 0x00, 1, 2, 3, 4, 5, 6, 7};
    memcpy(pl + 5, key ? key_hdr : delta_hdr, sizeof key_hdr);
    uint8_t pkt[256];
    fx_ext ext[2] = {fx_ext_str(EXT_MID, "1"), fx_ext_str(EXT_RID, rid[l])};
    size_t n =
        fx_rtp_ext(pkt, VP8_PT, seq, ts, layer_ssrc[l], true, ext, 2, pl, 5 + sizeof key_hdr);
    assert_int_equal(fx_send_rtp(pub, pkt, n), 0);
}

/* The picture id in a received packet's VP8 descriptor; RTX (osn 2): after the original seq. */
static uint16_t pid_of(const fx_peer *p, size_t i, const hx_rtp_hdr *h, size_t osn)
{
    const uint8_t *d = p->rx[i].data + h->payload_offset + osn;
    return (uint16_t)((d[2] & 0x7f) << 8 | d[3]);
}

/* A retransmission after a switch carries the picture id the subscriber got (the rewritten
 * one), and nothing sent before the switch is resent. */
static void test_switch_then_rtx(void **state)
{
    fx *f = *state;
    fx_peer *pub = fx_publisher(f, 2, "r", "p_sim", fx_fixture("chromium_pub_simulcast.sdp"));
    if (!pub) fail_msg("publisher: %s", f->err);
    char track[64];
    snprintf(track, sizeof track, "%s", fx_track_id(f, 2, 1));
    for (int l = 0; l < 3; l++)
        send_pid(pub, l, (uint16_t)(100 * (l + 1)), 9000, true, (uint16_t)(1000 * (l + 1)));
    uint32_t ssrc;
    fx_peer *sub = fx_subscribed(f, 5, "p_bob", track, &ssrc);
    uint32_t rtx = fx_offer_ssrc(sub, "0", true);
    assert_true(rtx != 0);
    send_pid(pub, 2, 301, 12000, true, 3001); /* f, the best layer */
    send_pid(pub, 2, 302, 15000, false, 3002);
    hx_rtp_hdr h[8];
    assert_int_equal(fx_rtp_of(sub, ssrc, h, 8), 2);
    uint16_t f_seq = h[1].seq;
    fx_track_cmd(f, HX_SFU_SET_LAYER, 5, track, "q");
    fx_advance(f, 20);
    fx_rx_clear(sub);
    send_pid(pub, 0, 101, 18000, true, 1001); /* q's keyframe: the switch */
    assert_int_equal(fx_rtp_of(sub, ssrc, h, 8), 1);
    uint16_t q_seq = h[0].seq, q_pid = pid_of(sub, 0, &h[0], 0);
    assert_int_equal(q_pid, 3003); /* continues f's numbering */
    uint8_t nack[64];
    for (int k = 0; k < 2; k++) {
        fx_rx_clear(sub);
        uint16_t seq = k ? f_seq : q_seq;
        long n = hx_rtcp_nack_build(nack, sizeof nack, 0x1234, ssrc, &seq, 1);
        assert_int_equal(fx_send_rtcp(sub, nack, (size_t)n), 0);
        if (k) { /* f's packet, from before the switch: not resent */
            assert_int_equal(fx_rtp_of(sub, rtx, h, 8), 0);
            continue;
        }
        assert_int_equal(fx_rtp_of(sub, rtx, h, 8), 1);
        assert_int_equal(pid_of(sub, 0, &h[0], 2), q_pid);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_simulcast_switch, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_twcc_feedback, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_switch_then_rtx, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
