/*
 * Unit tests for offer/answer: hearth's answers to the captured Chromium and
 * aiortc offers (codecs chosen, PTs mirrored, directions, DTLS role, extmap
 * ids unique across the bundle, simulcast mirrored), re-parsed from text;
 * H.264 profile-level-id matching (RFC 6184 §8.1, libwebrtc's table); the
 * subscriber offer through add / remove / recycle / re-add with stable
 * m-line order and a rising version; and applying Chromium's and aiortc's
 * real answers to the same (deterministic) hearth offers.
 */
#include "sdp/negotiate.h"
#include "fixture.h"
#include "peers.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

/* Answer a fixture, write it, parse the text back. */
static hx_sdp *answer_fixture(const char *name, hx_sdp_negotiated *nego)
{
    hx_sdp *offer = fixture_sdp(name), *ans = malloc(sizeof *ans);
    char *text = malloc(HX_SDP_MAX_LEN + 1);
    hx_sdp_error err;
    assert_non_null(offer);
    assert_int_equal(hx_sdp_answer(offer, &local, ans, nego, &err), 0);
    long n = hx_sdp_write(ans, text, HX_SDP_MAX_LEN + 1);
    assert_true(n > 0);
    assert_int_equal(hx_sdp_parse(text, (size_t)n, ans, &err), 0);
    free(offer);
    free(text);
    return ans;
}

static const hx_sdp_nego_codec *nego_pt(const hx_sdp_nego_media *m, unsigned pt)
{
    for (unsigned i = 0; i < m->n_codecs; i++)
        if (m->codecs[i].pt == pt) return &m->codecs[i];
    return NULL;
}

static void test_answer_chromium(void **state)
{
    hx_sdp_negotiated *ng = malloc(sizeof *ng);
    hx_sdp *a = answer_fixture("chromium_pub.sdp", ng);
    assert_true(a->ice_lite);
    assert_int_equal(a->n_bundle, 3);
    assert_true(ng->dtls_server);
    assert_string_equal(ng->remote_ufrag, "11HM");
    assert_memory_equal(ng->remote_fingerprint.hex, "2D:D9:F5:47", 11);
    /* audio: opus 111 + RED 63 only, mirrored, recvonly, passive. */
    const hx_sdp_media *au = &a->media[0];
    assert_string_equal(au->mid, "0");
    assert_int_equal(au->dir, HX_SDP_RECVONLY);
    assert_int_equal(au->setup, HX_SDP_SETUP_PASSIVE);
    assert_int_equal(au->n_codecs, 2);
    assert_int_equal(au->codecs[0].pt, 111);
    assert_string_equal(au->codecs[0].fmtp, "minptime=10;useinbandfec=1");
    assert_int_equal(au->codecs[1].pt, 63);
    assert_string_equal(au->ice_ufrag, "hxUF");
    assert_int_equal(au->n_cands, 1);
    assert_int_equal(ng->media[0].ext_id[HX_SDP_EXT_AUDIO_LEVEL], 1);
    assert_int_equal(ng->media[0].ext_id[HX_SDP_EXT_TCC], 3);
    assert_int_equal(ng->media[0].n_ssrcs, 1);
    assert_int_equal(ng->media[0].ssrcs[0].ssrc, 200015246);
    /* video: VP8, H264 pm=1 (42001f, 42e01f, 4d001f), AV1, VP9 profile 0, with RTX. */
    const hx_sdp_nego_media *v = &ng->media[1];
    static const unsigned want[][2] = {{96, 97},   {102, 103}, {108, 109},
                                       {116, 117}, {45, 46},   {98, 99}};
    assert_int_equal(v->n_codecs, 6);
    for (unsigned i = 0; i < 6; i++) {
        assert_int_equal(v->codecs[i].pt, want[i][0]);
        assert_int_equal(v->codecs[i].rtx_pt, want[i][1]);
        assert_int_equal(v->codecs[i].fb, HX_SDP_FB_NACK | HX_SDP_FB_PLI | HX_SDP_FB_FIR |
                                              HX_SDP_FB_REMB | HX_SDP_FB_TCC);
    }
    assert_null(nego_pt(v, 104)); /* packetization-mode=0 */
    assert_null(nego_pt(v, 100)); /* VP9 profile 2 */
    assert_null(nego_pt(v, 118)); /* video RED, ulpfec */
    assert_null(nego_pt(v, 120));
    assert_int_equal(a->media[1].n_codecs, 12);
    assert_int_equal(hx_sdp_extmap_id(&a->media[1], "urn:3gpp:video-orientation"), 0);
    assert_int_equal(v->ext_id[HX_SDP_EXT_RID], 10);
    assert_int_equal(v->ext_id[HX_SDP_EXT_RRID], 11);
    assert_int_equal(v->ext_id[HX_SDP_EXT_ABS_SEND_TIME], 2);
    assert_int_equal(v->ext_id[HX_SDP_EXT_AUDIO_LEVEL], 0);
    assert_int_equal(v->n_ssrc_groups, 1);
    assert_int_equal(v->ssrc_groups[0].ssrcs[1], 1006924124u);
    /* data */
    assert_true(ng->media[2].accepted);
    assert_int_equal(a->media[2].sctp_port, 5000);
    assert_int_equal(ng->media[2].max_message_size, 262144);
    free(a);
    free(ng);
}

