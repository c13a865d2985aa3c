/*
 * hearth's side of the negotiation tests: the local transport parameters and
 * the forwarded tracks of a fixed subscriber renegotiation sequence, and a
 * synthetic client answer to hearth's offers. Shared by tests/sdp/test_negotiate.c,
 * tests/sdp/test_bundle.c, tests/sdp/capture/sdptool.c (whose offers real
 * Chromium and aiortc answered: the fixtures *_answer_to_hearth_offer*),
 * fuzz/fuzz_sdp.c and fuzz/fuzz_sdp_reneg.c, so all see the same offers.
 */
#ifndef HX_TESTS_SDP_PEERS_H
#define HX_TESTS_SDP_PEERS_H

#include "sdp/negotiate.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const char *const cands[] = {"candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host"};
static const hx_sdp_local local = {
    .ice_ufrag = "hxUF",
    .ice_pwd = "hearthpassword0123456789",
    .fp_alg = "sha-256",
    .fp_hex = "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:"
              "55:66:77:88:99",
    .candidates = cands,
    .n_candidates = 1,
    .end_of_candidates = true,
    .session_id = 4242,
    .session_version = 1,
};

/* One forwarded track: Opus or VP8 with RTX, hearth-chosen extmap ids. */
static hx_sdp_track track(hx_sdp_kind kind, const char *mid, uint32_t ssrc)
{
    hx_sdp_track t = {.kind = kind,
                      .mid = mid,
                      .ssrc = ssrc,
                      .cname = "hearthcname",
                      .stream_id = "stream-x",
                      .track_id = mid};
    if (kind == HX_SDP_AUDIO) {
        t.codec = (hx_sdp_codec){.pt = 111,
                                 .name = "opus",
                                 .clock = 48000,
                                 .channels = 2,
                                 .fmtp = "minptime=10;useinbandfec=1",
                                 .n_fb = 1,
                                 .fb = {"transport-cc"}};
        t.ext[t.n_ext++] = (hx_sdp_extmap){1, 0, HX_SDP_EXT_AUDIO_LEVEL_URI};
    } else {
        t.codec =
            (hx_sdp_codec){.pt = 96,
                           .name = "VP8",
                           .clock = 90000,
                           .n_fb = 5,
                           .fb = {"goog-remb", "transport-cc", "ccm fir", "nack", "nack pli"}};
        t.rtx_pt = 97;
        t.rtx_ssrc = ssrc + 1;
        t.ext[t.n_ext++] = (hx_sdp_extmap){2, 0, HX_SDP_EXT_ABS_SEND_TIME_URI};
    }
    t.ext[t.n_ext++] = (hx_sdp_extmap){3, 0, HX_SDP_EXT_TCC_URI};
    t.ext[t.n_ext++] = (hx_sdp_extmap){4, 0, HX_SDP_EXT_MID_URI};
    return t;
}

/* The sequence: 1: a0 v0 data  2: v0 removed, v1 added  3: v2 recycles v0's m-line
 * 4: a0 removed  5: a0 back (same mid, same m-line). Fills steps[step-1]; returns the count. */
static size_t sequence_step(int step, hx_sdp_track out[3])
{
    hx_sdp_track a0 = track(HX_SDP_AUDIO, "a0", 1000), v0 = track(HX_SDP_VIDEO, "v0", 2000);
    hx_sdp_track v1 = track(HX_SDP_VIDEO, "v1", 3000), v2 = track(HX_SDP_VIDEO, "v2", 4000);
    const hx_sdp_track steps[5][3] = {{a0, v0}, {a0, v1}, {a0, v1, v2}, {v1, v2}, {v1, v2, a0}};
    static const size_t counts[5] = {2, 2, 3, 2, 3};
    memcpy(out, steps[step - 1], sizeof steps[0]);
    return counts[step - 1];
}

/* The client's answer to hearth's offer: accepts every live m-line except those in
 * reject (bit i: m-line i), recvonly, setup:active, its own ICE and fingerprint. */
static inline void peer_client_answer(const hx_sdp *offer, uint64_t reject, hx_sdp *ans)
{
    *ans = *offer;
    memcpy(ans->origin_user, "client", 7);
    ans->sess_id = 99;
    ans->sess_version = 1;
    ans->ice_lite = false;
    ans->n_bundle = 0;
    ans->ice_ufrag[0] = ans->ice_pwd[0] = '\0';
    memset(&ans->fingerprint, 0, sizeof ans->fingerprint);
    ans->setup = HX_SDP_SETUP_NONE;
    for (unsigned i = 0; i < ans->n_media; i++) {
        hx_sdp_media *m = &ans->media[i];
        m->n_ssrcs = m->n_ssrc_groups = 0;
        m->msid[0] = '\0';
        m->n_cands = 0;
        m->end_of_candidates = false;
        if (!offer->media[i].port || (reject >> i & 1)) {
            m->port = 0;
            m->ice_ufrag[0] = m->ice_pwd[0] = '\0';
            memset(&m->fingerprint, 0, sizeof m->fingerprint);
            m->setup = HX_SDP_SETUP_NONE;
            if (m->proto == HX_SDP_PROTO_RTP) m->dir = HX_SDP_INACTIVE;
            continue;
        }
        m->port = 9;
        snprintf(m->ice_ufrag, sizeof m->ice_ufrag, "cliU");
        snprintf(m->ice_pwd, sizeof m->ice_pwd, "clientpasswordclientpass");
        snprintf(m->fingerprint.hex, sizeof m->fingerprint.hex, "01:02:03:04");
        m->setup = HX_SDP_SETUP_ACTIVE;
        if (m->proto == HX_SDP_PROTO_RTP) m->dir = HX_SDP_RECVONLY;
        memcpy(ans->bundle[ans->n_bundle++], m->mid, HX_SDP_TOKEN_LEN);
    }
}

#endif
