/*
 * BUNDLE (RFC 8843) through hearth's offer/answer, both PeerConnections.
 *
 * Publisher side (hearth answers): the offer/answer examples of RFC 8843
 * §18 adapted to WebRTC (UDP/TLS/RTP/SAVPF, ICE and DTLS on the tagged
 * m-line, Opus and VP8; fixtures rfc8843_*.sdp, mids foo / bar / zen as in
 * the RFC): the initial offer (§18.1), an m-line added bundle-only with
 * port 0 in a subsequent offer (§18.3), one moved out of the group (§18.4),
 * one disabled with port 0 (§18.5), and a max-bundle offer (JSEP §5.2.1:
 * every m-line after the tagged one bundle-only). A real GStreamer 1.22
 * webrtcbin max-bundle offer (gst_pub_max_bundle.sdp, capture/capture_gst.py)
 * must be answered the same way. Every answer is written and parsed back
 * before it is checked, as a client would see it.
 *
 * Subscriber side (hearth offers): a renegotiation sequence through
 * hx_sdp_offerer_build, each offer written, re-parsed and answered by a
 * synthetic client answer built from it, checked against JSEP invariants
 * (§5.2.2: m-lines never removed or reordered, a mid stays in its m-line,
 * an m-line changes mid only after it went port 0; removed tracks port 0
 * and out of BUNDLE; the o= version up by one per offer). The checks leave
 * open how port-0 m-lines carry transport attributes and when exactly a
 * port-0 m-line is recycled: those are implementation choices.
 */
#include "sdp/negotiate.h"
#include "fixture.h"
#include "peers.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

/* Buffers the helpers share, allocated once for the group: under ASan every fresh
 * megabyte-sized allocation costs page faults, and the sequences below make hundreds. */
static struct {
    char *text;
    hx_sdp *ans;
    hx_sdp_negotiated *ng;
} scratch;

static int group_setup(void **state)
{
    scratch.text = malloc(HX_SDP_MAX_LEN + 1);
    scratch.ans = malloc(sizeof *scratch.ans);
    scratch.ng = malloc(sizeof *scratch.ng);
    return scratch.text && scratch.ans && scratch.ng ? 0 : -1;
}

static int group_teardown(void **state)
{
    free(scratch.text);
    free(scratch.ans);
    free(scratch.ng);
    return 0;
}

static bool in_bundle(const hx_sdp *s, const char *mid)
{
    for (unsigned i = 0; i < s->n_bundle; i++)
        if (strcmp(s->bundle[i], mid) == 0) return true;
    return false;
}

/* Write s and parse the text back into s. */
static void roundtrip(hx_sdp *s)
{
    hx_sdp_error err;
    long n = hx_sdp_write(s, scratch.text, HX_SDP_MAX_LEN + 1);
    assert_true(n > 0);
    if (hx_sdp_parse(scratch.text, (size_t)n, s, &err) != 0)
        fail_msg("%s line %d", err.what, err.line);
}

/* hearth's answer to a fixture offer, re-parsed; NULL-free or the test fails. */
static hx_sdp *answer(const char *fixture, hx_sdp_negotiated *ng)
{
    hx_sdp *offer = fixture_sdp(fixture), *ans = malloc(sizeof *ans);
    hx_sdp_error err;
    assert_non_null(offer);
    int rc = hx_sdp_answer(offer, &local, ans, ng, &err);
    if (rc) fail_msg("%s: %d %s", fixture, rc, err.what);
    free(offer);
    roundtrip(ans);
    return ans;
}

/* An accepted answer m-line: hearth's own transport (every accepted m-line of hearth's
 * answers carries it, as Chromium's do), rtcp-mux, in BUNDLE. */
