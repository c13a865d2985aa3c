/*
 * Scratch tool for capture.mjs (not built by CMake, not run by CI):
 *   sdptool answer     < offer.sdp   hearth's answer to a publisher offer
 *   sdptool offer N                  the Nth subscriber offer of a fixed
 *                                    renegotiation sequence (../peers.h)
 * Build: cc -Isrc tests/sdp/capture/sdptool.c build/libhearth.a -o /tmp/sdptool
 */
#include "../peers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
        hx_sdp_track t[3];
        hx_sdp_offerer o;
        hx_sdp_offerer_init(&o, 777);
        o.recycle_after = 1; /* the sequence recycles v0's m-line at step 3 */
        int last = atoi(argv[2]);
        rc = last >= 1 && last <= 5 ? 0 : -1;
        for (int i = 1; i <= last && !rc; i++) {
            size_t nt = sequence_step(i, t);
            rc = hx_sdp_offerer_build(&o, &local, t, nt, "data", out, &err);
        }
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
