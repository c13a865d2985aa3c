/*
 * Unit tests for the SDP parser and writer against real captures: Chromium
 * 156 publisher offers (plain and simulcast), an aiortc 1.4.0 offer (legacy
 * DTLS/SCTP data m-line, per-m-line ICE credentials, the reused extmap id),
 * and Chromium's and aiortc's answers to a hearth offer. Each asserts values
 * read off the fixture text. Then write → parse round trips, LF-only input,
 * session-level inheritance, and malformed inputs with their error codes.
 */
#include "sdp/sdp.h"
#include "fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#define TLS "UDP/TLS/RTP/SAVPF"

static void test_chromium_offer(void **state)
{
    hx_sdp *s = fixture_sdp("chromium_pub.sdp");
    assert_non_null(s);
    assert_int_equal(s->sess_id, 738015511682789737ULL);
    assert_int_equal(s->sess_version, 2);
    assert_int_equal(s->n_bundle, 3);
    assert_string_equal(s->bundle[2], "2");
    assert_true(s->extmap_allow_mixed);
    assert_false(s->ice_lite);
    assert_string_equal(s->msid_semantic, "WMS d6312c6b-ce3e-41b0-8824-1802b6c9b2be");
    assert_int_equal(s->n_media, 3);

    const hx_sdp_media *a = &s->media[0];
    assert_int_equal(a->kind, HX_SDP_AUDIO);
    assert_int_equal(a->port, 38874);
    assert_int_equal(a->proto, HX_SDP_PROTO_RTP);
    assert_string_equal(a->mid, "0");
    assert_int_equal(a->dir, HX_SDP_SENDONLY);
    assert_string_equal(a->ice_ufrag, "11HM");
    assert_string_equal(a->ice_pwd, "AYIX5rCFmo1UvwFDOD6E4l28");
    assert_true(a->ice_trickle);
    assert_string_equal(a->fingerprint.alg, "sha-256");
    assert_memory_equal(a->fingerprint.hex, "2D:D9:F5:47", 11);
    assert_int_equal(strlen(a->fingerprint.hex), 95);
    assert_int_equal(a->setup, HX_SDP_SETUP_ACTPASS);
    assert_int_equal(a->n_cands, 2);
    assert_string_equal(a->cands[0], "candidate:1300066145 1 udp 2122260223 127.0.0.1 38874 typ "
                                     "host generation 0 network-id 1 network-cost 50");
    assert_false(a->end_of_candidates);
    assert_true(a->rtcp_mux);
    assert_true(a->rtcp_rsize);
    assert_int_equal(a->n_codecs, 8);
    assert_int_equal(a->codecs[0].pt, 111);
    assert_string_equal(a->codecs[0].name, "opus");
    assert_int_equal(a->codecs[0].clock, 48000);
    assert_int_equal(a->codecs[0].channels, 2);
    assert_string_equal(a->codecs[0].fmtp, "minptime=10;useinbandfec=1");
    assert_int_equal(a->codecs[0].n_fb, 1);
    assert_string_equal(a->codecs[0].fb[0], "transport-cc");
    assert_string_equal(hx_sdp_find_pt(a, 63)->fmtp, "111/111");
    assert_string_equal(hx_sdp_find_pt(a, 0)->name, "PCMU");
    assert_int_equal(a->n_extmaps, 4);
    assert_int_equal(hx_sdp_extmap_id(a, "urn:ietf:params:rtp-hdrext:ssrc-audio-level"), 1);
    assert_int_equal(hx_sdp_extmap_id(a, "urn:ietf:params:rtp-hdrext:sdes:mid"), 4);
    assert_string_equal(a->msid, "d6312c6b-ce3e-41b0-8824-1802b6c9b2be "
                                 "34a089a7-18d1-4199-8886-6920f30be33b");
    assert_int_equal(a->n_ssrcs, 1);
    assert_int_equal(a->ssrcs[0].ssrc, 200015246);
    assert_string_equal(a->ssrcs[0].cname, "YQGQOMMHRmmyJ11v");

    const hx_sdp_media *v = &s->media[1];
    assert_int_equal(v->kind, HX_SDP_VIDEO);
    assert_int_equal(v->n_codecs, 23);
    assert_int_equal(v->n_extmaps, 11);
    assert_int_equal(hx_sdp_extmap_id(v, "urn:3gpp:video-orientation"), 13);
    const hx_sdp_codec *h = hx_sdp_find_pt(v, 108);
    assert_string_equal(h->name, "H264");
    assert_string_equal(h->fmtp,
                        "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f");
    assert_int_equal(h->n_fb, 5);
    assert_string_equal(h->fb[4], "nack pli");
    assert_string_equal(hx_sdp_find_pt(v, 109)->fmtp, "apt=108");
    assert_string_equal(hx_sdp_find_pt(v, 45)->name, "AV1");
    assert_int_equal(v->n_ssrc_groups, 1);
    assert_string_equal(v->ssrc_groups[0].semantics, "FID");
    assert_int_equal(v->ssrc_groups[0].n, 2);
    assert_int_equal(v->ssrc_groups[0].ssrcs[0], 2467563263u);
    assert_int_equal(v->ssrc_groups[0].ssrcs[1], 1006924124u);
    assert_int_equal(v->n_ssrcs, 2);
    assert_string_equal(v->ssrcs[1].msid, "d6312c6b-ce3e-41b0-8824-1802b6c9b2be "
                                          "2258c5c9-0bae-487b-a78d-821c2b85ddfa");

    const hx_sdp_media *d = &s->media[2];
    assert_int_equal(d->kind, HX_SDP_APPLICATION);
    assert_int_equal(d->proto, HX_SDP_PROTO_SCTP);
    assert_string_equal(d->fmt, "webrtc-datachannel");
    assert_int_equal(d->sctp_port, 5000);
    assert_int_equal(d->max_message_size, 262144);
    assert_int_equal(d->n_codecs, 0);
    free(s);
}

