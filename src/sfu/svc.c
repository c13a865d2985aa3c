/*
 * VP9 SVC (issue 12, docs/design.md §1): a publisher that sends its spatial layers in one stream
 * (Chromium's scalabilityMode L2T*, L3T*) gets them selected per subscriber, as simulcast layers
 * are. The track learns how many spatial layers there are from the descriptor's scalability
 * structure (keyframes carry it) or the highest SID seen, and measures each layer's rate for the
 * downlink allocator. A consumer forwards spatial layers 0..svc_cur and drops the rest:
 *
 *   - its target is what it asked for (`track.layer` q/h/f: spatial layer 0/1/2) within the
 *     downlink's cap (downlink.c), at most the top layer sent;
 *   - it climbs only at a keyframe: the upper layers of other pictures predict from upper-layer
 *     pictures the subscriber never had (L3T3) or from nothing it has (L3T3_KEY);
 *   - it comes down at the start of any picture: no layer depends on one above it;
 *   - the last packet of its top layer in each picture carries the RTP marker, since the
 *     publisher's marker (end of picture) sat on a layer it no longer gets.
 *
 * Dropped packets leave no gap: the sequence rewriter closes it (rtp/seq.h hx_seq_rw_drop).
 * Temporal layers all pass. Only VP9 with a single encoding is SVC here; AV1 SVC needs the
 * dependency descriptor extension, not read yet.
 */
#include "sfu/engine_internal.h"

#include <string.h>

int hx__svc_on_packet(hx__track *tr, const uint8_t *payload, size_t len, size_t pkt_len,
                      hx_vp9_desc *v)
{
    if (!hx__svc_capable(tr)) return -1;
    if (hx_vp9_parse(payload, len, v) != HX_RTP_OK) return -1;
    int n = v->has_ss                                      ? v->ss_layers
            : v->has_layers && v->sid + 1 > tr->svc_layers ? v->sid + 1
                                                           : 0;
    if (n > HX__MAX_LAYERS) n = HX__MAX_LAYERS;
    if (n) tr->svc_layers = (uint8_t)n; /* the structure can shrink too (fewer layers sent) */
    tr->svc_bytes[v->sid < HX__MAX_LAYERS ? v->sid : HX__MAX_LAYERS - 1] += pkt_len;
    return tr->svc_layers > 1;
}

void hx__svc_rates(hx__track *tr, int64_t elapsed_ms)
{
    uint64_t sum = 0;
    for (int s = 0; s < HX__MAX_LAYERS; s++) {
        if (elapsed_ms > 0) {
            sum += (tr->svc_bytes[s] - tr->svc_rate_bytes[s]) * 8000 / (uint64_t)elapsed_ms;
            uint32_t r = sum > UINT32_MAX ? UINT32_MAX : (uint32_t)sum;
            tr->svc_rate_bps[s] =
                tr->svc_rate_bps[s] && r ? (uint32_t)(0.4 * tr->svc_rate_bps[s] + 0.6 * r) : r;
        }
        tr->svc_rate_bytes[s] = tr->svc_bytes[s];
    }
}

int hx__svc_target(const hx__consumer *c)
{
    int target = c->svc_target;
    if (c->bwe_layer >= 0 && c->bwe_layer < target) target = c->bwe_layer;
    int top = c->track->svc_layers ? c->track->svc_layers - 1 : 0;
    return target > top ? top : target;
}

bool hx__svc_filter(hx__consumer *c, const hx_vp9_desc *v, bool *marker)
{
    int target = hx__svc_target(c), before = c->svc_cur;
    if (v->keyframe)
        c->svc_cur = (int8_t)target; /* every layer starts afresh here */
    else if (v->begin && v->sid == 0 && target < c->svc_cur)
        c->svc_cur = (int8_t)target;
    if (c->svc_cur != before) hx__receiving_check(c); /* receiving.c */
    if (c->svc_cur < 0 || v->sid > c->svc_cur) return false;
    *marker = v->sid == c->svc_cur && v->end;
    return true;
}