static void assert_accepted(const hx_sdp *a, const hx_sdp_negotiated *ng, unsigned i,
                            const char *mid)
{
    const hx_sdp_media *m = &a->media[i];
    assert_string_equal(m->mid, mid);
    assert_int_not_equal(m->port, 0);
    assert_false(m->bundle_only); /* an answer never says bundle-only (RFC 8843 §6) */
    assert_true(in_bundle(a, mid));
    assert_string_equal(m->ice_ufrag, local.ice_ufrag);
    assert_string_equal(m->ice_pwd, local.ice_pwd);
    assert_string_equal(m->fingerprint.hex, local.fp_hex);
    assert_int_equal(m->setup, HX_SDP_SETUP_PASSIVE);
    if (m->proto == HX_SDP_PROTO_RTP) {
        assert_true(m->rtcp_mux);
        assert_true(m->n_codecs > 0);
        assert_int_equal(m->dir, HX_SDP_RECVONLY);
    }
    assert_string_equal(ng->media[i].mid, mid);
    assert_true(ng->media[i].accepted);
}

static void assert_rejected(const hx_sdp *a, const hx_sdp_negotiated *ng, unsigned i,
                            const char *mid)
{
    assert_string_equal(a->media[i].mid, mid);
    assert_int_equal(a->media[i].port, 0);
    assert_false(in_bundle(a, mid));
    assert_string_equal(ng->media[i].mid, mid);
    assert_false(ng->media[i].accepted);
}

/* §18.1: both m-lines with their own address; the answer bundles both on hearth's transport. */
static void test_rfc8843_initial(void **state)
{
    hx_sdp_negotiated *ng = malloc(sizeof *ng);
    hx_sdp *a = answer("rfc8843_offer1.sdp", ng);
    assert_int_equal(a->n_media, 2);
    assert_int_equal(a->n_bundle, 2);
    assert_string_equal(a->bundle[0], "foo"); /* answerer-tagged: the first accepted m-line */
    assert_accepted(a, ng, 0, "foo");
    assert_accepted(a, ng, 1, "bar");
    assert_int_equal(a->media[0].n_codecs, 1); /* opus; PCMU is not hearth's */
    assert_int_equal(a->media[0].codecs[0].pt, 111);
    assert_int_equal(ng->media[1].n_codecs, 1);
    assert_int_equal(ng->media[1].codecs[0].pt, 96);
    assert_int_equal(ng->media[1].codecs[0].rtx_pt, 97);
    assert_int_equal(ng->media[0].ext_id[HX_SDP_EXT_MID], 1);
    assert_int_equal(ng->media[1].ext_id[HX_SDP_EXT_MID], 1);
    assert_int_equal(ng->media[0].ext_id[HX_SDP_EXT_AUDIO_LEVEL], 2);
    assert_string_equal(ng->remote_ufrag, "fooU");
    assert_true(ng->dtls_server);
    assert_int_equal(ng->media[1].n_ssrc_groups, 1);
    free(a);
    free(ng);
}

/* §18.3: zen added with port 0 + bundle-only and no transport or rtcp-mux of its own (they are
 * the tagged m-line's, RFC 8843 §9.3.1). hearth accepts it with a real port. */
static void test_rfc8843_add_bundle_only(void **state)
{
    hx_sdp_negotiated *ng = malloc(sizeof *ng);
    hx_sdp *offer = fixture_sdp("rfc8843_offer_add.sdp");
    assert_non_null(offer);
    assert_true(offer->media[2].bundle_only);
    assert_int_equal(offer->media[2].port, 0);
    assert_false(offer->media[2].rtcp_mux);
    free(offer);
    hx_sdp *a = answer("rfc8843_offer_add.sdp", ng);
    assert_int_equal(a->n_bundle, 3);
    assert_accepted(a, ng, 0, "foo");
    assert_accepted(a, ng, 1, "bar");
    assert_accepted(a, ng, 2, "zen");
    assert_string_equal(a->bundle[2], "zen");
    assert_int_equal(a->media[2].n_codecs, 2); /* VP8 + its RTX */
    assert_int_equal(ng->media[2].kind, HX_SDP_VIDEO);
    assert_int_equal(ng->media[2].dir, HX_SDP_RECVONLY);
    assert_int_equal(ng->media[2].codecs[0].pt, 96);
    assert_int_equal(ng->media[2].codecs[0].rtx_pt, 97);
    assert_int_equal(ng->media[2].n_ssrcs, 2);
    assert_int_equal(ng->media[2].ssrcs[0].ssrc, 33333);
    free(a);
    free(ng);
}