static void test_answer_simulcast(void **state)
{
    hx_sdp_negotiated *ng = malloc(sizeof *ng);
    hx_sdp *a = answer_fixture("chromium_pub_simulcast.sdp", ng);
    const hx_sdp_media *v = &a->media[1];
    assert_int_equal(v->n_rids, 3);
    assert_int_equal(v->rids[0].dir, HX_SDP_RECVONLY);
    assert_string_equal(v->rids[1].id, "h");
    assert_true(v->has_simulcast);
    assert_int_equal(v->simulcast.n_recv, 3);
    assert_int_equal(v->simulcast.n_send, 0);
    assert_int_equal(ng->media[1].simulcast.n_send, 3);
    assert_string_equal(ng->media[1].rids[2].id, "f");
    free(a);
    free(ng);
}

static void test_answer_aiortc(void **state)
{
    hx_sdp_negotiated *ng = malloc(sizeof *ng);
    hx_sdp *a = answer_fixture("aiortc_pub.sdp", ng);
    assert_string_equal(ng->remote_ufrag, "DIQx"); /* the offerer-tagged m-line's */
    assert_int_equal(a->n_bundle, 3);
    assert_int_equal(a->media[0].dir, HX_SDP_RECVONLY); /* offered sendrecv */
    assert_int_equal(a->media[0].n_codecs, 1);
    assert_int_equal(a->media[0].codecs[0].pt, 96);
    /* Ids unique across the bundle: abs-send-time loses id 2 to audio-level. */
    const char *by_id[256] = {NULL};
    for (unsigned i = 0; i < a->n_media; i++)
        for (unsigned e = 0; e < a->media[i].n_extmaps; e++) {
            const hx_sdp_extmap *x = &a->media[i].extmaps[e];
            if (by_id[x->id]) assert_string_equal(by_id[x->id], x->uri);
            by_id[x->id] = x->uri;
        }
    assert_int_equal(ng->media[0].ext_id[HX_SDP_EXT_AUDIO_LEVEL], 2);
    assert_int_equal(ng->media[1].ext_id[HX_SDP_EXT_ABS_SEND_TIME], 0);
    assert_int_equal(ng->media[1].ext_id[HX_SDP_EXT_MID], 1);
    assert_int_equal(ng->media[1].n_ext, 1);
    /* VP8 97/98 and both H264 pm=1 profiles with RTX; no goog-remb without abs-send-time. */
    assert_int_equal(ng->media[1].n_codecs, 3);
    assert_int_equal(ng->media[1].codecs[0].rtx_pt, 98);
    assert_int_equal(ng->media[1].codecs[2].pt, 101);
    assert_int_equal(ng->media[1].codecs[0].fb, HX_SDP_FB_NACK | HX_SDP_FB_PLI);
    /* legacy data m-line answered in kind */
    assert_int_equal(a->media[2].proto, HX_SDP_PROTO_SCTP_LEGACY);
    assert_string_equal(a->media[2].fmt, "5000");
    assert_int_equal(ng->media[2].max_message_size, 65536);
    free(a);
    free(ng);
}

