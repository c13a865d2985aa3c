/*
 * Stateful libFuzzer target for sdp/ renegotiation: the input is a script
 * of steps, each an op byte and fixed argument bytes (missing bytes read
 * as 0, at most MAX_OPS steps), run against both of hearth's PCs.
 *
 *   subscriber PC (hearth offers)
 *     0 ADD   kc mid ext   add a track: kind kc&1 (video), codec (kc>>1) % N_CODECS
 *                          (two of them invalid), mid "m<mid % N_MIDS>", extmap set
 *     1 DEL   i            remove track i
 *     2 DATA  d            data mid: none, "dc", "data" or DATA_MID_CLASH (see there)
 *     3 PEERS s            tracks := step s%5+1 of tests/sdp/peers.h's sequence
 *     4 BOUND b            o.recycle_after = b % 48 (when the offerer has one)
 *     5 BUILD mode a b     hx_sdp_offerer_build, write, re-parse, then the client's
 *                          answer (mode % 5): accept all; reject the m-lines in mask a;
 *                          accept all with one field mangled (a: which, b: value);
 *                          raw bytes spliced into the written answer (a: after which
 *                          line, b: length, then b bytes); hearth's own answerer
 *     publisher PC (hearth answers)
 *     6 PUB   mut k v      mutate the current offer (add an m-line, port 0,
 *                          bundle-only, mid, BUNDLE membership, rtcp-mux, setup, ...)
 *     7 RAW   line len ..  raw bytes spliced into the written offer
 *     8 BASE  b            start again from base offer b % 2
 *   A publisher offer that still parses after PUB or RAW becomes the current
 *   one and is answered with hx_sdp_answer.
 *
 * Invariants (abort on violation): what hearth writes re-parses; offers
 * never lose m-lines, an m-line keeps its kind, a mid never moves, an
 * m-line changes mid only after a port-0 offer, live tracks are bundled
 * with a port and everything else is port 0 outside BUNDLE; the version
 * rises on success and a failed build leaves the offerer untouched;
 * answers a client may give (accept all, reject some, hearth's own) are
 * applied; an applied answer's accepted m-lines are bundled; hearth's
 * answers mirror the offer's m-lines and mids, bundle exactly what they
 * accept, never accept a disabled (port 0, not bundle-only) or unbundled
 * m-line, and give an extmap id one URI bundle-wide. Seeds:
 * fuzz/corpus/sdp_reneg.
 */
#include "../tests/sdp/peers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "fuzz_sdp_reneg: broken invariant %s (line %d)\n", #c, __LINE__);      \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

enum { MAX_OPS = 64, MAX_TRACKS = 64, N_MIDS = 72, N_CODECS = 9 };

/* A data mid that is also a track's ("m0"): a new track must not recycle the dead m-line
 * named like the new data mid, or that mid would move (found by this target, fixed in
 * src/sdp/offer.c assign()). */
#ifndef DATA_MID_CLASH
#define DATA_MID_CLASH "m0"
#endif

typedef struct reader {
    const uint8_t *p;
    size_t n;
} reader;

static uint8_t u8(reader *r)
{
    if (!r->n) return 0;
    r->n--;
    return *r->p++;
}

/* Everything large lives here, allocated once. */
static struct {
    hx_sdp *prev, *cur, *ans, *scratch, *pub, *pub_ans, *base[2];
    hx_sdp_negotiated *ng;
    char *text, *text2;
    hx_sdp_offerer o;
    bool have_prev, pub_set;
    size_t nt;
    hx_sdp_track t[MAX_TRACKS];
    const char *data_mid;
    uint32_t ssrc;
} g;
static char mid_names[N_MIDS][8];