/* §18.4: bar leaves the group for its own transport. hearth only does BUNDLE: bar is rejected. */
static void test_rfc8843_move_out(void **state)
{
    hx_sdp_negotiated *ng = malloc(sizeof *ng);
    hx_sdp *a = answer("rfc8843_offer_move_out.sdp", ng);
    assert_int_equal(a->n_bundle, 2);
    assert_accepted(a, ng, 0, "foo");
    assert_rejected(a, ng, 1, "bar");
    assert_accepted(a, ng, 2, "zen");
    free(a);
    free(ng);
}

/* §18.5: bar disabled (port 0 without bundle-only) is rejected, also when still listed in the
 * group; a port-0 m-line is bundle-only only when it says so (RFC 8843 §6). */
static void test_rfc8843_disable(void **state)
{
    hx_sdp_negotiated *ng = malloc(sizeof *ng);
    hx_sdp *a = answer("rfc8843_offer_disable.sdp", ng);
    assert_int_equal(a->n_media, 3);
    assert_int_equal(a->n_bundle, 2);
    assert_accepted(a, ng, 0, "foo");
    assert_rejected(a, ng, 1, "bar");
    assert_accepted(a, ng, 2, "zen");
    free(a);

    hx_sdp *offer = fixture_sdp("rfc8843_offer_disable.sdp");
    hx_sdp_error err;
    assert_non_null(offer);
    memcpy(offer->bundle[offer->n_bundle++], "bar", 4);
    offer->media[1].rtcp_mux = true; /* everything else about it acceptable */
    /* Still a valid offer: BUNDLE may name a port-0 m-line. */
    roundtrip(offer);
    a = malloc(sizeof *a);
    assert_int_equal(hx_sdp_answer(offer, &local, a, ng, &err), 0);
    roundtrip(a);
    assert_rejected(a, ng, 1, "bar");
    assert_int_equal(a->n_bundle, 2);
    free(offer);
    free(a);
    free(ng);
}

/* A max-bundle offer: bar, zen and the data m-line bundle-only, all accepted, in group order. */
static void test_bundle_only_offer(void **state)
{
    hx_sdp_negotiated *ng = malloc(sizeof *ng);
    hx_sdp *a = answer("rfc8843_bundle_only.sdp", ng);
    static const char *const mids[] = {"foo", "bar", "zen", "dc"};
    assert_int_equal(a->n_media, 4);
    assert_int_equal(a->n_bundle, 4);
    for (unsigned i = 0; i < 4; i++) {
        assert_accepted(a, ng, i, mids[i]);
        assert_string_equal(a->bundle[i], mids[i]);
    }
    assert_int_equal(a->media[3].proto, HX_SDP_PROTO_SCTP);
    assert_int_equal(a->media[3].sctp_port, 5000);
    assert_int_equal(ng->media[3].sctp_port, 5000);
    assert_int_equal(ng->media[1].codecs[0].pt, 96);
    assert_int_equal(ng->media[2].codecs[0].rtx_pt, 97);
    free(a);

    /* Bundle-only outside the BUNDLE group means nothing: zen is rejected. */
    hx_sdp *offer = fixture_sdp("rfc8843_bundle_only.sdp");
    hx_sdp_error err;
    assert_non_null(offer);
    memcpy(offer->bundle[2], "dc", 3);
    offer->n_bundle = 3;
    roundtrip(offer);
    a = malloc(sizeof *a);
    assert_int_equal(hx_sdp_answer(offer, &local, a, ng, &err), 0);
    roundtrip(a);
    assert_accepted(a, ng, 1, "bar");
    assert_rejected(a, ng, 2, "zen");
    assert_accepted(a, ng, 3, "dc");
    free(offer);
    free(a);
    free(ng);
}

