/*
 * The engine core without its carrier (sfu/core.h), through the engine
 * fixture (tests/support/engine_fixture.h): real negotiation with Chromium's
 * publisher offer (tests/sdp/fixtures), real ICE checks, DTLS handshakes and
 * SRTP, a clock the test moves. What the core sends a peer is decrypted and
 * checked: forwarding (SSRC, payload type, sequence continuity), keyframe
 * waits and PLI, NACK answered with RTX, the PLI rate limit, FIR, the 1 s
 * reports (RR + REMB to publishers, SR to subscribers), transport-cc
 * feedback, consent loss, offer timeouts, ICE-TCP paths; per-transport state
 * that comes only with the traffic that needs it (the transport-cc ring,
 * a video consumer's NACK map). Invariants (hx_engine_core_check) after
 * every step.
 */
#include "support/engine_fixture.h"

#include "sfu/engine_internal.h"

#include "rtp/rtcp.h"
#include "rtp/rtp.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define AUDIO_SSRC 200015246u /* chromium_pub.sdp */
#define VIDEO_SSRC 2467563263u
#define VIDEO_RTX_SSRC 1006924124u
#define VP8_RTX_PT 97 /* chromium_pub.sdp: apt=96 */
#define OPUS_PT 111
#define VP8_PT 96
#define TWCC_EXT_ID 3 /* chromium_pub.sdp's transport-cc extmap */

static const char *read_fixture(const char *name)
{
    const char *text = fx_sdp_fixture(HX_SOURCE_DIR, name);
    assert_non_null(text);
    return text;
}

typedef struct world {
    fx f;
    fx_peer *pub, *sub;
    char audio[64], video[64]; /* track ids */
} world;

static void checked(world *w)
{
    assert_int_equal(hx_engine_core_check(w->f.core), 0);
}

static int setup(void **state)
{
    world *w = calloc(1, sizeof *w);
    if (fx_init(&w->f, NULL) != 0) {
        fprintf(stderr, "fixture: %s\n", w->f.err);
        return -1;
    }
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    checked(w);
    fx_free(&w->f);
    free(w);
    return 0;
}

/* Alice publishes Chromium's audio + video; Bob subscribes to `what` ("audio", "video", both). */
static void alice_and_bob(world *w, bool audio, bool video)
{
    fx *f = &w->f;
    w->pub = fx_publisher(f, 2, "lobby", "p_alice", read_fixture("chromium_pub.sdp"));
    if (!w->pub) fail_msg("publisher: %s", f->err);
    assert_int_equal(fx_count(f, HX_SFU_EV_TRACK_PUBLISHED, 2), 2);
    snprintf(w->audio, sizeof w->audio, "%s", fx_track_id(f, 2, 0));
    snprintf(w->video, sizeof w->video, "%s", fx_track_id(f, 2, 1));
    assert_true(hx_sfu_field_is(fx_event(f, HX_SFU_EV_STATE, 2, -1), HX_SFU_T_STATE, "connected"));
    w->sub = fx_subscriber(f, 5, "lobby", "p_bob");
    if (!w->sub) fail_msg("subscriber: %s", f->err);
    if (audio) fx_track_cmd(f, HX_SFU_SUBSCRIBE, 5, w->audio, NULL);
    if (video) fx_track_cmd(f, HX_SFU_SUBSCRIBE, 5, w->video, NULL);
    fx_advance(f, 20);
    if (fx_answer(w->sub) != 0) fail_msg("answer: %s", f->err);
    fx_advance(f, 20);
    checked(w);
    fx_rx_clear(w->pub);
    fx_rx_clear(w->sub);
}

static const uint8_t opus[] = {0xfc, 0xff, 0xfe, 1, 2, 3, 4, 5, 6, 7, 8, 9};
/* VP8 (RFC 7741): descriptor S=1 PID 0, then a key frame's header (P = 0) or a delta (P = 1). */
static const uint8_t vp8_key[] = {0x10, 0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01};
static const uint8_t vp8_delta[] = {0x10, 0x01, 0x00, 0x00, 1, 2, 3, 4, 5, 6};