static void test_answer_rejects(void **state)
{
    const char *text =
        "v=0\no=- 1 1 IN IP4 0.0.0.0\ns=-\nt=0 0\na=group:BUNDLE a v x\n"
        "a=ice-ufrag:abcd\na=ice-pwd:passwordpasswordpassword\n"
        "a=fingerprint:sha-256 AB:CD\na=setup:passive\n"
        "m=audio 9 UDP/TLS/RTP/SAVPF 0\na=mid:a\na=rtcp-mux\na=rtpmap:0 PCMU/8000\n"
        "m=video 9 UDP/TLS/RTP/SAVPF 96\na=mid:v\na=rtpmap:96 VP8/90000\n"
        "m=video 9 UDP/TLS/RTP/SAVPF 97\na=mid:x\na=rtcp-mux\na=rtpmap:97 VP8/90000\n"
        "a=recvonly\nm=video 0 UDP/TLS/RTP/SAVPF 98\na=mid:z\n";
    hx_sdp *o = malloc(sizeof *o), *a = malloc(sizeof *a);
    hx_sdp_negotiated *ng = malloc(sizeof *ng);
    hx_sdp_error err;
    assert_int_equal(hx_sdp_parse(text, strlen(text), o, &err), 0);
    assert_int_equal(hx_sdp_answer(o, &local, a, ng, &err), 0);
    assert_int_equal(a->media[0].port, 0); /* PCMU only */
    assert_int_equal(a->media[1].port, 0); /* no rtcp-mux */
    assert_int_equal(a->media[2].port, 9);
    assert_int_equal(a->media[2].dir, HX_SDP_INACTIVE); /* offered recvonly */
    assert_int_equal(a->media[3].port, 0);
    assert_int_equal(a->n_bundle, 1);
    assert_string_equal(a->bundle[0], "x");
    assert_false(ng->dtls_server); /* offer said passive */
    assert_int_equal(a->media[2].setup, HX_SDP_SETUP_ACTIVE);
    /* Everything unacceptable, no BUNDLE, no credentials: errors. */
    o->media[2].port = 0;
    assert_int_equal(hx_sdp_answer(o, &local, a, ng, &err), HX_SDP_E_UNSUPPORTED);
    o->n_bundle = 0;
    assert_int_equal(hx_sdp_answer(o, &local, a, ng, &err), HX_SDP_E_MISSING);
    o->n_bundle = 3;
    o->media[0].ice_pwd[0] = '\0';
    assert_int_equal(hx_sdp_answer(o, &local, a, ng, &err), HX_SDP_E_MISSING);
    assert_non_null(err.what);
    hx_sdp_local bad = local;
    bad.fp_hex = NULL;
    assert_int_equal(hx_sdp_answer(o, &bad, a, ng, &err), HX_SDP_E_MISSING);
    free(o);
    free(a);
    free(ng);
}