/* Offers hearth can accept nothing of are errors, not all-rejecting answers. */
static void test_nothing_acceptable(void **state)
{
    hx_sdp *offer = fixture_sdp("rfc8843_bundle_only.sdp"), *a = malloc(sizeof *a);
    hx_sdp_negotiated *ng = malloc(sizeof *ng);
    hx_sdp_error err;
    assert_non_null(offer);
    /* Every m-line port 0 and none bundle-only: all disabled. */
    for (unsigned i = 0; i < offer->n_media; i++) {
        offer->media[i].port = 0;
        offer->media[i].bundle_only = false;
    }
    roundtrip(offer);
    assert_int_equal(hx_sdp_answer(offer, &local, a, ng, &err), HX_SDP_E_UNSUPPORTED);
    assert_non_null(err.what);
    free(offer);

    /* The RFC's own codecs (PCMU, PCMA, iLBC; H261, MPV), no data channel. */
    const char *text =
        "v=0\r\no=alice 2890844526 2890844526 IN IP4 203.0.113.1\r\ns=-\r\nt=0 0\r\n"
        "a=group:BUNDLE foo bar zen\r\n"
        "m=audio 10000 UDP/TLS/RTP/SAVPF 0 8 97\r\nc=IN IP4 203.0.113.1\r\n"
        "a=ice-ufrag:fooU\r\na=ice-pwd:fooUpasswordfooUpassword00\r\n"
        "a=fingerprint:sha-256 19:E2:1C:3B\r\na=setup:actpass\r\na=mid:foo\r\na=rtcp-mux\r\n"
        "a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:97 iLBC/8000\r\n"
        "m=video 0 UDP/TLS/RTP/SAVPF 31 32\r\nc=IN IP4 203.0.113.1\r\na=mid:bar\r\n"
        "a=bundle-only\r\na=rtpmap:31 H261/90000\r\na=rtpmap:32 MPV/90000\r\n"
        "m=video 0 UDP/TLS/RTP/SAVPF 66\r\nc=IN IP4 203.0.113.1\r\na=mid:zen\r\n"
        "a=bundle-only\r\na=rtpmap:66 H261/90000\r\n";
    offer = malloc(sizeof *offer);
    assert_int_equal(hx_sdp_parse(text, strlen(text), offer, &err), 0);
    assert_int_equal(hx_sdp_answer(offer, &local, a, ng, &err), HX_SDP_E_UNSUPPORTED);
    free(offer);
    free(a);
    free(ng);
}

/* GStreamer 1.22 webrtcbin, bundle-policy max-bundle: video tagged, audio and data bundle-only. */
static void test_gstreamer_max_bundle(void **state)
{
    hx_sdp_negotiated *ng = malloc(sizeof *ng);
    hx_sdp *offer = fixture_sdp("gst_pub_max_bundle.sdp");
    assert_non_null(offer);
    assert_int_equal(offer->n_media, 3);
    assert_true(offer->media[1].bundle_only && offer->media[2].bundle_only);
    assert_int_equal(offer->media[1].port, 0);
    assert_int_equal(offer->media[2].port, 0);
    free(offer);
    hx_sdp *a = answer("gst_pub_max_bundle.sdp", ng);
    assert_int_equal(a->n_bundle, 3);
    assert_accepted(a, ng, 0, "video0");
    assert_accepted(a, ng, 1, "audio1");
    assert_accepted(a, ng, 2, "application2");
    assert_string_equal(ng->remote_ufrag, "+g939z8KjU6DhuUKP9O8fBCBWGTRm81L");
    assert_true(ng->dtls_server);
    const hx_sdp_nego_media *v = &ng->media[0], *au = &ng->media[1], *d = &ng->media[2];
    assert_int_equal(v->kind, HX_SDP_VIDEO);
    assert_int_equal(v->n_codecs, 1);
    assert_int_equal(v->codecs[0].pt, 96);
    assert_string_equal(v->codecs[0].name, "VP8");
    /* No transport-cc extmap offered: its feedback goes, nack pli and ccm fir stay. */
    assert_int_equal(v->codecs[0].fb, HX_SDP_FB_PLI | HX_SDP_FB_FIR);
    assert_int_equal(v->n_ssrcs, 1);
    assert_int_equal(v->ssrcs[0].ssrc, 4208279007u);
    assert_int_equal(au->kind, HX_SDP_AUDIO);
    assert_int_equal(au->n_codecs, 1);
    assert_int_equal(au->codecs[0].pt, 111);
    assert_int_equal(au->codecs[0].clock, 48000);
    assert_int_equal(au->ssrcs[0].ssrc, 2711062606u);
    assert_int_equal(d->kind, HX_SDP_APPLICATION);
    assert_int_equal(d->sctp_port, 5000);
    assert_int_equal(a->media[2].proto, HX_SDP_PROTO_SCTP);
    free(a);
    free(ng);
}