static void send_audio(world *w, uint16_t seq, uint32_t ts)
{
    uint8_t pkt[256];
    size_t n = fx_rtp(pkt, OPUS_PT, seq, ts, AUDIO_SSRC, false, opus, sizeof opus);
    assert_int_equal(fx_send_rtp(w->pub, pkt, n), 0);
}

static void send_video(world *w, uint16_t seq, uint32_t ts, bool key)
{
    uint8_t pkt[256];
    size_t n = key ? fx_rtp(pkt, VP8_PT, seq, ts, VIDEO_SSRC, true, vp8_key, sizeof vp8_key)
                   : fx_rtp(pkt, VP8_PT, seq, ts, VIDEO_SSRC, true, vp8_delta, sizeof vp8_delta);
    assert_int_equal(fx_send_rtp(w->pub, pkt, n), 0);
}

/* An audio packet with the RFC 6464 level extension (chromium_pub.sdp's id 1). */
static void send_level(fx_peer *p, uint16_t seq, uint32_t ts, uint8_t level)
{
    uint8_t pkt[256];
    fx_ext x = {.id = 1, .len = 1, .data = {(uint8_t)(0x80 | level)}};
    size_t n = fx_rtp_ext(pkt, OPUS_PT, seq, ts, AUDIO_SSRC, false, &x, 1, opus, sizeof opus);
    assert_int_equal(fx_send_rtp(p, pkt, n), 0);
}

/* Active speakers (speakers.c): alice speaks loudly, carol sends silence; the room's
 * EV_SPEAKERS names alice's audio track within 1 s, and an empty list follows within 1.5 s of
 * alice going quiet (Opus DTX: no packets at all), with no timer walk needed to notice. */
static void test_speakers(void **state)
{
    world *w = *state;
    fx *f = &w->f;
    alice_and_bob(w, true, false);
    fx_peer *carol = fx_publisher(f, 8, "lobby", "p_carol", read_fixture("chromium_pub.sdp"));
    if (!carol) fail_msg("carol: %s", f->err);
    char carol_audio[64];
    snprintf(carol_audio, sizeof carol_audio, "%s", fx_track_id(f, 8, 0));
    fx_clear_events(f);
    int64_t named = -1, start = f->now;
    for (int i = 0; i < 100 && named < 0; i++) { /* 2 s of 20 ms packets */
        send_level(w->pub, (uint16_t)i, 960u * (uint32_t)i, 20);
        send_level(carol, (uint16_t)i, 960u * (uint32_t)i, 127);
        fx_advance(f, 20);
        const hx_sfu_msg *m = fx_event(f, HX_SFU_EV_SPEAKERS, 0, -1);
        for (uint64_t t = 2; !m && t <= 8; t++)
            m = fx_event(f, HX_SFU_EV_SPEAKERS, t, -1);
        if (m) {
            const char *list = fx_field(m, HX_SFU_T_SPEAKERS);
            assert_non_null(strstr(list, w->audio));
            assert_null(strstr(list, carol_audio));
            assert_string_equal(fx_field(m, HX_SFU_T_ROOM), "lobby");
            named = f->now - start;
        }
    }
    assert_true(named >= 0 && named <= 1000);
    /* alice goes DTX-silent: only the timer can say so */
    fx_clear_events(f);
    int64_t quiet = f->now, dropped = -1;
    for (int i = 0; i < 150 && dropped < 0; i++) {
        send_level(carol, (uint16_t)(100 + i), 960u * (uint32_t)(100 + i), 127);
        fx_advance(f, 20);
        for (uint64_t t = 2; t <= 8 && dropped < 0; t++) {
            const hx_sfu_msg *m = fx_event(f, HX_SFU_EV_SPEAKERS, t, -1);
            if (m && !strcmp(fx_field(m, HX_SFU_T_SPEAKERS), "")) dropped = f->now - quiet;
        }
    }
    assert_true(dropped >= 0 && dropped <= 1500);
    checked(w);
}

