/*
 * A subscriber's downlink through the engine core (src/sfu/downlink.c), driven by the engine
 * fixture: forwarded video carries transport-wide sequence numbers in the subscriber's own id
 * (audio does not); the subscriber's transport-cc feedback moves its estimate; with the
 * adaptive switch on, heavy loss caps a simulcast consumer below the top layer, and a clean link
 * brings probes (padding-only packets on the RTX stream) and the top layer back within 10 s;
 * a budget that lifts only one of two tracks above the low layer lifts the one whose publisher
 * speaks, and follows the speaker; one the subscriber pinned goes before the speaker's until
 * unpinned.
 */
#include "support/engine_fixture.h"

#include "rtp/rtcp.h"
#include "sfu/engine_internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define EXT_MID 4 /* chromium_pub_simulcast.sdp */
#define EXT_RID 10
#define SUB_TCC 3 /* the id hearth offers subscribers (engine_internal.h HX__SUB_EXT_TCC) */
#define VP8_PT 96
static const uint32_t layer_ssrc[3] = {0x1001, 0x1002, 0x1003};
static const char *const rid[3] = {"q", "h", "f"};
/* Bytes per 10 ms per layer: ~80 kbps, ~320 kbps, ~960 kbps. */
static const size_t layer_bytes[3] = {100, 400, 1200};

typedef struct world {
    fx f;
    fx_peer *pub, *sub;
    char track[64];
    uint16_t seq[3];
    uint32_t ts;
    uint32_t ssrc, rtx_ssrc; /* what bob receives the video as */
    size_t seen;             /* bob's rx entries already given feedback for */
    uint8_t fb_count;
} world;

static bool verbose_env(void)
{
    const char *v = getenv("HX_TEST_VERBOSE");
    return v && *v && strcmp(v, "0") != 0;
}

static const char *read_fixture(const char *name)
{
    const char *text = fx_sdp_fixture(HX_SOURCE_DIR, name);
    assert_non_null(text);
    return text;
}

static void tick_layers(fx_peer *pub, uint16_t *seq, uint32_t ts, bool key);

/* 10 ms of the publisher's three layers; every 30th a key frame on all of them. */
static void tick_media(world *w, bool key)
{
    tick_layers(w->pub, w->seq, w->ts, key);
    w->ts += 900;
}

static void tick_layers(fx_peer *pub, uint16_t *seq, uint32_t ts, bool key)
{
    static uint8_t payload[1200];
    payload[0] = 0x10; /* VP8 descriptor: S=1, PID 0 */
    payload[1] = 0x00;
    payload[2] = 0x00;
    payload[3] = key ? 0x00 : 0x01; /* P bit: 0 key frame */
    payload[4] = 0x9d, payload[5] = 0x01, payload[6] = 0x2a;
    for (int l = 0; l < 3; l++) {
        uint8_t pkt[1400];
        fx_ext ext[2] = {fx_ext_str(EXT_MID, "1"), fx_ext_str(EXT_RID, rid[l])};
        size_t n = fx_rtp_ext(pkt, VP8_PT, seq[l]++, ts, layer_ssrc[l], true, ext, 2, payload,
                              layer_bytes[l]);
        assert_int_equal(fx_send_rtp(pub, pkt, n), 0);
    }
}

static int setup(void **state)
{
    world *w = calloc(1, sizeof *w);
    hx_engine_config cfg;
    hx_engine_config_default(&cfg);
    cfg.adaptive = true;
    if (fx_init(&w->f, &cfg) != 0) return -1;
    fx *f = &w->f;
    w->pub = fx_publisher(f, 2, "r", "p_sim", read_fixture("chromium_pub_simulcast.sdp"));
    if (!w->pub) return -1;
    snprintf(w->track, sizeof w->track, "%s", fx_track_id(f, 2, 1));
    w->seq[0] = 100, w->seq[1] = 200, w->seq[2] = 300;
    w->ts = 9000;
    for (int i = 0; i < 120; i++) { /* 1.2 s: every layer's rate is measured */
        tick_media(w, i % 30 == 0);
        fx_advance(f, 10);
    }
    w->sub = fx_subscriber(f, 5, "r", "p_bob");
    if (!w->sub) return -1;
    fx_track_cmd(f, HX_SFU_SUBSCRIBE, 5, w->track, NULL);
    fx_advance(f, 20);
    if (fx_answer(w->sub) != 0) return -1;
    fx_advance(f, 20);
    w->ssrc = fx_offer_ssrc(w->sub, "0", false);
    w->rtx_ssrc = fx_offer_ssrc(w->sub, "0", true);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    assert_int_equal(hx_engine_core_check(w->f.core), 0);
    fx_free(&w->f);
    free(w);
    return 0;
}