static void test_h264_profiles(void **state)
{
    static const struct {
        const char *fmtp;
        hx_h264_profile p;
    } cases[] = {
        {"profile-level-id=42e01f", HX_H264_CONSTRAINED_BASELINE},
        {"profile-level-id=42c01f", HX_H264_CONSTRAINED_BASELINE}, /* set0 + set1 */
        {"profile-level-id=4de01f", HX_H264_CONSTRAINED_BASELINE}, /* main with set1 */
        {"profile-level-id=58c01f", HX_H264_CONSTRAINED_BASELINE},
        {"profile-level-id=42001f", HX_H264_BASELINE},
        {"profile-level-id=42800a", HX_H264_BASELINE},
        {"profile-level-id=58801f", HX_H264_BASELINE},
        {"profile-level-id=4d001f", HX_H264_MAIN},
        {"profile-level-id=4d0032", HX_H264_MAIN},
        {"profile-level-id=640032", HX_H264_HIGH},
        {"profile-level-id=640c1f", HX_H264_CONSTRAINED_HIGH},
        {"profile-level-id=f4001f", HX_H264_PREDICTIVE_HIGH_444},
        {"", HX_H264_CONSTRAINED_BASELINE}, /* absent: libwebrtc's default */
        {"profile-level-id=42e0", HX_H264_NONE},
        {"profile-level-id=zze01f", HX_H264_NONE},
        {"profile-level-id=42e000", HX_H264_NONE}, /* level 0 */
        {"profile-level-id=420f1f", HX_H264_NONE}, /* reserved bits set */
        {"profile-level-id=6e001f", HX_H264_NONE}, /* High 10: not in the table */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (hx_sdp_h264_profile(cases[i].fmtp) != cases[i].p)
            fail_msg("%s: %d", cases[i].fmtp, hx_sdp_h264_profile(cases[i].fmtp));

    hx_sdp_codec_cap cb = {HX_SDP_VIDEO, "H264", 90000, 0,
                           "packetization-mode=1;profile-level-id=42e01f"};
    hx_sdp_codec c = {.pt = 100, .name = "h264", .clock = 90000};
    static const struct {
        const char *fmtp;
        bool match;
    } m[] = {
        {"level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f", true},
        {"packetization-mode=1;profile-level-id=42e034", true},  /* other level */
        {"packetization-mode=1;profile-level-id=4de01f", true},  /* same profile, other idc */
        {"packetization-mode=1;profile-level-id=42001f", false}, /* baseline */
        {"packetization-mode=1;profile-level-id=4d001f", false}, /* main */
        {"packetization-mode=0;profile-level-id=42e01f", false},
        {"profile-level-id=42e01f", false}, /* mode 0 by default */
        {"packetization-mode=1", true},     /* absent profile: constrained baseline */
        {"packetization-mode=x;profile-level-id=42e01f", false},
    };
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
        snprintf(c.fmtp, sizeof c.fmtp, "%s", m[i].fmtp);
        if (hx_sdp_codec_match(HX_SDP_VIDEO, &c, &cb) != m[i].match) fail_msg("%s", m[i].fmtp);
    }
    assert_false(hx_sdp_codec_match(HX_SDP_AUDIO, &c, &cb));
    hx_sdp_codec_cap vp9 = {HX_SDP_VIDEO, "VP9", 90000, 0, "profile-id=0"};
    hx_sdp_codec v = {.pt = 98, .name = "VP9", .clock = 90000};
    assert_true(hx_sdp_codec_match(HX_SDP_VIDEO, &v, &vp9));
    snprintf(v.fmtp, sizeof v.fmtp, "profile-id=2");
    assert_false(hx_sdp_codec_match(HX_SDP_VIDEO, &v, &vp9));
    hx_sdp_codec_cap opus = {HX_SDP_AUDIO, "opus", 48000, 2, NULL};
    hx_sdp_codec o = {.pt = 111, .name = "OPUS", .clock = 48000, .channels = 2};
    assert_true(hx_sdp_codec_match(HX_SDP_AUDIO, &o, &opus));
    o.channels = 1;
    assert_false(hx_sdp_codec_match(HX_SDP_AUDIO, &o, &opus));
}

/* Build step `step` of sdptool's sequence, write it, parse it back into *out. */
static void offer_step(hx_sdp_offerer *o, int step, hx_sdp *out)
{
    hx_sdp_track t[3];
    size_t n = sequence_step(step, t);
    char *text = malloc(HX_SDP_MAX_LEN + 1);
    hx_sdp_error err;
    assert_int_equal(hx_sdp_offerer_build(o, &local, t, n, "data", out, &err), 0);
    long len = hx_sdp_write(out, text, HX_SDP_MAX_LEN + 1);
    assert_true(len > 0);
    assert_int_equal(hx_sdp_parse(text, (size_t)len, out, &err), 0);
    free(text);
}