static void test_forward_audio(void **state)
{
    world *w = *state;
    alice_and_bob(w, true, false);
    uint32_t ssrc = fx_offer_ssrc(w->sub, "0", false);
    assert_true(ssrc != 0 && ssrc != AUDIO_SSRC);
    for (int i = 0; i < 10; i++) {
        send_audio(w, (uint16_t)(65530 + i), 1000u + 960u * (uint32_t)i);
        w->f.now += 20;
    }
    hx_rtp_hdr h[16];
    assert_int_equal(fx_rtp_of(w->sub, ssrc, h, 16), 10);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(h[i].pt, OPUS_PT); /* the subscriber's Opus PT (the offer kept 111) */
        if (i) assert_int_equal((uint16_t)(h[i].seq - h[i - 1].seq), 1);
        if (i) assert_int_equal(h[i].ts - h[i - 1].ts, 960);
        assert_int_equal(h[i].payload_len, sizeof opus);
    }
    /* Nothing went back to the publisher's own address as media. */
    assert_int_equal(fx_rtp_of(w->pub, ssrc, h, 16), 0);
    checked(w);
}

static void test_keyframe_wait_and_pli(void **state)
{
    world *w = *state;
    alice_and_bob(w, false, true);
    fx_advance(&w->f, 600);
    uint32_t ssrc = fx_offer_ssrc(w->sub, "0", false);
    assert_true(ssrc != 0);
    hx_rtp_hdr h[32];
    /* Delta frames before any key frame are held back, and the publisher was asked for one. */
    send_video(w, 100, 9000, false);
    send_video(w, 101, 12000, false);
    assert_int_equal(fx_rtp_of(w->sub, ssrc, h, 32), 0);
    assert_true(fx_rtcp_count(w->pub, HX_RTCP_PSFB, HX_RTCP_FMT_PLI) >= 1);
    send_video(w, 102, 15000, true);
    send_video(w, 103, 18000, false);
    assert_int_equal(fx_rtp_of(w->sub, ssrc, h, 32), 2);
    assert_int_equal((uint16_t)(h[1].seq - h[0].seq), 1);
    assert_int_equal(h[1].ts - h[0].ts, 3000);
    checked(w);
}

static void subscriber_rtcp(world *w, const uint8_t *pkt, size_t n)
{
    assert_true(n > 0);
    assert_int_equal(fx_send_rtcp(w->sub, pkt, n), 0);
}

static void test_nack_rtx(void **state)
{
    world *w = *state;
    alice_and_bob(w, false, true);
    uint32_t ssrc = fx_offer_ssrc(w->sub, "0", false);
    uint32_t rtx = fx_offer_ssrc(w->sub, "0", true);
    assert_true(ssrc && rtx);
    send_video(w, 200, 9000, true);
    for (int i = 1; i < 5; i++)
        send_video(w, (uint16_t)(200 + i), 9000u + 3000u * (uint32_t)i, false);
    hx_rtp_hdr h[16];
    assert_int_equal(fx_rtp_of(w->sub, ssrc, h, 16), 5);
    uint16_t lost = h[2].seq;
    fx_rx_clear(w->sub);
    uint8_t nack[64];
    long n = hx_rtcp_nack_build(nack, sizeof nack, 0x1234, ssrc, &lost, 1);
    subscriber_rtcp(w, nack, (size_t)n);
    /* RTX (RFC 4588): its own SSRC, the original sequence number first in the payload. */
    assert_int_equal(fx_rtp_of(w->sub, rtx, h, 16), 1);
    const uint8_t *osn = w->sub->rx[0].data + h[0].payload_offset;
    assert_int_equal(osn[0] << 8 | osn[1], lost);
    /* Asked again within 10 ms: not resent; 10 ms later: resent. */
    subscriber_rtcp(w, nack, (size_t)n);
    assert_int_equal(fx_rtp_of(w->sub, rtx, h, 16), 1);
    w->f.now += 11;
    subscriber_rtcp(w, nack, (size_t)n);
    assert_int_equal(fx_rtp_of(w->sub, rtx, h, 16), 2);
    /* A sequence number never sent: nothing. */
    uint16_t never = (uint16_t)(lost + 300);
    n = hx_rtcp_nack_build(nack, sizeof nack, 0x1234, ssrc, &never, 1);
    subscriber_rtcp(w, nack, (size_t)n);
    assert_int_equal(fx_rtp_of(w->sub, rtx, h, 16), 2);
    checked(w);
}

/* The publisher resends a packet over RTX: a repair of one we never had is forwarded, a copy of
 * one we have (libwebrtc pads with such "redundant payloads") is not. */