static const char base_max_bundle[] =
    "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1 2\r\n"
    "a=extmap-allow-mixed\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 0\r\nc=IN IP4 0.0.0.0\r\n"
    "a=ice-ufrag:pubU\r\na=ice-pwd:pubpasswordpubpassword00\r\n"
    "a=fingerprint:sha-256 AB:CD:EF:01\r\na=setup:actpass\r\na=mid:0\r\n"
    "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n"
    "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n"
    "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
    "a=sendonly\r\na=msid:s a\r\na=rtcp-mux\r\n"
    "a=rtpmap:111 opus/48000/2\r\na=rtcp-fb:111 transport-cc\r\n"
    "a=fmtp:111 minptime=10;useinbandfec=1\r\na=rtpmap:63 red/48000/2\r\na=fmtp:63 111/111\r\n"
    "a=rtpmap:0 PCMU/8000\r\na=ssrc:1 cname:c\r\n"
    "m=video 0 UDP/TLS/RTP/SAVPF 96 97 102 103\r\nc=IN IP4 0.0.0.0\r\na=bundle-only\r\n"
    "a=mid:1\r\n"
    "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n"
    "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n"
    "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
    "a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id\r\n"
    "a=extmap:11 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id\r\n"
    "a=sendonly\r\na=rtcp-rsize\r\n"
    "a=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 goog-remb\r\na=rtcp-fb:96 transport-cc\r\n"
    "a=rtcp-fb:96 ccm fir\r\na=rtcp-fb:96 nack\r\na=rtcp-fb:96 nack pli\r\n"
    "a=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\na=rtpmap:102 H264/90000\r\n"
    "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n"
    "a=rtpmap:103 rtx/90000\r\na=fmtp:103 apt=102\r\n"
    "a=rid:h send\r\na=rid:l send\r\na=simulcast:send h;l\r\n"
    "m=application 0 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n"
    "a=bundle-only\r\na=mid:2\r\na=sctp-port:5000\r\na=max-message-size:262144\r\n";

/* Every m-line with its own port and transport; aiortc's id 2 clash; legacy SCTP. */
static const char base_balanced[] =
    "v=0\r\no=- 2 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE a v d\r\n"
    "a=ice-ufrag:balU\r\na=ice-pwd:balpasswordbalpassword00\r\n"
    "a=fingerprint:sha-256 01:02:03:04\r\na=setup:actpass\r\n"
    "m=audio 5000 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 10.0.0.1\r\na=mid:a\r\n"
    "a=extmap:2 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n"
    "a=sendrecv\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n"
    "m=video 5002 UDP/TLS/RTP/SAVPF 98 99 45\r\nc=IN IP4 10.0.0.1\r\na=mid:v\r\n"
    "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n"
    "a=sendrecv\r\na=rtcp-mux\r\na=rtpmap:98 VP9/90000\r\na=fmtp:98 profile-id=0\r\n"
    "a=rtpmap:99 rtx/90000\r\na=fmtp:99 apt=98\r\na=rtpmap:45 AV1/90000\r\n"
    "a=ssrc-group:FID 7 8\r\na=ssrc:7 cname:c\r\na=ssrc:8 cname:c\r\n"
    "m=application 5004 DTLS/SCTP 5000\r\nc=IN IP4 10.0.0.1\r\na=mid:d\r\n"
    "a=sctpmap:5000 webrtc-datachannel 65535\r\n";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    hx_sdp **all[] = {&g.prev, &g.cur,     &g.ans,     &g.scratch,
                      &g.pub,  &g.pub_ans, &g.base[0], &g.base[1]};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        *all[i] = malloc(sizeof(hx_sdp));
    g.ng = malloc(sizeof *g.ng);
    g.text = malloc(HX_SDP_MAX_LEN + 1);
    g.text2 = malloc(HX_SDP_MAX_LEN + 1);
    for (unsigned i = 0; i < N_MIDS; i++)
        snprintf(mid_names[i], sizeof mid_names[i], "m%u", i);
    if (hx_sdp_parse(base_max_bundle, sizeof base_max_bundle - 1, g.base[0], NULL) ||
        hx_sdp_parse(base_balanced, sizeof base_balanced - 1, g.base[1], NULL))
        abort();
    return 0;
}

static bool in_bundle(const hx_sdp *s, const char *mid)
{
    for (unsigned i = 0; i < s->n_bundle; i++)
        if (strcmp(s->bundle[i], mid) == 0) return true;
    return false;
}