/* ---- subscriber side ---------------------------------------------------------------- */

/* Build the next offer (re-parsed into *cur, *prev keeps the last one) and check it. */
static void build_and_check(hx_sdp_offerer *o, const hx_sdp_track *t, size_t nt,
                            const char *data_mid, hx_sdp *prev, hx_sdp *cur)
{
    hx_sdp_error err;
    uint64_t version = o->version;
    *prev = *cur;
    int rc = hx_sdp_offerer_build(o, &local, t, nt, data_mid, cur, &err);
    if (rc) fail_msg("build: %d %s", rc, err.what);
    roundtrip(cur);
    assert_int_equal(o->version, version + 1); /* RFC 8866 §5.2 */
    assert_int_equal(cur->sess_version, o->version);
    assert_int_equal(cur->sess_id, o->session_id);

    /* JSEP §5.2.2: m-lines stay where they are; a mid never moves; an m-line takes a
     * new mid only after it went port 0 in the previous offer. */
    assert_true(cur->n_media >= prev->n_media);
    for (unsigned i = 0; i < prev->n_media; i++) {
        assert_int_equal(cur->media[i].kind, prev->media[i].kind);
        if (strcmp(cur->media[i].mid, prev->media[i].mid) != 0)
            assert_int_equal(prev->media[i].port, 0);
        const hx_sdp_media *same = hx_sdp_find_mid(cur, prev->media[i].mid);
        if (same) assert_ptr_equal(same, &cur->media[i]);
    }
    /* Live tracks: sendonly, a port, bundled; everything else port 0 and out of BUNDLE. */
    unsigned live = 0;
    for (size_t k = 0; k < nt; k++) {
        const hx_sdp_media *m = hx_sdp_find_mid(cur, t[k].mid);
        assert_non_null(m);
        assert_int_equal(m->kind, t[k].kind);
        assert_int_not_equal(m->port, 0);
        assert_int_equal(m->dir, HX_SDP_SENDONLY);
        assert_int_equal(m->codecs[0].pt, t[k].codec.pt);
        assert_int_equal(m->ssrcs[0].ssrc, t[k].ssrc);
        assert_true(in_bundle(cur, t[k].mid));
        live++;
    }
    if (data_mid) {
        const hx_sdp_media *d = hx_sdp_find_mid(cur, data_mid);
        assert_non_null(d);
        assert_int_equal(d->kind, HX_SDP_APPLICATION);
        assert_int_not_equal(d->port, 0);
        assert_true(in_bundle(cur, data_mid));
        live++;
    }
    assert_int_equal(cur->n_bundle, live);
    for (unsigned i = 0; i < cur->n_media; i++) {
        const hx_sdp_media *m = &cur->media[i];
        if (in_bundle(cur, m->mid)) continue;
        assert_int_equal(m->port, 0);
        assert_false(m->bundle_only);
        if (m->proto == HX_SDP_PROTO_RTP) assert_int_equal(m->dir, HX_SDP_INACTIVE);
    }
    /* The tagged m-line carries hearth's transport (ICE-lite, actpass). */
    if (cur->n_bundle) {
        const hx_sdp_media *tag = hx_sdp_find_mid(cur, cur->bundle[0]);
        assert_string_equal(tag->ice_ufrag, local.ice_ufrag);
        assert_int_equal(tag->setup, HX_SDP_SETUP_ACTPASS);
    }
}