static void assert_mids(const hx_sdp *s, const char *const *mids, const uint16_t *ports, unsigned n)
{
    assert_int_equal(s->n_media, n);
    for (unsigned i = 0; i < n; i++) {
        assert_string_equal(s->media[i].mid, mids[i]);
        assert_int_equal(s->media[i].port, ports[i]);
    }
}

static void test_offer_renegotiation(void **state)
{
    hx_sdp_offerer o;
    hx_sdp *s = malloc(sizeof *s);
    hx_sdp_offerer_init(&o, 777);
    assert_int_equal(o.recycle_after, HX_SDP_RECYCLE_AFTER);
    o.recycle_after = 1; /* recycle at once: the path past the bound */

    offer_step(&o, 1, s);
    assert_int_equal(s->sess_id, 777);
    assert_int_equal(s->sess_version, 1);
    assert_true(s->ice_lite);
    assert_mids(s, (const char *[]){"a0", "v0", "data"}, (const uint16_t[]){9, 9, 9}, 3);
    assert_int_equal(s->n_bundle, 3);
    const hx_sdp_media *v = &s->media[1];
    assert_int_equal(v->dir, HX_SDP_SENDONLY);
    assert_int_equal(v->setup, HX_SDP_SETUP_ACTPASS);
    assert_true(v->rtcp_mux && v->rtcp_rsize);
    assert_int_equal(v->n_codecs, 2);
    assert_string_equal(v->codecs[1].fmtp, "apt=96");
    assert_int_equal(v->n_ssrc_groups, 1);
    assert_string_equal(v->ssrc_groups[0].semantics, "FID");
    assert_int_equal(v->ssrc_groups[0].ssrcs[1], 2001);
    assert_string_equal(v->ssrcs[1].cname, "hearthcname");
    assert_string_equal(v->msid, "stream-x v0");
    assert_int_equal(hx_sdp_extmap_id(v, HX_SDP_EXT_ABS_SEND_TIME_URI), 2);
    assert_int_equal(s->media[2].sctp_port, 5000);

    offer_step(&o, 2, s); /* v0 removed: port 0 in place; v1 appended */
    assert_int_equal(s->sess_version, 2);
    assert_mids(s, (const char *[]){"a0", "v0", "data", "v1"}, (const uint16_t[]){9, 0, 9, 9}, 4);
    assert_int_equal(s->media[1].dir, HX_SDP_INACTIVE);
    assert_int_equal(s->media[1].codecs[0].pt, 96);
    /* A removed m-line keeps ICE, DTLS and rtcp-mux (aiortc requires them), no candidates. */
    assert_string_equal(s->media[1].ice_ufrag, s->media[0].ice_ufrag);
    assert_string_equal(s->media[1].fingerprint.hex, s->media[0].fingerprint.hex);
    assert_int_equal(s->media[1].setup, HX_SDP_SETUP_ACTPASS);
    assert_true(s->media[1].rtcp_mux);
    assert_int_equal(s->media[1].n_cands, 0);
    assert_int_equal(s->n_bundle, 3);
    assert_ptr_equal(hx_sdp_find_mid(s, "v0"), &s->media[1]);

    offer_step(&o, 3, s); /* v2 recycles v0's m-line */
    assert_int_equal(s->sess_version, 3);
    assert_mids(s, (const char *[]){"a0", "v2", "data", "v1"}, (const uint16_t[]){9, 9, 9, 9}, 4);
    assert_int_equal(s->media[1].ssrcs[0].ssrc, 4000);

    offer_step(&o, 4, s); /* a0 removed */
    assert_mids(s, (const char *[]){"a0", "v2", "data", "v1"}, (const uint16_t[]){0, 9, 9, 9}, 4);
    assert_int_equal(s->media[0].kind, HX_SDP_AUDIO);

    offer_step(&o, 5, s); /* a0 back in its own m-line */
    assert_int_equal(s->sess_version, 5);
    assert_mids(s, (const char *[]){"a0", "v2", "data", "v1"}, (const uint16_t[]){9, 9, 9, 9}, 4);
    assert_int_equal(s->n_bundle, 4);

    /* Errors leave the state alone. */
    hx_sdp_offerer before = o;
    hx_sdp_error err;
    hx_sdp_track bad[2] = {track(HX_SDP_AUDIO, "x", 1), track(HX_SDP_VIDEO, "x", 2)};
    assert_int_equal(hx_sdp_offerer_build(&o, &local, bad, 2, NULL, s, &err), HX_SDP_E_DUPLICATE);
    bad[1].mid = "y";
    bad[1].ext[0].id = 1; /* audio-level's id, given to abs-send-time */
    assert_int_equal(hx_sdp_offerer_build(&o, &local, bad, 2, NULL, s, &err), HX_SDP_E_DUPLICATE);
    bad[0].mid = "v1"; /* an audio track on a video m-line's mid */
    assert_int_equal(hx_sdp_offerer_build(&o, &local, bad, 1, NULL, s, &err), HX_SDP_E_DUPLICATE);
    bad[0].mid = "fifteen-chars-x"; /* the longest mid an offer slot keeps (15), then one more */
    assert_int_equal(hx_sdp_offerer_build(&before, &local, bad, 1, NULL, s, &err), 0);
    bad[0].mid = "sixteen-chars-xx";
    assert_int_equal(hx_sdp_offerer_build(&o, &local, bad, 1, NULL, s, &err), HX_SDP_E_VALUE);
    before = o;
    assert_int_equal(hx_sdp_offerer_build(&o, &local, bad, 1, "data-mid-is-too-long", s, &err),
                     HX_SDP_E_VALUE);
    assert_memory_equal(&before, &o, sizeof o);
    free(s);
}