/* The transport-wide seq of a received RTP packet, or -1. */
static int tcc_of(const fx_rx *r)
{
    hx_rtp_hdr h;
    uint16_t v;
    if (r->rtcp || hx_rtp_parse(r->data, r->len, &h) != 0) return -1;
    if (!h.extension || hx_rtp_ext_twcc_seq(r->data, &h, SUB_TCC, &v) != 0) return -1;
    return v;
}

/*
 * Bob reports what he received since the last report: every stamped packet, received (at its
 * delivery time) unless `lose` says to report it lost (1 in lose: 0 none). Returns how many.
 */
static size_t feedback(world *w, int lose)
{
    fx_peer *b = w->sub;
    int64_t arr[1024];
    int first = -1, last = -1;
    for (size_t i = w->seen; i < b->n_rx; i++) {
        int s = tcc_of(&b->rx[i]);
        if (s < 0) continue;
        if (first < 0) first = s;
        int k = (uint16_t)(s - first);
        if (k >= 1024) break;
        for (int j = last < 0 ? 0 : last + 1; j < k; j++)
            arr[j] = -1;
        arr[k] = lose && s % lose == 0 ? -1 : b->rx[i].at * 1000;
        if (k > last) last = k;
    }
    w->seen = b->n_rx;
    if (first < 0) return 0;
    if (arr[0] < 0) arr[0] = w->f.now * 1000; /* the builder wants a first arrival */
    uint8_t pkt[1400];
    size_t used = 0;
    long n = hx_rtcp_twcc_build(pkt, sizeof pkt, 0x42, w->ssrc, (uint16_t)first, w->fb_count++, arr,
                                (size_t)last + 1, &used);
    assert_true(n > 0);
    assert_int_equal(fx_send_rtcp(b, pkt, (size_t)n), 0);
    return used;
}

/* Run ms of media with feedback every 50 ms; returns the widest layer bob got meanwhile. */
static void run(world *w, int ms, int lose)
{
    for (int t = 0; t < ms; t += 10) {
        tick_media(w, (w->ts / 900) % 30 == 0);
        fx_advance(&w->f, 10);
        if (t % 50 == 40) feedback(w, lose);
        if (w->sub->n_rx > FX_MAX_RX - 200) { /* keep room: what was reported can go */
            fx_rx_clear(w->sub);
            w->seen = 0;
        }
    }
}

/* The payload size of bob's last video packet on the media SSRC (which layer he gets). */
static size_t last_video_size(const world *w)
{
    hx_rtp_hdr h[FX_MAX_RX];
    size_t n = fx_rtp_of(w->sub, w->ssrc, h, FX_MAX_RX);
    return n ? h[n - 1].payload_len : 0;
}

static void test_stamped(void **state)
{
    world *w = *state;
    fx_rx_clear(w->sub);
    run(w, 300, 0);
    /* every video packet carries the next number in bob's id */
    int prev = -1, n = 0;
    for (size_t i = 0; i < w->sub->n_rx; i++) {
        hx_rtp_hdr h;
        if (w->sub->rx[i].rtcp || hx_rtp_parse(w->sub->rx[i].data, w->sub->rx[i].len, &h) != 0)
            continue;
        int s = tcc_of(&w->sub->rx[i]);
        assert_true(s >= 0);
        if (prev >= 0) assert_int_equal((uint16_t)(prev + 1), s);
        prev = s;
        n++;
    }
    assert_true(n >= 25);
    assert_int_equal(last_video_size(w), layer_bytes[2]); /* the top layer: nothing caps it */
}