/* Answer *offer as the client would (rejecting the m-lines in reject), apply, check. */
static void answer_and_apply(const hx_sdp *offer, uint64_t reject)
{
    hx_sdp *ans = scratch.ans;
    hx_sdp_negotiated *ng = scratch.ng;
    hx_sdp_error err;
    peer_client_answer(offer, reject, ans);
    roundtrip(ans);
    int rc = hx_sdp_answer_apply(offer, ans, ng, &err);
    if (rc) fail_msg("apply: %d %s", rc, err.what);
    assert_int_equal(ng->n_media, offer->n_media);
    for (unsigned i = 0; i < offer->n_media; i++) {
        const hx_sdp_media *m = &offer->media[i];
        assert_string_equal(ng->media[i].mid, m->mid);
        assert_int_equal(ng->media[i].accepted, m->port && !(reject >> i & 1));
        if (!ng->media[i].accepted || m->kind == HX_SDP_APPLICATION) continue;
        assert_int_equal(ng->media[i].dir, HX_SDP_SENDONLY);
        assert_int_equal(ng->media[i].codecs[0].pt, m->codecs[0].pt);
    }
    if (ans->n_bundle) {
        assert_string_equal(ng->remote_ufrag, "cliU");
        assert_true(ng->dtls_server);
    }
}

static void test_offerer_sequence(void **state)
{
    hx_sdp_offerer o;
    hx_sdp *prev = malloc(sizeof *prev), *cur = calloc(1, sizeof *cur);
    hx_sdp_offerer_init(&o, 31337);
    hx_sdp_track a0 = track(HX_SDP_AUDIO, "a0", 100), a1 = track(HX_SDP_AUDIO, "a1", 200);
    hx_sdp_track v0 = track(HX_SDP_VIDEO, "v0", 300), v1 = track(HX_SDP_VIDEO, "v1", 400);
    hx_sdp_track v2 = track(HX_SDP_VIDEO, "v2", 500), v3 = track(HX_SDP_VIDEO, "v3", 600);
    static const struct {
        unsigned n;
        const char *data;
        uint64_t reject; /* m-lines the client rejects in its answer */
    } steps[] = {
        {3, "dc", 0}, {3, "dc", 0}, {2, "dc", 0}, {3, "dc", 2}, {3, "dc", 0},
        {2, NULL, 0}, {5, "dc", 0}, {0, NULL, 0}, {1, "dc", 1},
    };
    const hx_sdp_track seq[][5] = {
        {a0, v0, v1},         /* 1: two video, one audio, data */
        {a0, v0, v1},         /* 2: the same again (a plain renegotiation) */
        {a0, v1},             /* 3: v0 removed */
        {a0, v1, v2},         /* 4: v2 added; the client rejects m-line 1 */
        {a0, v2, v3},         /* 5: v1 out and v3 in at once: v3 must not take v1's m-line */
        {v2, v3},             /* 6: a0 and the data channel removed */
        {v3, a0, v2, a1, v1}, /* 7: a0 and v1 back, a1 new, data back */
        {{0}},                /* 8: nothing */
        {v0},                 /* 9: v0 alone */
    };
    for (unsigned s = 0; s < sizeof steps / sizeof steps[0]; s++) {
        build_and_check(&o, seq[s], steps[s].n, steps[s].data, prev, cur);
        answer_and_apply(cur, steps[s].reject);
    }
    assert_int_equal(o.version, 9);

    /* A failed build leaves the offerer as it was; the next one goes on from it. */
    hx_sdp_offerer before = o;
    hx_sdp_error err;
    hx_sdp_track dup[2] = {v0, v0};
    assert_int_equal(hx_sdp_offerer_build(&o, &local, dup, 2, NULL, prev, &err),
                     HX_SDP_E_DUPLICATE);
    assert_memory_equal(&before, &o, sizeof o);
    hx_sdp_track clash = track(HX_SDP_AUDIO, "dc", 700); /* the data m-line's mid */
    assert_int_not_equal(hx_sdp_offerer_build(&o, &local, &clash, 1, NULL, prev, &err), 0);
    assert_memory_equal(&before, &o, sizeof o);
    build_and_check(&o, &v3, 1, "dc", prev, cur);
    answer_and_apply(cur, 0);
    assert_int_equal(o.version, 10);
    free(prev);
    free(cur);
}

/* The shared sequence of peers.h (the one real Chromium and aiortc answered) under the same
 * invariants, the client rejecting the last m-line each time. */
