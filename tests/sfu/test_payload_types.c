/*
 * Payload types on one subscriber transport (sfu/payload_types.c): whatever the publishers
 * chose, a number never means two codecs across the transport's BUNDLE (RFC 8843 §9.1); the
 * same codec shares its number; RTX numbers are per primary; RED is offered only when its own
 * and its Opus numbers can stay the publisher's.
 */
#include "sfu/engine_internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

static hx_sdp_nego_codec codec(uint8_t pt, const char *name, uint32_t clock, uint8_t ch,
                               const char *fmtp, uint8_t rtx)
{
    hx_sdp_nego_codec c = {.pt = pt, .clock = clock, .channels = ch, .rtx_pt = rtx};
    snprintf(c.name, sizeof c.name, "%s", name);
    snprintf(c.fmtp, sizeof c.fmtp, "%s", fmtp);
    return c;
}

/* Subscribe consumer i of sub to track tr: pick, then add (as hx__subscribe does). */
static hx__consumer *add(hx__transport *sub, hx__consumer *c, hx__track *tr)
{
    memset(c, 0, sizeof *c);
    c->track = tr;
    c->sub = sub;
    assert_int_equal(hx__consumer_pick_pts(c), 0);
    sub->consumers[sub->n_consumers++] = c;
    return c;
}

/* No number means two things on the transport. */
static void assert_unique(const hx__transport *sub)
{
    struct {
        const hx_sdp_nego_codec *codec;
        int apt;
    } seen[128];
    memset(seen, 0, sizeof seen);
    for (int i = 0; i < 128; i++)
        seen[i].apt = -2;
    for (int i = 0; i < sub->n_consumers; i++) {
        const hx__consumer *c = sub->consumers[i];
        const hx__track *tr = c->track;
        const hx_sdp_nego_codec *primary = tr->has_alt && !c->offer_red ? &tr->alt : &tr->codec;
        struct {
            unsigned pt;
            const hx_sdp_nego_codec *codec;
            int apt;
        } uses[3] = {{c->pt, primary, -1},
                     {c->rtx_pt, NULL, c->pt},
                     {c->offer_red ? c->alt_pt : 0, &tr->alt, -1}};
        for (int u = 0; u < 3; u++) {
            if (!uses[u].pt) continue;
            assert_true(uses[u].pt < 64 || uses[u].pt > 95); /* never in rtcp-mux's range */
            if (seen[uses[u].pt].apt == -2) {
                seen[uses[u].pt].codec = uses[u].codec;
                seen[uses[u].pt].apt = uses[u].apt;
                continue;
            }
            assert_int_equal(seen[uses[u].pt].apt, uses[u].apt);
            if (uses[u].apt < 0) {
                assert_int_equal(strcasecmp(seen[uses[u].pt].codec->name, uses[u].codec->name), 0);
                assert_string_equal(seen[uses[u].pt].codec->fmtp, uses[u].codec->fmtp);
            }
        }
    }
}

static void test_collisions_renumbered(void **state)
{
    (void)state;
    static hx__transport sub;
    memset(&sub, 0, sizeof sub);
    hx__track vp8_chrome = {.kind = HX_SDP_VIDEO}, opus_aio = {.kind = HX_SDP_AUDIO},
              vp8_aio = {.kind = HX_SDP_VIDEO}, h264 = {.kind = HX_SDP_VIDEO},
              opus_gst = {.kind = HX_SDP_AUDIO};
    vp8_chrome.codec = codec(96, "VP8", 90000, 0, "", 97);
    opus_aio.codec = codec(96, "opus", 48000, 2, "", 0); /* 96: Chromium's VP8 number */
    vp8_aio.codec = codec(97, "VP8", 90000, 0, "", 98);  /* 97: Chromium's RTX number */
    h264.codec = codec(96, "H264", 90000, 0, "packetization-mode=1", 97);
    opus_gst.codec = codec(111, "OPUS", 48000, 2, "", 0);
    hx__consumer c[5];
    add(&sub, &c[0], &vp8_chrome);
    assert_int_equal(c[0].pt, 96); /* the publisher's numbers where they are free */
    assert_int_equal(c[0].rtx_pt, 97);
    add(&sub, &c[1], &opus_aio);
    assert_int_not_equal(c[1].pt, 96); /* renumbered: 96 is VP8 here */
    add(&sub, &c[2], &vp8_aio);
    assert_int_equal(c[2].pt, 96); /* the same codec shares the number */
    assert_int_equal(c[2].rtx_pt, 97); /* and its RTX, same apt */
    add(&sub, &c[3], &h264);
    assert_true(c[3].pt != 96 && c[3].rtx_pt != 97 && c[3].rtx_pt != c[3].pt);
    add(&sub, &c[4], &opus_gst);
    assert_int_equal(c[4].pt, c[1].pt); /* Opus is Opus, whatever its case */
    assert_unique(&sub);
}

static void test_red(void **state)
{
    (void)state;
    static hx__transport sub;
    memset(&sub, 0, sizeof sub);
    hx__track red1 = {.kind = HX_SDP_AUDIO, .has_alt = true},
              red2 = {.kind = HX_SDP_AUDIO, .has_alt = true}, vp8 = {.kind = HX_SDP_VIDEO};
    red1.codec = codec(63, "red", 48000, 2, "111/111", 0);
    red1.alt = codec(111, "opus", 48000, 2, "minptime=10;useinbandfec=1", 0);
    vp8.codec = codec(111, "VP8", 90000, 0, "", 0); /* takes Opus's number first */
    red2 = red1;
    hx__consumer c[3];
    add(&sub, &c[0], &vp8);
    add(&sub, &c[1], &red1);
    /* RED's inner blocks name 111, which is VP8 here: plain Opus, renumbered. */
    assert_false(c[1].offer_red);
    assert_int_not_equal(c[1].pt, 111);
    assert_int_equal(c[1].alt_pt, c[1].pt);
    /* On a transport without the clash, RED passes as is. */
    static hx__transport sub2;
    memset(&sub2, 0, sizeof sub2);
    add(&sub2, &c[2], &red2);
    assert_true(c[2].offer_red);
    assert_int_equal(c[2].pt, 63);
    assert_int_equal(c[2].alt_pt, 111);
    assert_unique(&sub);
    assert_unique(&sub2);
}

/* Many distinct codecs: numbers run out cleanly (-1), never collide. */
static void test_exhaustion(void **state)
{
    (void)state;
    static hx__transport sub;
    static hx__track tr[HX__MAX_CONSUMERS];
    static hx__consumer c[HX__MAX_CONSUMERS];
    memset(&sub, 0, sizeof sub);
    int added = 0;
    for (int i = 0; i < HX__MAX_CONSUMERS; i++) {
        char fmtp[32];
        snprintf(fmtp, sizeof fmtp, "profile-id=%d", i);
        tr[i] = (hx__track){.kind = HX_SDP_VIDEO};
        tr[i].codec = codec(96, "VP9", 90000, 0, fmtp, 97);
        memset(&c[i], 0, sizeof c[i]);
        c[i].track = &tr[i];
        c[i].sub = &sub;
        if (hx__consumer_pick_pts(&c[i]) != 0) break;
        sub.consumers[sub.n_consumers++] = &c[i];
        added++;
    }
    assert_int_equal(added, 30); /* 61 dynamic numbers, two a track */
    assert_unique(&sub);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_collisions_renumbered),
        cmocka_unit_test(test_red),
        cmocka_unit_test(test_exhaustion),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