static void test_loss_caps_then_probes_restore(void **state)
{
    world *w = *state;
    run(w, 500, 0);
    assert_int_equal(last_video_size(w), layer_bytes[2]);
    /* Half of what bob is sent is reported lost: the estimate falls to what got through
     * (~0.5 Mbps and below), the top layer no longer fits. */
    run(w, 3000, 2);
    fx_rx_clear(w->sub);
    w->seen = 0;
    run(w, 400, 2);
    size_t got = last_video_size(w);
    assert_true(got != 0 && got < layer_bytes[2]);
    /* A clean link: probes (padding-only packets on the RTX SSRC) and the top layer again. */
    int pads = 0;
    bool top = false;
    for (int round = 0; round < 40 && !top; round++) {
        fx_rx_clear(w->sub);
        w->seen = 0;
        run(w, 250, 0);
        hx_rtp_hdr h[FX_MAX_RX];
        size_t n = fx_rtp_of(w->sub, w->rtx_ssrc, h, FX_MAX_RX);
        for (size_t i = 0; i < n; i++)
            pads += h[i].payload_len == 0 && h[i].padding_len > 0;
        top = last_video_size(w) == layer_bytes[2];
    }
    assert_true(pads > 0);
    assert_true(top);
}

#define AUDIO_SSRC 3686782608u /* chromium_pub_simulcast.sdp */
#define OPUS_PT 111

/* 20 ms of a publisher's audio with an RFC 6464 level (id 1): 10 loud, 127 silent. */
static void send_level(fx_peer *pub, uint16_t seq, uint8_t level)
{
    static const uint8_t opus[] = {0xfc, 0xff, 0xfe};
    fx_ext x = {.id = 1, .len = 1, .data = {(uint8_t)(0x80 | level)}};
    uint8_t pkt[128];
    size_t n =
        fx_rtp_ext(pkt, OPUS_PT, seq, 960u * seq, AUDIO_SSRC, false, &x, 1, opus, sizeof opus);
    assert_int_equal(fx_send_rtp(pub, pkt, n), 0);
}

/* The layer bob was last told he receives of `track` (EV_RECEIVING), "" if never. */
static const char *receiving(const fx *f, const char *track)
{
    for (int i = f->n_ev - 1; i >= 0; i--)
        if (f->ev[i].kind == HX_SFU_EV_RECEIVING && f->ev[i].transport == 5 &&
            hx_sfu_field_is(&f->ev[i], HX_SFU_T_TRACK, track))
            return fx_field(&f->ev[i], HX_SFU_T_LAYER);
    return "";
}

/* carol publishes simulcast too, and bob receives her video as well (his m-line "1"): her
 * video track id in track2[64], the SSRC bob gets it on in *ssrc2. */
static fx_peer *second_publisher(world *w, char *track2, uint32_t *ssrc2)
{
    fx *f = &w->f;
    fx_peer *carol = fx_publisher(f, 3, "r", "p_carol", read_fixture("chromium_pub_simulcast.sdp"));
    assert_non_null(carol);
    snprintf(track2, 64, "%s", fx_track_id(f, 3, 1));
    fx_track_cmd(f, HX_SFU_SUBSCRIBE, 5, track2, NULL);
    fx_advance(f, 20);
    assert_int_equal(fx_answer(w->sub), 0);
    *ssrc2 = fx_offer_ssrc(w->sub, "1", false);
    assert_true(*ssrc2 != 0);
    return carol;
}

/* 10 ms of alice's and carol's media (tick i: keyframes every 30), their audio levels every
 * 20 ms, and bob's REMB of 600 kbps every 250 ms: both q (80 kbps each), and h (320 kbps) for
 * one of them only. */
static void two_tick(world *w, fx_peer *carol, uint16_t seq2[3], uint16_t aseq[2], uint32_t ssrc2,
                     int i, int alice_level, int carol_level)
{
    bool key = i % 30 == 0;
    tick_media(w, key);
    tick_layers(carol, seq2, w->ts, key);
    if (i % 2 == 0) {
        send_level(w->pub, aseq[0]++, (uint8_t)alice_level);
        send_level(carol, aseq[1]++, (uint8_t)carol_level);
    }
    if (i % 25 == 0) {
        hx_rtcp_remb r = {.bitrate = 600000, .n_ssrc = 2, .ssrc = {w->ssrc, ssrc2}};
        uint8_t buf[64];
        long n = hx_rtcp_remb_build(buf, sizeof buf, 0x4242, &r);
        assert_true(n > 0);
        assert_int_equal(fx_send_rtcp(w->sub, buf, (size_t)n), 0);
    }
    fx_advance(&w->f, 10);
}