/* Write s and parse it into *out: 0, 1 when too large to write, else the parse error. */
static int reparse(const hx_sdp *s, hx_sdp *out)
{
    long n = hx_sdp_write(s, g.text, HX_SDP_MAX_LEN + 1);
    if (n == HX_SDP_E_NOSPACE) return 1;
    if (n < 0) return (int)n;
    return hx_sdp_parse(g.text, (size_t)n, out, NULL);
}

/* g.text2: g.text with len raw bytes of r spliced in as a line after line `line` (modulo the
 * line count). Returns the length. */
static size_t splice(size_t tlen, unsigned line, unsigned len, reader *r)
{
    unsigned lines = 0;
    for (size_t i = 0; i < tlen; i++)
        lines += g.text[i] == '\n';
    line %= lines + 1;
    size_t at = 0;
    for (unsigned l = 0; l < line; l++)
        at = (size_t)((char *)memchr(g.text + at, '\n', tlen - at) - g.text) + 1;
    if (len > r->n) len = (unsigned)r->n;
    if (tlen + len + 2 > HX_SDP_MAX_LEN) len = 0;
    memcpy(g.text2, g.text, at);
    memcpy(g.text2 + at, r->p, len);
    memcpy(g.text2 + at + len, "\r\n", 2);
    memcpy(g.text2 + at + len + 2, g.text + at, tlen - at);
    r->p += len;
    r->n -= len;
    return tlen + len + 2;
}

/* ---- subscriber PC ---------------------------------------------------------------------- */

/* The codecs tracks may carry; fb: how many of fbs[] (Opus: transport-cc only). */
static const char *const fbs[] = {"transport-cc", "goog-remb", "ccm fir", "nack", "nack pli"};
static const struct {
    uint8_t pt, rtx, channels, fb;
    uint32_t clock;
    const char *name, *fmtp;
    bool red; /* Opus behind it as the second codec */
} codecs[N_CODECS] = {
    {111, 0, 2, 1, 48000, "opus", "minptime=10;useinbandfec=1", false},
    {96, 97, 0, 5, 90000, "VP8", "", false},
    {98, 99, 0, 5, 90000, "VP9", "profile-id=0", false},
    {102, 103, 0, 5, 90000, "H264",
     "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f", false},
    {63, 0, 2, 0, 48000, "red", "111/111", true},
    {45, 46, 0, 3, 90000, "AV1", "", false},
    {0, 0, 0, 0, 8000, "PCMU", "", false},
    {130, 0, 0, 0, 90000, "VP8", "", false}, /* invalid: PT over 127 */
    {96, 96, 0, 0, 90000, "VP8", "", false}, /* invalid: RTX on its own PT */
};

static hx_sdp_codec codec(unsigned c)
{
    hx_sdp_codec x = {.pt = codecs[c].pt,
                      .clock = codecs[c].clock,
                      .channels = codecs[c].channels,
                      .n_fb = codecs[c].fb};
    snprintf(x.name, sizeof x.name, "%s", codecs[c].name);
    snprintf(x.fmtp, sizeof x.fmtp, "%s", codecs[c].fmtp);
    for (unsigned i = 0; i < x.n_fb; i++)
        snprintf(x.fb[i], sizeof x.fb[i], "%s", fbs[i]);
    return x;
}

static void add_track(reader *r)
{
    uint8_t kc = u8(r), mid = u8(r), ext = u8(r);
    if (g.nt == MAX_TRACKS) return;
    hx_sdp_kind kind = kc & 1 ? HX_SDP_VIDEO : HX_SDP_AUDIO;
    hx_sdp_track *t = &g.t[g.nt++];
    *t = track(kind, mid_names[mid % N_MIDS], g.ssrc += 2);
    unsigned c = (kc >> 1) % N_CODECS;
    t->codec = codec(c);
    t->rtx_pt = codecs[c].rtx;
    t->rtx_ssrc = t->rtx_pt ? t->ssrc + 1 : 0;
    t->has_alt = codecs[c].red;
    if (t->has_alt) t->alt = codec(0);
    switch (ext % 5) {
    case 1: /* none */
        t->n_ext = 0;
        break;
    case 2: /* audio-level on abs-send-time's id: clashes with any video track */
        t->n_ext = 0;
        t->ext[t->n_ext++] = (hx_sdp_extmap){2, 0, HX_SDP_EXT_AUDIO_LEVEL_URI};
        break;
    case 3:
        t->ext[t->n_ext++] = (hx_sdp_extmap){10, 0, HX_SDP_EXT_RID_URI};
        t->ext[t->n_ext++] = (hx_sdp_extmap){11, 0, HX_SDP_EXT_RRID_URI};
        break;
    case 4: /* id 0: invalid */
        t->ext[0].id = 0;
        break;
    }
}