static void test_publisher_rtx_duplicate(void **state)
{
    world *w = *state;
    alice_and_bob(w, false, true);
    uint32_t ssrc = fx_offer_ssrc(w->sub, "0", false);
    send_video(w, 400, 9000, true);
    send_video(w, 401, 12000, false);
    send_video(w, 403, 18000, false); /* 402 lost on the way in */
    hx_rtp_hdr h[16];
    assert_int_equal(fx_rtp_of(w->sub, ssrc, h, 16), 3);
    uint16_t last = h[0].seq; /* 400's */
    fx_rx_clear(w->sub);
    uint64_t sent = w->f.sent;
    uint16_t rtx_seq = 7000;
    static const uint16_t resent[] = {402, 401, 401, 403};
    for (size_t i = 0; i < sizeof resent / sizeof resent[0]; i++) {
        uint8_t orig[256], pkt[300];
        size_t n =
            fx_rtp(orig, VP8_PT, resent[i], 15000, VIDEO_SSRC, true, vp8_delta, sizeof vp8_delta);
        long r = hx_rtx_wrap(pkt, sizeof pkt, orig, n, VIDEO_RTX_SSRC, VP8_RTX_PT, rtx_seq++);
        assert_true(r > 0);
        assert_int_equal(fx_send_rtp(w->pub, pkt, (size_t)r), 0);
    }
    /* 402 once, as the original SSRC's packet, in the hole between 401 and 403; the copies of
     * 401 and 403 nothing at all (the peer's SRTP refuses replays: count what the core sent). */
    assert_int_equal(fx_rtp_of(w->sub, ssrc, h, 16), 1);
    assert_int_equal(w->f.sent - sent, 1);
    assert_int_equal((uint16_t)(h[0].seq - last), 2);
    checked(w);
}

static void test_publisher_nack_after_gap(void **state)
{
    world *w = *state;
    alice_and_bob(w, false, true);
    send_video(w, 300, 9000, true);
    send_video(w, 303, 18000, false); /* 301 and 302 missing */
    fx_rx_clear(w->pub);
    fx_advance(&w->f, 25);
    assert_true(fx_rtcp_count(w->pub, HX_RTCP_RTPFB, HX_RTCP_FMT_NACK) >= 1);
    checked(w);
}

static void test_pli_rate_limit_and_fir(void **state)
{
    world *w = *state;
    alice_and_bob(w, false, true);
    uint32_t ssrc = fx_offer_ssrc(w->sub, "0", false);
    send_video(w, 400, 9000, true);
    /* Past the limit of the connect-time requests (the one at connect, and the one the first
     * report re-asked, held 500 ms). */
    fx_advance(&w->f, 1200);
    fx_rx_clear(w->pub);
    uint8_t pkt[64];
    long n = hx_rtcp_pli_build(pkt, sizeof pkt, 0x1234, ssrc);
    subscriber_rtcp(w, pkt, (size_t)n);
    assert_int_equal(fx_rtcp_count(w->pub, HX_RTCP_PSFB, HX_RTCP_FMT_PLI), 1);
    int asked = fx_count(&w->f, HX_SFU_EV_KEYFRAME_NEEDED, 2);
    /* A second one within 500 ms is held, and sent when the interval has passed. */
    w->f.now += 100;
    subscriber_rtcp(w, pkt, (size_t)n);
    assert_int_equal(fx_rtcp_count(w->pub, HX_RTCP_PSFB, HX_RTCP_FMT_PLI), 1);
    fx_advance(&w->f, 380);
    assert_int_equal(fx_rtcp_count(w->pub, HX_RTCP_PSFB, HX_RTCP_FMT_PLI), 1);
    fx_advance(&w->f, 40);
    assert_int_equal(fx_rtcp_count(w->pub, HX_RTCP_PSFB, HX_RTCP_FMT_PLI), 2);
    assert_int_equal(fx_count(&w->f, HX_SFU_EV_KEYFRAME_NEEDED, 2), asked + 1);
    /* FIR from the subscriber becomes a PLI to the publisher. */
    fx_advance(&w->f, 600);
    fx_rx_clear(w->pub);
    hx_rtcp_fir_entry fe = {ssrc, 1};
    n = hx_rtcp_fir_build(pkt, sizeof pkt, 0x1234, &fe, 1);
    subscriber_rtcp(w, pkt, (size_t)n);
    assert_int_equal(fx_rtcp_count(w->pub, HX_RTCP_PSFB, HX_RTCP_FMT_PLI), 1);
    checked(w);
}

