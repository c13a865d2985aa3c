/*
 * VP8 temporal layers (issue 12, docs/design.md §1). libwebrtc encodes each simulcast layer of
 * VP8 in three temporal layers (TID 0, 1, 2 in the payload descriptor; T0 at a quarter of the
 * frame rate, T0+T1 at half). When a subscriber's downlink cannot carry even the lowest layer,
 * the allocator (downlink.c) may keep it at that layer with fewer temporal layers, a lower frame
 * rate, rather than pause its video: the lowest layer becomes up to three steps (T0, T0+T1,
 * all) on its ladder, each with its measured rate.
 *
 * A consumer forwards temporal layers 0..tl_cur:
 *   - down to the cap at the start of any picture (nothing depends on a higher layer);
 *   - up at a picture of the higher layer with the layer-sync bit (Y: it references only T0),
 *     or at a keyframe, as mediasoup does;
 *   - every packet of a picture dropped leaves no gap: sequence numbers close it (rtp/seq.h)
 *     and the picture ids after it move down by one (hx_vp8_rw_drop); TL0PICIDX counts T0
 *     pictures, which are never dropped.
 */
#include "sfu/engine_internal.h"

void hx__temporal_count(hx__layer *ly, const hx_vp8_desc *d, size_t pkt_len)
{
    if (!d->has_tid) return;
    int t = d->tid < HX__MAX_TL ? d->tid : HX__MAX_TL - 1;
    if (t > ly->tl_max) ly->tl_max = (uint8_t)t;
    ly->tl_bytes[t] += pkt_len;
}

void hx__temporal_rates(hx__layer *ly, int64_t elapsed_ms)
{
    hx__rates_cumulative(ly->tl_bytes, ly->tl_rate_bytes, ly->tl_rate_bps, HX__MAX_TL,
                         elapsed_ms); /* rtcp.c */
}

bool hx__temporal_pass(hx__consumer *c, int layer, const hx_vp8_desc *d, bool keyframe)
{
    if (!d || !d->has_tid) return true; /* no temporal layers: nothing to drop */
    uint8_t top = c->track->layers[layer].tl_max;
    if (keyframe) {
        c->tl_cur = c->tl_target; /* every layer starts afresh here */
    } else if (d->start && d->pid == 0) {
        if (c->tl_target < c->tl_cur)
            c->tl_cur = c->tl_target;
        else if (d->tid > c->tl_cur && d->tid <= c->tl_target && d->layer_sync)
            c->tl_cur = c->tl_target == HX__TL_ALL && d->tid >= top ? HX__TL_ALL : d->tid;
    }
    if (d->tid <= c->tl_cur) return true;
    hx_vp8_rw_drop(&c->vp8, d);
    return false;
}

int hx__temporal_steps(const hx__track *tr)
{
    if (tr->vcodec != HX_CODEC_VP8 || tr->svc_layers > 1) return 1;
    int top = tr->layers[0].tl_max;
    return top >= HX__MAX_TL ? HX__MAX_TL : top + 1;
}

uint32_t hx__temporal_step_bps(const hx__track *tr, int s, uint32_t all)
{
    if (!all || s < 0 || s >= hx__temporal_steps(tr) - 1 || s >= HX__MAX_TL) return all;
    /* Measured; before a measurement, libwebrtc's split (T0 40 %, T0+T1 60 %). */
    uint32_t r = tr->layers[0].tl_rate_bps[s];
    if (!r) r = (uint32_t)((uint64_t)all * (s == 0 ? 40 : 60) / 100);
    return r < all ? (r ? r : 1) : all;
}