static void del_track(reader *r)
{
    uint8_t i = u8(r);
    if (!g.nt) return;
    i %= g.nt;
    memmove(&g.t[i], &g.t[i + 1], (g.nt - i - 1) * sizeof g.t[0]);
    g.nt--;
}

/* JSEP §5.2.2 across two consecutive offers, and the offer against the tracks. */
static void check_offer(const hx_sdp *prev, const hx_sdp *cur)
{
    CHECK(cur->n_media == g.o.n_slots && cur->sess_version == g.o.version);
    if (prev) {
        CHECK(cur->n_media >= prev->n_media && cur->sess_id == prev->sess_id);
        for (unsigned i = 0; i < prev->n_media; i++) {
            CHECK(cur->media[i].kind == prev->media[i].kind);
            if (strcmp(cur->media[i].mid, prev->media[i].mid) != 0) CHECK(prev->media[i].port == 0);
            const hx_sdp_media *same = hx_sdp_find_mid(cur, prev->media[i].mid);
            CHECK(!same || same == &cur->media[i]);
        }
    }
    unsigned live = 0;
    for (size_t k = 0; k < g.nt; k++, live++) {
        const hx_sdp_media *m = hx_sdp_find_mid(cur, g.t[k].mid);
        CHECK(m && m->kind == g.t[k].kind && m->port && m->dir == HX_SDP_SENDONLY);
        CHECK(m->codecs[0].pt == g.t[k].codec.pt && in_bundle(cur, m->mid));
    }
    if (g.data_mid) {
        const hx_sdp_media *d = hx_sdp_find_mid(cur, g.data_mid);
        CHECK(d && d->kind == HX_SDP_APPLICATION && d->port && in_bundle(cur, d->mid));
        live++;
    }
    CHECK(cur->n_bundle == live);
    for (unsigned i = 0; i < cur->n_media; i++)
        if (!in_bundle(cur, cur->media[i].mid)) CHECK(cur->media[i].port == 0);
}

/* One field of an accepted-all answer changed; the result may well be invalid. */
static void mangle(hx_sdp *a, uint8_t which, uint8_t v)
{
    if (!a->n_media) return;
    hx_sdp_media *m = &a->media[v % a->n_media];
    hx_sdp_media *tag = a->n_bundle ? (hx_sdp_media *)hx_sdp_find_mid(a, a->bundle[0]) : m;
    switch (which % 12) {
    case 0:
        if (m->n_codecs) m->codecs[0].pt = (uint8_t)(v & 127);
        break;
    case 1:
        if (m->n_extmaps) m->extmaps[0].id = v ? v : 1;
        break;
    case 2:
        snprintf(m->mid, sizeof m->mid, "z%u", v);
        break;
    case 3:
        tag->setup = (hx_sdp_setup)(v % 5);
        break;
    case 4:
        m->rtcp_mux = false;
        break;
    case 5:
        a->n_media--;
        break;
    case 6:
        if (a->n_bundle) a->n_bundle--;
        break;
    case 7:
        m->proto = HX_SDP_PROTO_SCTP;
        memcpy(m->proto_name, "UDP/DTLS/SCTP", 14);
        memcpy(m->fmt, "webrtc-datachannel", 19);
        break;
    case 8:
        tag->ice_ufrag[0] = '\0';
        break;
    case 9:
        m->dir = (hx_sdp_dir)(v % 5);
        break;
    case 10: /* accept what the offer removed */
        m->port = v ? v : 1;
        break;
    case 11:
        memcpy(m->kind_name, v & 1 ? "audio" : "video", 6);
        break;
    }
}