static void test_chromium_simulcast(void **state)
{
    hx_sdp *s = fixture_sdp("chromium_pub_simulcast.sdp");
    assert_non_null(s);
    const hx_sdp_media *v = &s->media[1];
    assert_int_equal(v->n_rids, 3);
    assert_string_equal(v->rids[0].id, "q");
    assert_int_equal(v->rids[0].dir, HX_SDP_SENDONLY);
    assert_string_equal(v->rids[2].id, "f");
    assert_true(v->has_simulcast);
    assert_int_equal(v->simulcast.n_send, 3);
    assert_int_equal(v->simulcast.n_recv, 0);
    assert_string_equal(v->simulcast.send[1], "h");
    assert_int_equal(v->n_ssrcs, 0); /* Chromium sends no a=ssrc with rids */
    assert_int_equal(hx_sdp_extmap_id(v, "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"), 10);
    assert_string_equal(v->ice_ufrag, "PQFV");
    free(s);
}

static void test_aiortc_offer(void **state)
{
    hx_sdp *s = fixture_sdp("aiortc_pub.sdp");
    assert_non_null(s);
    assert_int_equal(s->sess_id, 4005138210u);
    assert_string_equal(s->origin_addr, "0.0.0.0");
    assert_string_equal(s->msid_semantic, "WMS *");
    assert_int_equal(s->n_media, 3);
    const hx_sdp_media *a = &s->media[0], *v = &s->media[1], *d = &s->media[2];
    assert_int_equal(a->dir, HX_SDP_SENDRECV);
    assert_string_equal(a->ice_ufrag, "DIQx");
    assert_string_equal(v->ice_ufrag, "IQTb");
    assert_string_equal(d->ice_ufrag, "Mhsy");
    assert_true(a->end_of_candidates);
    assert_int_equal(a->n_cands, 1);
    assert_false(a->rtcp_rsize);
    /* The reused id: 2 is audio-level on audio, abs-send-time on video. */
    assert_int_equal(hx_sdp_extmap_id(a, "urn:ietf:params:rtp-hdrext:ssrc-audio-level"), 2);
    assert_int_equal(
        hx_sdp_extmap_id(v, "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"), 2);
    assert_int_equal(a->codecs[0].pt, 96);
    assert_string_equal(a->codecs[0].name, "opus");
    assert_int_equal(v->n_codecs, 6);
    assert_string_equal(hx_sdp_find_pt(v, 101)->fmtp,
                        "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f");
    assert_int_equal(v->ssrc_groups[0].ssrcs[1], 3672473617u);
    assert_int_equal(d->proto, HX_SDP_PROTO_SCTP_LEGACY);
    assert_string_equal(d->fmt, "5000");
    assert_int_equal(d->sctp_port, 5000);
    assert_int_equal(d->max_message_size, 65536);
    free(s);
}