static void test_speaker_first(void **state)
{
    world *w = *state;
    fx *f = &w->f;
    char track2[64];
    uint32_t ssrc2;
    fx_peer *carol = second_publisher(w, track2, &ssrc2);
    uint16_t seq2[3] = {1000, 2000, 3000}, aseq[2] = {10, 10};
    /* Two phases: carol speaks (alice silent), then alice (carol silent). */
    for (int phase = 0; phase < 2; phase++) {
        for (int i = 0; i < 400; i++) /* 4 s */
            two_tick(w, carol, seq2, aseq, ssrc2, i, phase == 1 ? 10 : 127, phase == 0 ? 10 : 127);
        const char *alice_gets = receiving(f, w->track), *carol_gets = receiving(f, track2);
        if (verbose_env())
            printf("  phase %d: alice %s, carol %s\n", phase, alice_gets, carol_gets);
        assert_string_equal(phase == 0 ? carol_gets : alice_gets, "h"); /* who speaks */
        assert_string_equal(phase == 0 ? alice_gets : carol_gets, "q");
    }
}

static void pin(fx *f, const char *track, bool on)
{
    int done = fx_count(f, HX_SFU_EV_DONE, 5), errors = fx_count(f, HX_SFU_EV_ERROR, 5);
    fx_track_flag_cmd(f, HX_SFU_PIN, 5, track, on, "pin");
    assert_int_equal(fx_count(f, HX_SFU_EV_DONE, 5), done + 1);
    assert_int_equal(fx_count(f, HX_SFU_EV_ERROR, 5), errors);
}

/* carol speaks throughout, and the budget lifts one track: hers, until bob pins alice's, which
 * then goes first (the pin re-runs the allocation: within a keyframe interval), and hers again
 * once unpinned. A pin for a track bob does not receive is refused. */
static void test_pinned_first(void **state)
{
    world *w = *state;
    fx *f = &w->f;
    char track2[64];
    uint32_t ssrc2;
    fx_peer *carol = second_publisher(w, track2, &ssrc2);
    uint16_t seq2[3] = {1000, 2000, 3000}, aseq[2] = {10, 10};
    /* Phases: nothing pinned (carol's, the speaker's, is lifted), alice's pinned, unpinned. */
    static const int phase_ms[3] = {4000, 1000, 1000};
    for (int phase = 0; phase < 3; phase++) {
        if (phase > 0) { /* allocated again at once: the caps move before any more feedback */
            pin(f, w->track, phase == 1);
            hx__transport *sub = hx__transport_get(f->core, 5);
            assert_int_equal(hx__consumer_find(sub, w->track)->bwe_layer, phase == 1 ? 1 : 0);
            assert_int_equal(hx__consumer_find(sub, track2)->bwe_layer, phase == 1 ? 0 : 1);
        }
        for (int i = 0; i < phase_ms[phase] / 10; i++)
            two_tick(w, carol, seq2, aseq, ssrc2, i, 127, 10); /* carol speaks */
        const char *alice_gets = receiving(f, w->track), *carol_gets = receiving(f, track2);
        if (verbose_env())
            printf("  phase %d: alice %s, carol %s\n", phase, alice_gets, carol_gets);
        assert_string_equal(phase == 1 ? alice_gets : carol_gets, "h"); /* pinned, or speaks */
        assert_string_equal(phase == 1 ? carol_gets : alice_gets, "q");
    }
    /* Not subscribed: refused with the same code as another command's. */
    fx_track_cmd(f, HX_SFU_UNSUBSCRIBE, 5, track2, NULL);
    fx_clear_events(f);
    fx_track_flag_cmd(f, HX_SFU_PIN, 5, track2, true, "pin");
    const hx_sfu_msg *err = fx_event(f, HX_SFU_EV_ERROR, 5, -1);
    assert_non_null(err);
    assert_string_equal(fx_field(err, HX_SFU_T_CODE), "unknown_track");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_speaker_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pinned_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stamped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loss_caps_then_probes_restore, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
