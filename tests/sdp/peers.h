/*
 * hearth's side of the negotiation tests: the local transport parameters and
 * the forwarded tracks of a fixed subscriber renegotiation sequence. Shared
 * by tests/sdp/test_negotiate.c, tests/sdp/capture/sdptool.c (whose offers
 * real Chromium and aiortc answered: the fixtures *_answer_to_hearth_offer*)
 * and fuzz/fuzz_sdp.c, so the fixtures and the tests see the same offers.
 */
#ifndef HX_TESTS_SDP_PEERS_H
#define HX_TESTS_SDP_PEERS_H

#include "sdp/negotiate.h"

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

#endif