static void test_peer_answers(void **state)
{
    hx_sdp *c = fixture_sdp("chromium_answer_to_hearth_offer1.sdp");
    assert_non_null(c);
    assert_int_equal(c->n_media, 3);
    assert_string_equal(c->media[1].mid, "v0");
    assert_int_equal(c->media[1].dir, HX_SDP_RECVONLY);
    assert_int_equal(c->media[1].setup, HX_SDP_SETUP_ACTIVE);
    assert_string_equal(c->media[0].ice_ufrag, "NcYH");
    assert_int_equal(c->media[0].n_ssrcs, 0);
    free(c);
    hx_sdp *r = fixture_sdp("aiortc_answer_to_hearth_offer1.sdp");
    assert_non_null(r);
    assert_string_equal(r->bundle[1], "v0");
    assert_string_equal(r->media[2].ice_ufrag, "1Z4y");
    assert_int_equal(r->media[2].proto, HX_SDP_PROTO_SCTP);
    free(r);
    hx_sdp *c3 = fixture_sdp("chromium_answer_to_hearth_offer3.sdp");
    assert_non_null(c3);
    assert_int_equal(c3->n_media, 4);
    assert_string_equal(c3->media[1].mid, "v2");
    assert_string_equal(c3->media[3].mid, "v1");
    free(c3);
}

/* parse(write(parse(x))) keeps what write(parse(x)) holds, text for text. */
static void roundtrip(const char *name)
{
    hx_sdp *a = fixture_sdp(name), *b = malloc(sizeof *b);
    char *t1 = malloc(HX_SDP_MAX_LEN + 1), *t2 = malloc(HX_SDP_MAX_LEN + 1);
    assert_non_null(a);
    long n1 = hx_sdp_write(a, t1, HX_SDP_MAX_LEN + 1);
    assert_true(n1 > 0);
    assert_int_equal(hx_sdp_parse(t1, (size_t)n1, b, NULL), 0);
    long n2 = hx_sdp_write(b, t2, HX_SDP_MAX_LEN + 1);
    assert_int_equal(n1, n2);
    assert_string_equal(t1, t2);
    assert_int_equal(a->n_media, b->n_media);
    for (unsigned i = 0; i < a->n_media; i++) {
        assert_string_equal(a->media[i].mid, b->media[i].mid);
        assert_int_equal(a->media[i].n_codecs, b->media[i].n_codecs);
        assert_int_equal(a->media[i].n_extmaps, b->media[i].n_extmaps);
        assert_string_equal(a->media[i].ice_pwd, b->media[i].ice_pwd);
        assert_memory_equal(a->media[i].codecs, b->media[i].codecs, sizeof a->media[i].codecs);
        assert_memory_equal(a->media[i].ssrcs, b->media[i].ssrcs, sizeof a->media[i].ssrcs);
        assert_memory_equal(&a->media[i].simulcast, &b->media[i].simulcast,
                            sizeof a->media[i].simulcast);
    }
    /* Too small a buffer is an error, never a cut text. */
    assert_int_equal(hx_sdp_write(a, t2, (size_t)n1), HX_SDP_E_NOSPACE);
    free(a);
    free(b);
    free(t1);
    free(t2);
}

static void test_roundtrip(void **state)
{
    roundtrip("chromium_pub.sdp");
    roundtrip("chromium_pub_simulcast.sdp");
    roundtrip("aiortc_pub.sdp");
    roundtrip("chromium_answer_to_hearth_offer3.sdp");
}

static int parse_str(const char *text, hx_sdp_error *err)
{
    hx_sdp *s = malloc(sizeof *s);
    int rc = hx_sdp_parse(text, strlen(text), s, err);
    free(s);
    return rc;
}

#define HEAD "v=0\no=- 1 1 IN IP4 0.0.0.0\ns=-\nt=0 0\n"

static void test_lf_and_inheritance(void **state)
{
    const char *text = HEAD "a=ice-ufrag:abcd\na=ice-pwd:passwordpasswordpassword\n"
                            "a=fingerprint:SHA-256 AB:CD\na=setup:actpass\na=ice-options:trickle\n"
                            "m=audio 9 " TLS " 111\na=mid:x\na=setup:passive\n\n";
    hx_sdp *s = malloc(sizeof *s);
    assert_int_equal(hx_sdp_parse(text, strlen(text), s, NULL), 0);
    assert_string_equal(s->media[0].ice_ufrag, "abcd");
    assert_string_equal(s->media[0].fingerprint.alg, "sha-256");
    assert_int_equal(s->media[0].setup, HX_SDP_SETUP_PASSIVE);
    assert_int_equal(s->setup, HX_SDP_SETUP_ACTPASS);
    assert_true(s->media[0].ice_trickle);
    assert_int_equal(s->media[0].codecs[0].pt, 111);
    assert_string_equal(s->media[0].codecs[0].name, "");
    free(s);
}