static void test_reports(void **state)
{
    world *w = *state;
    alice_and_bob(w, true, false);
    for (int i = 0; i < 5; i++)
        send_audio(w, (uint16_t)(10 + i), 960u * (uint32_t)i);
    fx_advance(&w->f, 1100);
    /* The publisher: a receiver report (REMB only for video); the subscriber: a sender report. */
    assert_true(fx_rtcp_count(w->pub, HX_RTCP_RR, -1) >= 1);
    assert_int_equal(fx_rtcp_count(w->pub, HX_RTCP_PSFB, HX_RTCP_FMT_AFB), 0);
    /* One SR as soon as media flows, the next a second later. */
    assert_int_equal(fx_rtcp_count(w->sub, HX_RTCP_SR, -1), 2);
    /* The SR carries the packets sent to the subscriber, and when it was sent. */
    for (size_t i = 0; i < w->sub->n_rx; i++) {
        if (!w->sub->rx[i].rtcp) continue;
        hx_rtcp_iter it;
        hx_rtcp_pkt k;
        hx_rtcp_iter_init(&it, w->sub->rx[i].data, w->sub->rx[i].len);
        while (hx_rtcp_iter_next(&it, &k) == 1) {
            hx_rtcp_sr sr;
            if (k.pt != HX_RTCP_SR || hx_rtcp_sr_parse(&k, &sr) != 0) continue;
            assert_int_equal(sr.packet_count, 5);
            assert_int_equal(sr.ssrc, fx_offer_ssrc(w->sub, "0", false));
            /* NTP from the wall offset the fixture set (unix 1.7e9 at its start, 2023-11-14). */
            int64_t unix_ms = 1700000000000 + (w->sub->rx[i].at - 1000000);
            assert_int_equal(sr.ntp >> 32, (uint64_t)(unix_ms / 1000) + 2208988800ull);
        }
    }
    /* Video: the report carries REMB with the configured cap. */
    send_video(w, 1, 0, true);
    fx_rx_clear(w->pub);
    fx_advance(&w->f, 1000);
    int remb = 0;
    for (size_t i = 0; i < w->pub->n_rx; i++) {
        hx_rtcp_iter it;
        hx_rtcp_pkt k;
        hx_rtcp_iter_init(&it, w->pub->rx[i].data, w->pub->rx[i].len);
        while (w->pub->rx[i].rtcp && hx_rtcp_iter_next(&it, &k) == 1) {
            hx_rtcp_fb fb;
            hx_rtcp_remb r;
            if (k.pt != HX_RTCP_PSFB || k.count != HX_RTCP_FMT_AFB ||
                hx_rtcp_remb_parse(&k, &fb, &r) != 0)
                continue;
            assert_int_equal(r.bitrate, w->f.cfg.remb_bps);
            assert_int_equal(r.ssrc[0], VIDEO_SSRC);
            remb++;
        }
    }
    assert_int_equal(remb, 1);
    checked(w);
}

static void test_consent_loss(void **state)
{
    world *w = *state;
    alice_and_bob(w, true, false);
    /* The subscriber goes silent: no checks, no media of its own. */
    fx_advance(&w->f, 29000);
    assert_int_equal(fx_count(&w->f, HX_SFU_EV_STATE, 5), 1); /* "connected" only */
    fx_advance(&w->f, 2000);
    const hx_sfu_msg *m = fx_event(&w->f, HX_SFU_EV_STATE, 5, -1);
    assert_true(hx_sfu_field_is(m, HX_SFU_T_STATE, "disconnected"));
    /* Nothing is sent to a transport without consent. */
    fx_rx_clear(w->sub);
    send_audio(w, 1, 0);
    assert_int_equal(w->sub->n_rx, 0);
    /* The publisher kept consent with its media and checks? It sent media only at the start:
     * it is disconnected too, which the test does not depend on. Consent comes back with a
     * check: connected again. */
    fx_check(w->sub);
    fx_advance(&w->f, 20);
    m = fx_event(&w->f, HX_SFU_EV_STATE, 5, -1);
    assert_true(hx_sfu_field_is(m, HX_SFU_T_STATE, "connected"));
    checked(w);
}

