/*
 * VP8 temporal layers (src/sfu/temporal.c) through the engine fixture: a simulcast publisher
 * whose layers each carry three temporal layers in the pattern libwebrtc uses (TID 0 2 1 2, the
 * layer-sync bit on T1 and on the T2 after T0), and a subscriber whose REMB holds only a third
 * of the lowest layer. It gets that layer's T0 pictures alone, with sequence numbers, picture ids
 * and TL0PICIDX all without a gap, and hears it is limited; a NACK for a packet sent before
 * more pictures were dropped is answered with the picture id it was sent with. Once the budget
 * is lifted it climbs: every temporal layer again, picture ids still without a gap.
 */
#include "support/engine_cmocka.h"

#include "rtp/keyframe.h"
#include "rtp/rtcp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXT_MID 4 /* chromium_pub_simulcast.sdp */
#define EXT_RID 10
#define VP8_PT 96
static const uint32_t layer_ssrc[3] = {0x1001, 0x1002, 0x1003};
static const char *const rid[3] = {"q", "h", "f"};
static const int tids[4] = {0, 2, 1, 2};
/* Bytes of a T0 / T1 / T2 picture of layer q: ~180 kbps in all, T0 ~66, T0+T1 ~120 (the
 * estimate's floor is 100 kbps); h and f: 1100 bytes a picture, ~264 kbps. */
static const size_t tid_bytes[3] = {1100, 900, 500};

typedef struct world {
    fx f;
    fx_peer *pub, *sub;
    char track[64];
    uint16_t seq[3], pid[3];
    uint8_t tl0[3];
    uint32_t ts;
    int frame;
    uint32_t ssrc, rtx_ssrc;
} world;

/* One picture on each layer (33 ms); a keyframe every 32 pictures, on a T0. */
static void picture(world *w)
{
    int i = w->frame++, tid = tids[i % 4];
    bool key = i % 32 == 0, sync = tid == 1 || i % 4 == 1;
    for (int l = 0; l < 3; l++) {
        static uint8_t pl[1200];
        if (tid == 0) w->tl0[l]++;
        uint16_t pid = w->pid[l]++ & 0x7fff;
        pl[0] = 0x90; /* X, S, partition 0 */
        pl[1] = 0xe0; /* I, L, T */
        pl[2] = (uint8_t)(0x80 | pid >> 8), pl[3] = (uint8_t)pid;
        pl[4] = w->tl0[l];
        pl[5] = (uint8_t)(tid << 6 | (sync ? 0x20 : 0));
        pl[6] = key ? 0x00 : 0x01; /* P: 0 on a keyframe */
        pl[7] = pl[8] = 0;
        pl[9] = 0x9d, pl[10] = 0x01, pl[11] = 0x2a;
        pl[12] = (uint8_t)(320 << l), pl[13] = (uint8_t)((320 << l) >> 8);
        pl[14] = (uint8_t)(180 << l), pl[15] = (uint8_t)((180 << l) >> 8);
        size_t n = l == 0 ? tid_bytes[tid] : 1100;
        uint8_t pkt[1400];
        fx_ext ext[2] = {fx_ext_str(EXT_MID, "1"), fx_ext_str(EXT_RID, rid[l])};
        size_t len =
            fx_rtp_ext(pkt, VP8_PT, w->seq[l]++, w->ts, layer_ssrc[l], true, ext, 2, pl, n);
        assert_int_equal(fx_send_rtp(w->pub, pkt, len), 0);
    }
    w->ts += 3000;
}

static void remb(world *w, uint32_t bps)
{
    hx_rtcp_remb r = {.bitrate = bps, .n_ssrc = 1, .ssrc = {w->ssrc}};
    uint8_t buf[64];
    long n = hx_rtcp_remb_build(buf, sizeof buf, 0x4242, &r);
    assert_true(n > 0);
    assert_int_equal(fx_send_rtcp(w->sub, buf, (size_t)n), 0);
}