static void test_malformed(void **state)
{
    static const struct {
        const char *text;
        int rc, line;
    } cases[] = {
        {"", HX_SDP_E_VERSION, 0},
        {"v=1\n", HX_SDP_E_VERSION, 1},
        {"o=- 1 1 IN IP4 x\nv=0\n", HX_SDP_E_VERSION, 1},
        {"v=0\ns=-\n", HX_SDP_E_ORIGIN, 0},
        {"v=0\no=- x 1 IN IP4 0.0.0.0\n", HX_SDP_E_ORIGIN, 2},
        {"v=0\no=- 1 1 IN IP4\n", HX_SDP_E_ORIGIN, 2},
        {"v=0\nm=audio 9 " TLS " 0\n", HX_SDP_E_ORIGIN, 2},
        {HEAD "garbage\n", HX_SDP_E_SYNTAX, 5},
        {HEAD "A=x\n", HX_SDP_E_SYNTAX, 5},
        {HEAD "a=x\001y\n", HX_SDP_E_SYNTAX, 5},
        {HEAD "a=:x\n", HX_SDP_E_SYNTAX, 5},
        {HEAD "m=audio 9\n", HX_SDP_E_MEDIA, 5},
        {HEAD "m=audio 70000 " TLS " 0\n", HX_SDP_E_MEDIA, 5},
        {HEAD "m=audio 9 " TLS " 128\n", HX_SDP_E_MEDIA, 5},
        {HEAD "m=audio 9 " TLS " opus\n", HX_SDP_E_MEDIA, 5},
        {HEAD "m=audio 9 " TLS " 0 0\n", HX_SDP_E_DUPLICATE, 5},
        {HEAD "m=audio 9 " TLS " 0\na=mid:a\nm=audio 9 " TLS " 0\na=mid:a\n", HX_SDP_E_DUPLICATE,
         0},
        {HEAD "m=audio 9 " TLS " 0\na=mid:a\na=mid:b\n", HX_SDP_E_DUPLICATE, 7},
        {HEAD "m=audio 9 " TLS " 0\na=extmap:1 u:a\na=extmap:1 u:b\n", HX_SDP_E_DUPLICATE, 7},
        {HEAD "m=audio 9 " TLS " 0\na=extmap:0 u:a\n", HX_SDP_E_VALUE, 6},
        {HEAD "m=audio 9 " TLS " 0\na=extmap:256 u:a\n", HX_SDP_E_VALUE, 6},
        {HEAD "m=audio 9 " TLS " 0\na=extmap:1/sideways u:a\n", HX_SDP_E_VALUE, 6},
        {HEAD "m=audio 9 " TLS " 0\na=rtpmap:0 PCMU\n", HX_SDP_E_VALUE, 6},
        {HEAD "m=audio 9 " TLS " 0\na=rtpmap:0 PCMU/0\n", HX_SDP_E_VALUE, 6},
        {HEAD "m=audio 9 " TLS " 0\na=rtpmap:0 PCMU/8000\na=rtpmap:0 PCMA/8000\n",
         HX_SDP_E_DUPLICATE, 7},
        {HEAD "m=audio 9 " TLS " 0\na=fingerprint:sha-256 ZZ:00\n", HX_SDP_E_VALUE, 6},
        {HEAD "m=audio 9 " TLS " 0\na=fingerprint:sha-256\n", HX_SDP_E_VALUE, 6},
        {HEAD "a=setup:maybe\n", HX_SDP_E_VALUE, 5},
        {HEAD "a=ice-ufrag:bad:char\n", HX_SDP_E_VALUE, 5},
        {HEAD "m=video 9 " TLS " 96\na=ssrc:4294967296 cname:x\n", HX_SDP_E_VALUE, 6},
        {HEAD "m=video 9 " TLS " 96\na=ssrc-group:FID\n", HX_SDP_E_VALUE, 6},
        {HEAD "m=video 9 " TLS " 96\na=ssrc-group:SIM 1 2 3 4 5\n", HX_SDP_E_LIMIT, 6},
        {HEAD "m=video 9 " TLS " 96\na=rid:q sideways\n", HX_SDP_E_VALUE, 6},
        {HEAD "m=video 9 " TLS " 96\na=rid:q! send\n", HX_SDP_E_VALUE, 6},
        {HEAD "m=video 9 " TLS " 96\na=simulcast:send\n", HX_SDP_E_VALUE, 6},
        {HEAD "m=video 9 " TLS " 96\na=simulcast:send a;b;c;d;e;f;g;h;i\n", HX_SDP_E_LIMIT, 6},
        {HEAD "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\na=sctp-port:x\n", HX_SDP_E_VALUE,
         6},
        {HEAD "a=group:BUNDLE 0\nm=audio 9 " TLS " 0\na=mid:1\n", HX_SDP_E_VALUE, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hx_sdp_error err = {0};
        int rc = parse_str(cases[i].text, &err);
        if (rc != cases[i].rc || err.line != cases[i].line)
            fail_msg("case %zu: rc %d line %d (%s), want %d line %d", i, rc, err.line,
                     err.what ? err.what : "-", cases[i].rc, cases[i].line);
        assert_non_null(err.what);
        assert_string_not_equal(hx_sdp_strerror(rc), "unknown SDP error");
    }
}

static void test_limits(void **state)
{
    char *big = malloc(HX_SDP_MAX_LEN + 2);
    memset(big, 'x', HX_SDP_MAX_LEN + 1);
    memcpy(big, "v=0\n", 4);
    hx_sdp *s = malloc(sizeof *s);
    hx_sdp_error err;
    assert_int_equal(hx_sdp_parse(big, HX_SDP_MAX_LEN + 1, s, &err), HX_SDP_E_TOO_LARGE);

    /* 65 m-lines, 33 payload types, 17 extmaps, too-long values. */
    size_t n = (size_t)snprintf(big, HX_SDP_MAX_LEN, HEAD);
    for (int i = 0; i < 65; i++)
        n += (size_t)snprintf(big + n, HX_SDP_MAX_LEN - n, "m=audio 9 " TLS " 0\n");
    assert_int_equal(hx_sdp_parse(big, n, s, &err), HX_SDP_E_LIMIT);
    assert_int_equal(err.line, 5 + 64);
    n = (size_t)snprintf(big, HX_SDP_MAX_LEN, HEAD "m=video 9 " TLS);
    for (int i = 0; i < 33; i++)
        n += (size_t)snprintf(big + n, HX_SDP_MAX_LEN - n, " %d", i + 90);
    assert_int_equal(hx_sdp_parse(big, n, s, &err), HX_SDP_E_LIMIT);
    n = (size_t)snprintf(big, HX_SDP_MAX_LEN, HEAD "m=video 9 " TLS " 96\n");
    for (int i = 1; i <= 17; i++)
        n += (size_t)snprintf(big + n, HX_SDP_MAX_LEN - n, "a=extmap:%d urn:x:%d\n", i, i);
    assert_int_equal(hx_sdp_parse(big, n, s, &err), HX_SDP_E_LIMIT);
    assert_int_equal(err.line, 5 + 17);
    n = (size_t)snprintf(big, HX_SDP_MAX_LEN, HEAD "m=video 9 " TLS " 96\na=mid:");
    memset(big + n, 'm', 64);
    assert_int_equal(hx_sdp_parse(big, n + 64, s, &err), HX_SDP_E_LIMIT);
    /* Candidates past the maximum are counted, not kept, and not an error. */
    n = (size_t)snprintf(big, HX_SDP_MAX_LEN, HEAD "m=video 9 " TLS " 96\n");
    for (int i = 0; i < 20; i++)
        n += (size_t)snprintf(big + n, HX_SDP_MAX_LEN - n,
                              "a=candidate:%d 1 udp 1 127.0.0.1 %d typ host\n", i, 1000 + i);
    assert_int_equal(hx_sdp_parse(big, n, s, &err), 0);
    assert_int_equal(s->media[0].n_cands, HX_SDP_MAX_CANDS);
    assert_int_equal(s->media[0].cands_dropped, 4);
    free(s);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chromium_offer), cmocka_unit_test(test_chromium_simulcast),
        cmocka_unit_test(test_aiortc_offer),   cmocka_unit_test(test_peer_answers),
        cmocka_unit_test(test_roundtrip),      cmocka_unit_test(test_lf_and_inheritance),
        cmocka_unit_test(test_malformed),      cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