static void test_consent_lost_for_good(void **state)
{
    world *w = *state;
    alice_and_bob(w, true, false);
    fx_advance(&w->f, 65000);
    const hx_sfu_msg *m = fx_event(&w->f, HX_SFU_EV_STATE, 5, -1);
    assert_true(hx_sfu_field_is(m, HX_SFU_T_STATE, "failed"));
    /* The publisher sent no checks either: failed, and its tracks closed. */
    assert_true(hx_sfu_field_is(fx_event(&w->f, HX_SFU_EV_STATE, 2, -1), HX_SFU_T_STATE, "failed"));
    assert_int_equal(fx_count(&w->f, HX_SFU_EV_TRACK_CLOSED, 2), 2);
    checked(w);
}

static void test_offer_timeouts(void **state)
{
    world *w = *state;
    fx *f = &w->f;
    fx_free(f);
    hx_engine_config cfg;
    hx_engine_config_default(&cfg);
    cfg.offer_timeout_ms = 300;
    cfg.connect_timeout_ms = 400;
    assert_int_equal(fx_init(f, &cfg), 0);
    fx_open(f, 5, "lobby", "p_bob", "subscriber", HX_SFU_F_SUBSCRIBE | HX_SFU_F_DATA);
    fx_advance(f, 20);
    assert_int_equal(fx_count(f, HX_SFU_EV_LOCAL_SDP, 5), 1);
    fx_advance(f, 290);
    const hx_sfu_msg *m = fx_event(f, HX_SFU_EV_NEGOTIATION_FAILED, 5, 0);
    assert_non_null(m);
    assert_true(hx_sfu_field_is(m, HX_SFU_T_CODE, "answer_timeout"));
    assert_int_equal(m->flags & HX_SFU_F_FINAL, 0);
    fx_advance(f, 320);
    m = fx_event(f, HX_SFU_EV_NEGOTIATION_FAILED, 5, 1);
    assert_non_null(m);
    assert_int_equal(m->flags & HX_SFU_F_FINAL, HX_SFU_F_FINAL);
    assert_int_equal(fx_count(f, HX_SFU_EV_LOCAL_SDP, 5), 2);
    /* A publisher that never connects fails 400 ms after its description. */
    fx_open(f, 2, "lobby", "p_alice", "publisher", HX_SFU_F_PUBLISH);
    fx_remote_sdp(f, 2, "offer", read_fixture("chromium_pub.sdp"), NULL, NULL);
    fx_advance(f, 390);
    assert_int_equal(fx_count(f, HX_SFU_EV_STATE, 2), 0);
    fx_advance(f, 20);
    m = fx_event(f, HX_SFU_EV_STATE, 2, -1);
    assert_true(hx_sfu_field_is(m, HX_SFU_T_STATE, "failed"));
    assert_non_null(strstr(fx_field(m, HX_SFU_T_REASON), "connect_timeout: ice new"));
    checked(w);
}

/* Timers on deadlines: an idle call wakes the core only when something is due, not every 10 ms;
 * media makes reports due again, on time. */
static void test_idle_costs_nothing(void **state)
{
    world *w = *state;
    alice_and_bob(w, true, false);
    fx *f = &w->f;
    fx_advance(f, 3000); /* the first stats go out */
    uint64_t runs = f->timer_runs;
    fx_advance(f, 20000);
    /* Two transports, 20 s, nothing sent or received: no wakeups (the old tick: 2,000). */
    assert_true(f->timer_runs - runs <= 2);
    /* Consent keeps its deadline: the silent subscriber is disconnected on time all the same. */
    assert_int_equal(fx_count(f, HX_SFU_EV_STATE, 5), 1);
    fx_advance(f, 8000);
    assert_true(
        hx_sfu_field_is(fx_event(f, HX_SFU_EV_STATE, 5, -1), HX_SFU_T_STATE, "disconnected"));
    /* Media again: a sender report within a second, then one a second. */
    fx_check(w->sub);
    fx_check(w->pub);
    fx_rx_clear(w->sub);
    runs = f->timer_runs;
    for (int i = 0; i < 150; i++) {
        send_audio(w, (uint16_t)(100 + i), 960u * (uint32_t)i);
        fx_advance(f, 20);
    }
    assert_int_equal(fx_rtcp_count(w->sub, HX_RTCP_SR, -1), 4); /* at 0, 1, 2 and 3 s */
    /* While audio flows the core wakes for reports and stats, not every 10 ms (300 here). */
    assert_true(f->timer_runs - runs < 30);
    checked(w);
}