/* The outcome of applying an answer: a code, and accepted m-lines offered and bundled. */
static void check_apply(const hx_sdp *offer, const hx_sdp *ans, int rc, const hx_sdp_error *err)
{
    CHECK(rc <= 0 && rc >= HX_SDP_E_UNSUPPORTED && (!rc || err->what));
    if (rc) return;
    CHECK(g.ng->n_media == offer->n_media && ans->n_media == offer->n_media);
    for (unsigned i = 0; i < offer->n_media; i++) {
        CHECK(strcmp(g.ng->media[i].mid, offer->media[i].mid) == 0);
        if (g.ng->media[i].accepted)
            CHECK(offer->media[i].port && ans->media[i].port && in_bundle(ans, ans->media[i].mid));
    }
}

static void answer_offer(reader *r)
{
    const hx_sdp *offer = g.cur;
    uint8_t mode = u8(r) % 5, a = u8(r), b = u8(r);
    hx_sdp_error err;
    int rc;
    if (mode == 4) { /* hearth's own answerer as the client: what it answers must apply */
        if (hx_sdp_answer(offer, &local, g.ans, g.ng, &err) != 0) return;
        rc = reparse(g.ans, g.scratch);
        CHECK(rc == 0 || rc == 1);
        if (rc) return;
        rc = hx_sdp_answer_apply(offer, g.scratch, g.ng, &err);
        CHECK(rc == 0);
        check_apply(offer, g.scratch, rc, &err);
        return;
    }
    /* mask bit i % 8 rejects m-line i */
    peer_client_answer(offer, mode == 1 ? a * 0x0101010101010101ull : 0, g.ans);
    if (mode == 2) mangle(g.ans, a, b);
    rc = reparse(g.ans, g.scratch);
    if (mode < 2) CHECK(rc == 0);
    if (rc) return;
    if (mode == 3) {
        long n = hx_sdp_write(g.scratch, g.text, HX_SDP_MAX_LEN + 1);
        CHECK(n > 0);
        size_t len = splice((size_t)n, a, b, r); /* after line a, b bytes */
        if (hx_sdp_parse(g.text2, len, g.scratch, &err) != 0) return;
    }
    rc = hx_sdp_answer_apply(offer, g.scratch, g.ng, &err);
    if (mode < 2) {
        CHECK(rc == 0);
        for (unsigned i = 0; i < offer->n_media; i++)
            CHECK(g.ng->media[i].accepted == (offer->media[i].port && !(mode && a >> (i % 8) & 1)));
    }
    check_apply(offer, g.scratch, rc, &err);
}

static void build(reader *r)
{
    hx_sdp_offerer before = g.o;
    hx_sdp_error err;
    int rc = hx_sdp_offerer_build(&g.o, &local, g.t, g.nt, g.data_mid, g.scratch, &err);
    CHECK(rc <= 0 && rc >= HX_SDP_E_UNSUPPORTED);
    if (rc) {
        CHECK(err.what && memcmp(&before, &g.o, sizeof before) == 0);
        u8(r), u8(r), u8(r); /* the answer's arguments */
        return;
    }
    CHECK(g.o.version > before.version);
    hx_sdp *prev = g.prev;
    g.prev = g.cur;
    g.cur = prev;
    CHECK(reparse(g.scratch, g.cur) == 0);
    check_offer(g.have_prev ? g.prev : NULL, g.cur);
    g.have_prev = true;
    answer_offer(r);
}

/* ---- publisher PC ----------------------------------------------------------------------- */