/* Below the bound a new track gets a new m-line; removed ones are reused only past it. */
static void test_offer_recycle_bound(void **state)
{
    (void)state;
    hx_sdp_offerer o;
    hx_sdp *s = malloc(sizeof *s);
    hx_sdp_offerer_init(&o, 9);
    offer_step(&o, 1, s);
    offer_step(&o, 2, s);
    offer_step(&o, 3, s); /* v2 appended: v0's m-line stays port 0 */
    assert_mids(s, (const char *[]){"a0", "v0", "data", "v1", "v2"},
                (const uint16_t[]){9, 0, 9, 9, 9}, 5);
    /* Past the bound, the next new track takes the removed m-line. */
    o.recycle_after = 5;
    hx_sdp_track t[4];
    size_t n = sequence_step(3, t);
    t[n] = t[n - 1];
    t[n].mid = "v9";
    t[n].ssrc = 9000;
    t[n].rtx_ssrc = 9001;
    n++;
    hx_sdp_error err;
    assert_int_equal(hx_sdp_offerer_build(&o, &local, t, n, "data", s, &err), 0);
    assert_int_equal(s->n_media, 5);
    assert_string_equal(s->media[1].mid, "v9");
    assert_int_equal(s->media[1].port, 9);
    free(s);
}

/* data_first: the data m-line is the first m-line and the BUNDLE tag, whatever comes later. */
static void test_offer_data_first(void **state)
{
    (void)state;
    hx_sdp_offerer o;
    hx_sdp *s = malloc(sizeof *s);
    hx_sdp_offerer_init(&o, 5);
    o.data_first = true;
    offer_step(&o, 1, s);
    assert_mids(s, (const char *[]){"data", "a0", "v0"}, (const uint16_t[]){9, 9, 9}, 3);
    assert_string_equal(s->bundle[0], "data");
    offer_step(&o, 4, s); /* a0 and v0 gone, v1 and v2 added: the tag stays */
    assert_string_equal(s->media[0].mid, "data");
    assert_string_equal(s->bundle[0], "data");
    assert_int_equal(s->media[1].port, 0);
    assert_int_equal(s->media[2].port, 0);
    free(s);
}