/* A peer that accepts the data m-line but never answers SCTP's INIT: the association is given up
 * after 30 s, and nothing is sent for it after that. */
static void test_sctp_never_up(void **state)
{
    world *w = *state;
    fx *f = &w->f;
    f->open_flags = HX_SFU_F_DATA;
    w->pub = fx_publisher(f, 2, "lobby", "p_alice", read_fixture("chromium_pub.sdp"));
    if (!w->pub) fail_msg("publisher: %s", f->err);
    size_t handshake = w->pub->dtls_in;
    for (int i = 0; i < 2; i++) { /* checks every 5 s keep consent */
        fx_advance(f, 5000);
        fx_check(w->pub);
    }
    assert_true(w->pub->dtls_in > handshake); /* INIT, and its retransmissions */
    for (int i = 0; i < 5; i++) {
        fx_advance(f, 5000);
        fx_check(w->pub);
    }
    fx_advance(f, 1000);
    size_t at_36s = w->pub->dtls_in;
    for (int i = 0; i < 24; i++) {
        fx_advance(f, 5000);
        fx_check(w->pub);
    }
    assert_int_equal(w->pub->dtls_in, at_36s);
    /* The media side is untouched: the transport is still connected. */
    assert_true(hx_sfu_field_is(fx_event(f, HX_SFU_EV_STATE, 2, 0), HX_SFU_T_STATE, "connected"));
    assert_int_equal(fx_count(f, HX_SFU_EV_TRACK_CLOSED, 2), 0);
    checked(w);
}

/* Audio with the transport-wide sequence number (one-byte header extension, RFC 8285 §4.2). */
static void send_audio_twcc(world *w, uint16_t seq, uint32_t ts, uint16_t tw)
{
    uint8_t ext[8] = {0xbe, 0xde, 0, 1}; /* one 32-bit word of elements */
    ext[4] = TWCC_EXT_ID << 4 | 1;       /* id, length - 1 */
    ext[5] = (uint8_t)(tw >> 8);
    ext[6] = (uint8_t)tw;
    uint8_t pkt[256];
    size_t n = fx_rtp(pkt, OPUS_PT, seq, ts, AUDIO_SSRC, false, opus, sizeof opus);
    memmove(pkt + 12 + sizeof ext, pkt + 12, n - 12);
    memcpy(pkt + 12, ext, sizeof ext);
    pkt[0] |= 0x10; /* X */
    assert_int_equal(fx_send_rtp(w->pub, pkt, n + sizeof ext), 0);
}

/* State a transport needs only for some traffic comes with that traffic: the transport-cc ring
 * (8 KiB) with the publisher's first packet that carries a sequence number, never for a
 * subscriber; a video consumer's NACK map (6 KiB) with its first forwarded packet. Feedback and
 * NACKs work from there on. */