static void pub_answer(void)
{
    const hx_sdp *o = g.pub, *a = g.pub_ans;
    hx_sdp_error err;
    int rc = hx_sdp_answer(o, &local, g.pub_ans, g.ng, &err);
    CHECK(rc <= 0 && rc >= HX_SDP_E_UNSUPPORTED && (!rc || err.what));
    if (rc) return;
    CHECK(a->n_media == o->n_media && g.ng->n_media == o->n_media && a->n_bundle);
    const char *by_id[256] = {NULL};
    for (unsigned i = 0; i < o->n_media; i++) {
        const hx_sdp_media *om = &o->media[i], *am = &a->media[i];
        bool acc = am->port != 0;
        CHECK(strcmp(om->mid, am->mid) == 0 && om->kind == am->kind);
        CHECK(g.ng->media[i].accepted == acc && acc == in_bundle(a, am->mid));
        if (!acc) continue;
        CHECK(om->port || om->bundle_only); /* RFC 8843 §6: port 0 alone disables */
        CHECK(in_bundle(o, om->mid));       /* hearth only does BUNDLE */
        CHECK(!am->bundle_only && am->setup != HX_SDP_SETUP_ACTPASS);
        CHECK(strcmp(am->ice_ufrag, local.ice_ufrag) == 0);
        if (am->proto == HX_SDP_PROTO_RTP) CHECK(am->n_codecs && am->rtcp_mux);
        for (unsigned e = 0; e < am->n_extmaps; e++) { /* RFC 8843 §9.2 */
            const hx_sdp_extmap *x = &am->extmaps[e];
            CHECK(!by_id[x->id] || strcmp(by_id[x->id], x->uri) == 0);
            by_id[x->id] = x->uri;
        }
    }
    rc = reparse(a, g.scratch);
    CHECK(rc == 0 || rc == 1);
    if (rc) return;
    CHECK(g.scratch->n_media == a->n_media && g.scratch->n_bundle == a->n_bundle);
    for (unsigned i = 0; i < a->n_media; i++)
        CHECK(g.scratch->media[i].port == a->media[i].port);
}

static void bundle_remove(hx_sdp *s, const char *mid)
{
    for (unsigned i = 0; i < s->n_bundle; i++)
        if (strcmp(s->bundle[i], mid) == 0) {
            memmove(s->bundle[i], s->bundle[i + 1], (s->n_bundle - i - 1) * HX_SDP_TOKEN_LEN);
            s->n_bundle--;
            return;
        }
}

static void pub_mutate(hx_sdp *s, uint8_t mut, uint8_t k, uint8_t v)
{
    if (!s->n_media) return;
    hx_sdp_media *m = &s->media[k % s->n_media];
    switch (mut % 14) {
    case 0: /* a new m-line copied from the base, maybe bundle-only, maybe bundled */
        if (s->n_media == HX_SDP_MAX_MEDIA) return;
        m = &s->media[s->n_media++];
        *m = g.base[0]->media[v % g.base[0]->n_media];
        snprintf(m->mid, sizeof m->mid, "n%u", k);
        m->port = v & 0x10 ? 0 : 9;
        m->bundle_only = v & 0x20;
        if (!(v & 0x40) && s->n_bundle < HX_SDP_MAX_MEDIA)
            memcpy(s->bundle[s->n_bundle++], m->mid, HX_SDP_TOKEN_LEN);
        break;
    case 1:
        m->port = 0;
        m->bundle_only = v & 1;
        break;
    case 2:
        m->bundle_only = !m->bundle_only;
        if (v & 1) m->port = m->port ? 0 : 9;
        break;
    case 3: { /* a new mid, in the group too unless v says otherwise */
        char old[HX_SDP_TOKEN_LEN];
        memcpy(old, m->mid, sizeof old);
        snprintf(m->mid, sizeof m->mid, "r%u", v);
        for (unsigned i = 0; i < s->n_bundle && !(v & 0x80); i++)
            if (strcmp(s->bundle[i], old) == 0) memcpy(s->bundle[i], m->mid, HX_SDP_TOKEN_LEN);
        break;
    }
    case 4:
        bundle_remove(s, m->mid);
        break;
    case 5: /* into the group; v & 1: first, the offerer-tagged m-line */
        if (!m->mid[0] || in_bundle(s, m->mid) || s->n_bundle == HX_SDP_MAX_MEDIA) return;
        if (v & 1) {
            memmove(s->bundle[1], s->bundle[0], s->n_bundle * HX_SDP_TOKEN_LEN);
            memcpy(s->bundle[0], m->mid, HX_SDP_TOKEN_LEN);
        } else {
            memcpy(s->bundle[s->n_bundle], m->mid, HX_SDP_TOKEN_LEN);
        }
        s->n_bundle++;
        break;
    case 6:
        m->rtcp_mux = !m->rtcp_mux;
        break;
    case 7:
        m->setup = (hx_sdp_setup)(v % 5);
        break;
    case 8:
        if (v & 1) m->ice_ufrag[0] = m->ice_pwd[0] = '\0';
        if (v & 2) memset(&m->fingerprint, 0, sizeof m->fingerprint);
        break;
    case 9:
        m->dir = (hx_sdp_dir)(v % 5);
        break;
    case 10: /* a codec renumbered or dropped */
        if (!m->n_codecs) return;
        if (v & 0x80) {
            unsigned i = v % m->n_codecs;
            memmove(&m->codecs[i], &m->codecs[i + 1], (m->n_codecs - i - 1) * sizeof m->codecs[0]);
            m->n_codecs--;
        } else {
            m->codecs[v % m->n_codecs].pt = (uint8_t)((v * 7u) & 127);
        }
        break;
    case 11: { /* another kind (the m= line's word), RTP or not */
        static const char *const kinds[] = {"audio", "video", "application", "text"};
        snprintf(m->kind_name, sizeof m->kind_name, "%s", kinds[v % 4]);
        break;
    }
    case 12:
        if (m->n_extmaps) m->extmaps[v % m->n_extmaps].id = (uint8_t)(v ? v : 1);
        break;
    case 13:
        m->n_rids = 0;
        m->has_simulcast = v & 1;
        break;
    }
}