static void test_offerer_peers_sequence(void **state)
{
    hx_sdp_offerer o;
    hx_sdp *prev = malloc(sizeof *prev), *cur = calloc(1, sizeof *cur);
    hx_sdp_track t[3];
    hx_sdp_offerer_init(&o, 777);
    for (int step = 1; step <= 5; step++) {
        size_t n = sequence_step(step, t);
        build_and_check(&o, t, n, "data", prev, cur);
        answer_and_apply(cur, 0);
        answer_and_apply(cur, (uint64_t)1 << (cur->n_media - 1));
    }
    free(prev);
    free(cur);
}

/* Many renegotiations with tracks coming and going, a few at a time and some in the same
 * build, past the point where removed m-lines get reused (wherever that point is). */
static void test_offerer_churn(void **state)
{
    enum { POOL = 48, MAX_LIVE = 12, STEPS = 120 };
    hx_sdp_offerer o;
    hx_sdp *prev = malloc(sizeof *prev), *cur = calloc(1, sizeof *cur);
    static char mids[POOL][8];
    bool on[POOL] = {false};
    hx_sdp_track t[MAX_LIVE];
    uint32_t rnd = 12345;
    hx_sdp_offerer_init(&o, 1);
    for (unsigned i = 0; i < POOL; i++)
        snprintf(mids[i], sizeof mids[i], "%c%u", i % 3 ? 'v' : 'a', i);
    for (unsigned step = 0; step < STEPS; step++) {
        for (unsigned c = 0; c < 3; c++) { /* up to three changes per offer */
            rnd = rnd * 1103515245u + 12345u;
            unsigned k = (rnd >> 8) % POOL, live = 0;
            for (unsigned i = 0; i < POOL; i++)
                live += on[i];
            if (on[k] || live < MAX_LIVE) on[k] = !on[k];
        }
        size_t n = 0;
        for (unsigned i = 0; i < POOL; i++)
            if (on[i]) t[n++] = track(i % 3 ? HX_SDP_VIDEO : HX_SDP_AUDIO, mids[i], 10 * i + 10);
        build_and_check(&o, t, n, step % 4 ? "dc" : NULL, prev, cur);
        answer_and_apply(cur, (uint64_t)1 << (step % cur->n_media));
    }
    assert_int_equal(o.version, STEPS);
    assert_true(cur->n_media <= HX_SDP_MAX_MEDIA);
    free(prev);
    free(cur);
}

/* 64 m-lines is the limit: 64 live tracks fit (and write), one more m-line does not. */
static void test_offerer_limit(void **state)
{
    hx_sdp_offerer o;
    hx_sdp *prev = malloc(sizeof *prev), *cur = calloc(1, sizeof *cur);
    hx_sdp_track *t = malloc(HX_SDP_MAX_MEDIA * sizeof *t);
    static char mids[HX_SDP_MAX_MEDIA][8];
    hx_sdp_error err;
    hx_sdp_offerer_init(&o, 5);
    for (unsigned i = 0; i < HX_SDP_MAX_MEDIA; i++) {
        snprintf(mids[i], sizeof mids[i], "t%u", i);
        t[i] = track(i % 2 ? HX_SDP_VIDEO : HX_SDP_AUDIO, mids[i], 1000 + 2 * i);
    }
    build_and_check(&o, t, HX_SDP_MAX_MEDIA, NULL, prev, cur);
    assert_int_equal(cur->n_media, HX_SDP_MAX_MEDIA);
    answer_and_apply(cur, 0);
    hx_sdp_offerer before = o;
    assert_int_equal(hx_sdp_offerer_build(&o, &local, t, HX_SDP_MAX_MEDIA, "dc", prev, &err),
                     HX_SDP_E_LIMIT);
    assert_memory_equal(&before, &o, sizeof o);
    free(t);
    free(prev);
    free(cur);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc8843_initial),
        cmocka_unit_test(test_rfc8843_add_bundle_only),
        cmocka_unit_test(test_rfc8843_move_out),
        cmocka_unit_test(test_rfc8843_disable),
        cmocka_unit_test(test_bundle_only_offer),
        cmocka_unit_test(test_nothing_acceptable),
        cmocka_unit_test(test_gstreamer_max_bundle),
        cmocka_unit_test(test_offerer_sequence),
        cmocka_unit_test(test_offerer_peers_sequence),
        cmocka_unit_test(test_offerer_churn),
        cmocka_unit_test(test_offerer_limit),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