static void test_lazy_state(void **state)
{
    world *w = *state;
    alice_and_bob(w, true, true);
    hx__transport *pub = hx__transport_get(w->f.core, 2), *sub = hx__transport_get(w->f.core, 5);
    assert_non_null(pub);
    assert_non_null(sub);
    assert_int_equal(pub->twcc_id, TWCC_EXT_ID);
    assert_null(pub->twcc);
    send_audio(w, 10, 0); /* no extension: still nothing */
    assert_null(pub->twcc);
    for (int i = 0; i < 3; i++)
        send_audio_twcc(w, (uint16_t)(11 + i), 960u * (uint32_t)(i + 1), (uint16_t)(500 + i));
    assert_non_null(pub->twcc);
    fx_advance(&w->f, 60);
    assert_int_equal(fx_rtcp_count(w->pub, HX_RTCP_RTPFB, HX_RTCP_FMT_TWCC), 1);
    hx_rtcp_pkt k;
    hx_twcc_fb fb;
    hx_twcc_status st[8];
    fx_rtcp_cursor cur = {0};
    assert_true(fx_rtcp_next(w->pub, &cur, HX_RTCP_RTPFB, HX_RTCP_FMT_TWCC, &k));
    assert_int_equal(hx_rtcp_twcc_parse(&k, &fb, st, 8), 0);
    assert_int_equal(fb.base_seq, 500);
    assert_int_equal(fb.status_count, 3);
    assert_null(sub->twcc);

    /* Bob's video consumer: no map until its first packet goes out. */
    hx__consumer *c = hx__consumer_find(sub, w->video);
    assert_non_null(c);
    assert_null(c->sent);
    send_video(w, 300, 9000, false); /* held back: no key frame yet */
    assert_null(c->sent);
    send_video(w, 301, 12000, true);
    assert_non_null(c->sent);
    assert_null(hx__consumer_find(sub, w->audio)->sent); /* audio never has one */
    checked(w);
}

/* ICE-TCP: a check on a connection binds it; packets then go on that connection; closed, it
 * is no longer used, and a UDP check moves the path back. */
static void test_tcp_path(void **state)
{
    world *w = *state;
    alice_and_bob(w, true, false);
    fx *f = &w->f;
    int conn; /* the carrier's connection: only its address matters */
    void *bound = NULL;
    hx_engine_path tcp = {.proto = HX_PATH_TCP,
                          .conn = &conn,
                          .addr = w->sub->addr,
                          .addrlen = sizeof(struct sockaddr_in)};
    ((struct sockaddr_in *)&tcp.addr)->sin_port = htons(6000);
    /* Media before a check on the connection: dropped, nothing bound. */
    uint8_t junk[] = {0x80, 111, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0};
    hx_engine_core_rx(f->core, &tcp, &bound, junk, sizeof junk, f->now);
    assert_null(bound);
    uint64_t tcp_before = f->sent_on[HX_PATH_TCP];
    fx_check_from(w->sub, &tcp, &bound);
    assert_non_null(bound); /* bound to the subscriber's transport */
    assert_int_equal(f->sent_on[HX_PATH_TCP], tcp_before + 1); /* the response, on the connection */
    checked(w);
    /* Nominated there: media goes on the connection, none over UDP. */
    uint64_t udp_before = f->sent_on[HX_PATH_UDP];
    send_audio(w, 1, 0);
    assert_int_equal(f->sent_on[HX_PATH_TCP], tcp_before + 2);
    assert_int_equal(f->sent_on[HX_PATH_UDP], udp_before);
    /* The connection closes: no longer used. */
    hx_engine_core_conn_closed(f->core, &conn, bound, f->now);
    checked(w);
    send_audio(w, 2, 960);
    assert_int_equal(f->sent_on[HX_PATH_TCP], tcp_before + 2);
    /* A UDP check nominates the UDP pair again: the subscriber receives. */
    fx_rx_clear(w->sub);
    fx_check(w->sub);
    send_audio(w, 3, 1920);
    hx_rtp_hdr h[4];
    assert_int_equal(fx_rtp_of(w->sub, fx_offer_ssrc(w->sub, "0", false), h, 4), 1);
    /* The transport closes: the carrier is told to unbind its connections. */
    fx_close(f, 5, "left");
    assert_ptr_equal(f->unbound, bound);
    assert_int_equal(hx_engine_core_transports(f->core), 1);
    checked(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_forward_audio, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keyframe_wait_and_pli, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nack_rtx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_publisher_rtx_duplicate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_publisher_nack_after_gap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pli_rate_limit_and_fir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reports, setup, teardown),
        cmocka_unit_test_setup_teardown(test_consent_loss, setup, teardown),
        cmocka_unit_test_setup_teardown(test_consent_lost_for_good, setup, teardown),
        cmocka_unit_test_setup_teardown(test_offer_timeouts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_costs_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sctp_never_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lazy_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_speakers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
