/*
 * Scratch tool for capture.mjs (not built by CMake, not run by CI):
 *   sdptool answer     < offer.sdp   hearth's answer to a publisher offer
 *   sdptool offer N                  the Nth subscriber offer of a fixed
 *                                    renegotiation sequence (see steps[])
 * Build: cc -Isrc tests/sdp/capture/sdptool.c build/libhearth.a -o /tmp/sdptool
 */
#include "sdp/negotiate.h"

#include <stdio.h>
#include <stdlib.h>
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

static hx_sdp_track track(hx_sdp_kind kind, const char *mid, uint32_t ssrc)
{
    hx_sdp_track t = {.kind = kind, .mid = mid, .ssrc = ssrc, .cname = "hearthcname",
                      .stream_id = "stream-x", .track_id = mid};
    if (kind == HX_SDP_AUDIO) {
        t.codec = (hx_sdp_codec){.pt = 111, .name = "opus", .clock = 48000, .channels = 2,
                                 .fmtp = "minptime=10;useinbandfec=1", .n_fb = 1,
                                 .fb = {"transport-cc"}};
        t.ext[t.n_ext++] = (hx_sdp_extmap){1, 0, HX_SDP_EXT_AUDIO_LEVEL_URI};
    } else {
        t.codec = (hx_sdp_codec){.pt = 96, .name = "VP8", .clock = 90000, .n_fb = 5,
                                 .fb = {"goog-remb", "transport-cc", "ccm fir", "nack", "nack pli"}};
        t.rtx_pt = 97;
        t.rtx_ssrc = ssrc + 1;
        t.ext[t.n_ext++] = (hx_sdp_extmap){2, 0, HX_SDP_EXT_ABS_SEND_TIME_URI};
    }
    t.ext[t.n_ext++] = (hx_sdp_extmap){3, 0, HX_SDP_EXT_TCC_URI};
    t.ext[t.n_ext++] = (hx_sdp_extmap){4, 0, HX_SDP_EXT_MID_URI};
    return t;
}

int main(int argc, char **argv)
{
    static char text[HX_SDP_MAX_LEN + 1];
    hx_sdp *in = malloc(sizeof *in), *out = malloc(sizeof *out);
    hx_sdp_negotiated *nego = malloc(sizeof *nego);
    hx_sdp_error err = {0};
    int rc;
    if (argc >= 2 && strcmp(argv[1], "answer") == 0) {
        size_t n = fread(text, 1, sizeof text - 1, stdin);
        rc = hx_sdp_parse(text, n, in, &err);
        if (!rc) rc = hx_sdp_answer(in, &local, out, nego, &err);
    } else if (argc >= 3 && strcmp(argv[1], "offer") == 0) {
        /* 1: a0 v0 data  2: v0 removed, v1 added  3: v2 recycles v0's m-line
         * 4: a0 removed  5: a0 back (same mid, same m-line) */
        hx_sdp_track a0 = track(HX_SDP_AUDIO, "a0", 1000), v0 = track(HX_SDP_VIDEO, "v0", 2000);
        hx_sdp_track v1 = track(HX_SDP_VIDEO, "v1", 3000), v2 = track(HX_SDP_VIDEO, "v2", 4000);
        hx_sdp_track steps[5][3] = {{a0, v0}, {a0, v1}, {a0, v1, v2}, {v1, v2}, {v1, v2, a0}};
        size_t counts[5] = {2, 2, 3, 2, 3};
        hx_sdp_offerer o;
        hx_sdp_offerer_init(&o, 777);
        int last = atoi(argv[2]);
        rc = last >= 1 && last <= 5 ? 0 : -1;
        for (int i = 0; i < last && !rc; i++)
            rc = hx_sdp_offerer_build(&o, &local, steps[i], counts[i], "data", out, &err);
    } else {
        fprintf(stderr, "usage: sdptool answer | offer N\n");
        return 2;
    }
    long len = rc ? rc : hx_sdp_write(out, text, sizeof text);
    if (len < 0) {
        fprintf(stderr, "error %ld: %s (%s, line %d)\n", len, hx_sdp_strerror((int)len),
                err.what ? err.what : "-", err.line);
        return 1;
    }
    fwrite(text, 1, (size_t)len, stdout);
    return 0;
}