/* A candidate publisher offer in g.scratch becomes the current one if it parses. */
static void pub_take(void)
{
    hx_sdp *t = g.pub;
    g.pub = g.scratch;
    g.scratch = t;
    pub_answer();
}

static void pub_step(reader *r, uint8_t op)
{
    if (!g.pub_set || op == 8) { /* copied only when used: an hx_sdp is 1.5 MB */
        *g.pub = *g.base[op == 8 ? u8(r) % 2 : 0];
        g.pub_set = true;
    }
    if (op == 8) {
        pub_answer();
        return;
    }
    if (op == 6) {
        uint8_t mut = u8(r), k = u8(r), v = u8(r);
        *g.ans = *g.pub;
        pub_mutate(g.ans, mut, k, v);
        if (reparse(g.ans, g.scratch) == 0) pub_take();
        return;
    }
    uint8_t line = u8(r), rawlen = u8(r);
    long n = hx_sdp_write(g.pub, g.text, HX_SDP_MAX_LEN + 1);
    CHECK(n > 0 || n == HX_SDP_E_NOSPACE); /* a parsed text can grow when rewritten */
    size_t len = splice(n > 0 ? (size_t)n : 0, line, rawlen, r);
    if (hx_sdp_parse(g.text2, len, g.scratch, NULL) == 0) pub_take();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    reader r = {data, size};
    hx_sdp_offerer_init(&g.o, 777);
    g.have_prev = false;
    g.nt = 0;
    g.data_mid = NULL;
    g.ssrc = 1000;
    g.pub_set = false;
    for (unsigned ops = 0; ops < MAX_OPS && r.n; ops++) {
        uint8_t op = u8(&r) % 9;
        switch (op) {
        case 0:
            add_track(&r);
            break;
        case 1:
            del_track(&r);
            break;
        case 2: {
            static const char *const data_mids[] = {NULL, "dc", "data", DATA_MID_CLASH};
            g.data_mid = data_mids[u8(&r) % 4];
            break;
        }
        case 3:
            g.nt = sequence_step(u8(&r) % 5 + 1, g.t);
            break;
        case 4: {
            uint8_t b = u8(&r);
#ifdef HX_SDP_RECYCLE_AFTER
            g.o.recycle_after = b % 48;
#endif
            (void)b;
            break;
        }
        case 5:
            build(&r);
            break;
        default:
            pub_step(&r, op);
            break;
        }
    }
    return 0;
}