/* ms of media, the subscriber's REMB every 250 ms. */
static void run(world *w, int ms, uint32_t bps)
{
    for (int t = 0; t < ms; t += 33) {
        picture(w);
        if (t % 264 == 0) remb(w, bps);
        fx_advance(&w->f, 33);
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
    w->pub = fx_publisher(f, 2, "r", "p_sim",
                          fx_sdp_fixture(HX_SOURCE_DIR, "chromium_pub_simulcast.sdp"));
    if (!w->pub) return -1;
    snprintf(w->track, sizeof w->track, "%s", fx_track_id(f, 2, 1));
    w->seq[0] = 100, w->seq[1] = 200, w->seq[2] = 300;
    w->pid[0] = 1000, w->pid[1] = 2000, w->pid[2] = 32700; /* f's ids wrap */
    w->ts = 9000;
    for (int i = 0; i < 40; i++) { /* 1.3 s: every layer's rates are measured */
        picture(w);
        fx_advance(f, 33);
    }
    w->sub = fx_subscribed(f, 5, "p_bob", w->track, &w->ssrc);
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

/* The VP8 descriptor of the nth packet bob got on ssrc (skip: bytes before it, RTX's OSN). */
static hx_vp8_desc desc_of(const world *w, uint32_t ssrc, size_t nth, size_t skip, uint16_t *seq)
{
    size_t len;
    const uint8_t *p = fx_rtp_data_of(w->sub, ssrc, nth, &len);
    assert_non_null(p);
    hx_rtp_hdr h;
    assert_int_equal(hx_rtp_parse(p, len, &h), HX_RTP_OK);
    hx_vp8_desc d;
    assert_int_equal(hx_vp8_parse(p + h.payload_offset + skip, h.payload_len - skip, &d),
                     HX_RTP_OK);
    if (seq) *seq = h.seq;
    return d;
}

/* Bob's packets since the last fx_rx_clear: sequence numbers, picture ids and TL0PICIDX each
 * without a gap; how many had each TID in tid_n. */
static size_t continuous(const world *w, int tid_n[3])
{
    hx_rtp_hdr h[512];
    size_t n = fx_rtp_of(w->sub, w->ssrc, h, 512);
    memset(tid_n, 0, 3 * sizeof *tid_n);
    hx_vp8_desc prev = {0};
    for (size_t i = 0; i < n; i++) {
        hx_vp8_desc d = desc_of(w, w->ssrc, i, 0, NULL);
        assert_true(d.has_tid && d.has_picture_id && d.has_tl0);
        tid_n[d.tid]++;
        if (i) {
            assert_int_equal((uint16_t)(h[i].seq - h[i - 1].seq), 1);
            assert_int_equal((d.picture_id - prev.picture_id) & 0x7fff, 1);
            assert_int_equal((uint8_t)(d.tl0picidx - prev.tl0picidx), d.tid == 0 ? 1 : 0);
        }
        prev = d;
    }
    return n;
}

static void test_temporal_drop(void **state)
{
    world *w = *state;
    fx *f = &w->f;
    run(w, 3000, 100000); /* q's T0 fits, T0+T1 not */
    fx_rx_clear(w->sub);
    run(w, 2000, 100000);
    int tid_n[3];
    size_t n = continuous(w, tid_n);
    if (getenv("HX_TEST_VERBOSE"))
        printf("  100 kbps: %zu packets, T0 %d T1 %d T2 %d\n", n, tid_n[0], tid_n[1], tid_n[2]);
    assert_true(n >= 12);                     /* q's T0: 7.5 a second */
    assert_int_equal(tid_n[1] + tid_n[2], 0); /* no T1, no T2 */
    const hx_sfu_msg *m = fx_event(f, HX_SFU_EV_RECEIVING, 5, -1);
    assert_non_null(m);
    assert_string_equal(fx_field(m, HX_SFU_T_LAYER), "q");
    assert_true(m->flags & HX_SFU_F_LIMITED);
    /* A NACK for the first of these: resent (RTX) with the picture id it was sent with, though
     * pictures were dropped since. */
    uint16_t first_seq;
    hx_vp8_desc first = desc_of(w, w->ssrc, 0, 0, &first_seq);
    fx_rx_clear(w->sub);
    uint16_t lost[1] = {first_seq};
    uint8_t buf[64];
    long k = hx_rtcp_nack_build(buf, sizeof buf, 0x4242, w->ssrc, lost, 1);
    assert_true(k > 0);
    assert_int_equal(fx_send_rtcp(w->sub, buf, (size_t)k), 0);
    fx_advance(f, 5);
    hx_rtp_hdr rh[4];
    assert_int_equal(fx_rtp_of(w->sub, w->rtx_ssrc, rh, 4), 1);
    hx_vp8_desc again = desc_of(w, w->rtx_ssrc, 0, 2, NULL);
    assert_int_equal(again.picture_id, first.picture_id);
    assert_int_equal(again.tl0picidx, first.tl0picidx);
    /* Lifted: every temporal layer again (and the layers above, at their keyframes). */
    run(w, 6000, 3000000);
    fx_rx_clear(w->sub);
    run(w, 1000, 3000000);
    n = continuous(w, tid_n);
    if (getenv("HX_TEST_VERBOSE"))
        printf("  3 Mbps: %zu packets, T0 %d T1 %d T2 %d\n", n, tid_n[0], tid_n[1], tid_n[2]);
    assert_true(tid_n[1] > 0 && tid_n[2] > 0);
    m = fx_event(f, HX_SFU_EV_RECEIVING, 5, -1);
    assert_false(m->flags & HX_SFU_F_LIMITED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_temporal_drop, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
