/*
 * libFuzzer target for sdp/: parse arbitrary text; whatever parses is
 * written back and must parse again (the writer only emits what the parser
 * accepts), and is answered as a publisher offer: an answer that builds must
 * write and re-parse, and its extmap ids must mean one URI bundle-wide (the
 * property aiortc 1.4.0 offers break); it is also applied as the client's
 * answer to a subscriber offer (tests/sdp/peers.h's sequence, step chosen
 * by the input size). Aborts on any broken contract; ASan
 * and UBSan catch the rest. Seeds: fuzz/corpus/sdp (the real captures).
 */
#include "../tests/sdp/peers.h" /* hearth's local parameters */

#include <stdlib.h>
#include <string.h>

static void reparse(const hx_sdp *s, char *text, hx_sdp *tmp)
{
    long n = hx_sdp_write(s, text, HX_SDP_MAX_LEN + 1);
    if (n == HX_SDP_E_NOSPACE) return; /* a maximal input can grow past 64 KiB when rewritten */
    if (n < 0 || hx_sdp_parse(text, (size_t)n, tmp, NULL) != 0) abort();
    if (tmp->n_media != s->n_media) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hx_sdp *in = malloc(sizeof *in), *out = malloc(sizeof *out), *tmp = malloc(sizeof *tmp);
    hx_sdp_negotiated *ng = malloc(sizeof *ng);
    char *text = malloc(HX_SDP_MAX_LEN + 1);
    hx_sdp_error err;
    int rc = hx_sdp_parse((const char *)data, size, in, &err);
    if (rc > 0 || rc < HX_SDP_E_UNSUPPORTED || (rc && !err.what)) abort();
    if (rc == 0) {
        reparse(in, text, tmp);
        if (hx_sdp_answer(in, &local, out, ng, &err) == 0) {
            reparse(out, text, tmp);
            const char *by_id[256] = {NULL};
            for (unsigned i = 0; i < out->n_media; i++)
                for (unsigned e = 0; e < out->media[i].n_extmaps; e++) {
                    const hx_sdp_extmap *x = &out->media[i].extmaps[e];
                    if (by_id[x->id] && strcmp(by_id[x->id], x->uri) != 0) abort();
                    by_id[x->id] = x->uri;
                }
            if (out->n_media != in->n_media || !out->n_bundle) abort();
        }
        /* The input as the client's answer to one of hearth's subscriber offers. */
        hx_sdp_offerer o;
        hx_sdp_track t[3];
        hx_sdp_offerer_init(&o, 777);
        for (int step = 1; step <= 1 + (int)(size % 5); step++) {
            size_t nt = sequence_step(step, t);
            if (hx_sdp_offerer_build(&o, &local, t, nt, "data", tmp, &err) != 0) abort();
        }
        rc = hx_sdp_answer_apply(tmp, in, ng, &err);
        if (rc > 0 || rc < HX_SDP_E_UNSUPPORTED || (rc && !err.what)) abort();
    }
    free(in);
    free(out);
    free(tmp);
    free(ng);
    free(text);
    return 0;
}