static void apply_fixture(int step, const char *name, bool chromium)
{
    hx_sdp_offerer o;
    hx_sdp *offer = malloc(sizeof *offer);
    hx_sdp_negotiated *ng = malloc(sizeof *ng);
    hx_sdp_error err;
    hx_sdp_offerer_init(&o, 777);
    o.recycle_after = 1; /* the fixtures answer offers that recycled */
    for (int i = 1; i <= step; i++)
        offer_step(&o, i, offer);
    hx_sdp *ans = fixture_sdp(name);
    assert_non_null(ans);
    assert_int_equal(hx_sdp_answer_apply(offer, ans, ng, &err), 0);
    assert_true(ng->dtls_server); /* both peers answer setup:active */
    assert_string_equal(ng->remote_ufrag, chromium ? "NcYH" : "1Z4y");
    unsigned vi = step == 1 ? 1 : 3; /* v0, or v1 in offer 3 */
    assert_true(ng->media[vi].accepted);
    assert_int_equal(ng->media[vi].dir, HX_SDP_SENDONLY);
    assert_int_equal(ng->media[vi].codecs[0].pt, 96);
    assert_int_equal(ng->media[vi].codecs[0].rtx_pt, 97);
    assert_int_equal(ng->media[vi].ext_id[HX_SDP_EXT_ABS_SEND_TIME], 2);
    assert_int_equal(ng->media[vi].ext_id[HX_SDP_EXT_TCC], chromium ? 3 : 0); /* aiortc: no TCC */
    assert_int_equal(ng->media[0].ext_id[HX_SDP_EXT_AUDIO_LEVEL], 1);
    assert_true(ng->media[2].accepted);

    /* A tampered answer is refused. */
    ans->media[0].codecs[0].pt = 55;
    assert_int_equal(hx_sdp_answer_apply(offer, ans, ng, &err), HX_SDP_E_MISMATCH);
    ans->media[0].codecs[0].pt = 111;
    ans->media[0].extmaps[0].id = 9;
    assert_int_equal(hx_sdp_answer_apply(offer, ans, ng, &err), HX_SDP_E_MISMATCH);
    ans->media[0].extmaps[0].id = 1;
    memcpy(ans->media[1].mid, "zz", 3);
    assert_int_equal(hx_sdp_answer_apply(offer, ans, ng, &err), HX_SDP_E_MISMATCH);
    memcpy(ans->media[1].mid, offer->media[1].mid, HX_SDP_TOKEN_LEN);
    hx_sdp_media *tag = (hx_sdp_media *)hx_sdp_find_mid(ans, ans->bundle[0]);
    tag->setup = HX_SDP_SETUP_ACTPASS;
    assert_int_equal(hx_sdp_answer_apply(offer, ans, ng, &err), HX_SDP_E_MISMATCH);
    tag->setup = HX_SDP_SETUP_PASSIVE;
    assert_int_equal(hx_sdp_answer_apply(offer, ans, ng, &err), 0);
    assert_false(ng->dtls_server);
    ans->n_media--;
    assert_int_equal(hx_sdp_answer_apply(offer, ans, ng, &err), HX_SDP_E_MISMATCH);
    free(ans);
    free(offer);
    free(ng);
}

static void test_apply_answers(void **state)
{
    apply_fixture(1, "chromium_answer_to_hearth_offer1.sdp", true);
    apply_fixture(3, "chromium_answer_to_hearth_offer3.sdp", true);
    apply_fixture(1, "aiortc_answer_to_hearth_offer1.sdp", false);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answer_chromium), cmocka_unit_test(test_answer_simulcast),
        cmocka_unit_test(test_answer_aiortc),   cmocka_unit_test(test_answer_rejects),
        cmocka_unit_test(test_h264_profiles),   cmocka_unit_test(test_offer_data_first),
        cmocka_unit_test(test_offer_recycle_bound),
        cmocka_unit_test(test_offer_renegotiation),
        cmocka_unit_test(test_apply_answers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
