/*
 * A subscriber's downlink through the engine core (src/sfu/downlink.c), driven by the engine
 * fixture: forwarded video carries transport-wide sequence numbers in the subscriber's own id
 * (audio does not); the subscriber's transport-cc feedback moves its estimate; with the
 * adaptive switch on, heavy loss caps a simulcast consumer below the top layer, and a clean link
 * brings probes (padding-only packets on the RTX stream) and the top layer back within 10 s.
 */
#include "support/engine_fixture.h"

#include "rtp/rtcp.h"

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

static const char *read_fixture(const char *name)
{
    const char *text = fx_sdp_fixture(HX_SOURCE_DIR, name);
    assert_non_null(text);
    return text;
}

/* 10 ms of the publisher's three layers; every 30th a key frame on all of them. */
static void tick_media(world *w, bool key)
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
        size_t n = fx_rtp_ext(pkt, VP8_PT, w->seq[l]++, w->ts, layer_ssrc[l], true, ext, 2, payload,
                              layer_bytes[l]);
        assert_int_equal(fx_send_rtp(w->pub, pkt, n), 0);
    }
    w->ts += 900;
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stamped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_loss_caps_then_probes_restore, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
