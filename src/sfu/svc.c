/*
 * SVC (issue 12, docs/design.md §1): a publisher that sends its spatial layers in one stream
 * gets them selected per subscriber, as simulcast layers are. Two sources say which layer a
 * packet belongs to:
 *
 *   - VP9 (Chromium's scalabilityMode L2T*, L3T*): the payload descriptor (rtp/vp9.c), whose
 *     scalability structure on keyframes gives the layers and their sizes;
 *   - AV1 (L2T*, L3T*): the dependency descriptor header extension (rtp/dd.h), negotiated only
 *     where AV1 is the codec. Its template structure comes with keyframes and is kept per track
 *     (tr->dd); later packets name a template in it, which gives their spatial and temporal id.
 *     Subscribers that negotiate the extension get it as the publisher sent it.
 *
 * The track learns how many spatial layers there are from the structure or the highest spatial
 * id seen, and measures each layer's rate for the downlink allocator. A consumer forwards
 * spatial layers 0..svc_cur and drops the rest:
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
 * Temporal layers all pass.
 */
#include "sfu/engine_internal.h"

#include <stdlib.h>
#include <string.h>

static void from_vp9(const hx_vp9_desc *v, hx__svc_frame *f)
{
    *f = (hx__svc_frame){.sid = v->sid,
                         .tid = v->tid,
                         .begin = v->begin,
                         .end = v->end,
                         .keyframe = v->keyframe,
                         .layers = v->has_ss ? v->ss_layers : 0};
    if (v->has_ss && v->ss_width[0]) {
        f->sized = 1;
        for (int s = 0; s < v->ss_layers && s < HX__MAX_LAYERS; s++)
            f->width[s] = v->ss_width[s], f->height[s] = v->ss_height[s];
    }
}

static int from_dd(hx__track *tr, const uint8_t *pkt, const hx_rtp_hdr *h, hx__svc_frame *f,
                   bool keep)
{
    hx_rtp_ext x;
    hx_dd_structure fresh;
    hx_dd_frame d;
    if (!h->extension || hx_rtp_ext_find(pkt, h, tr->ext_id[HX_SDP_EXT_DD], &x) != HX_RTP_OK ||
        hx_dd_parse(x.val, x.len, tr->dd, &fresh, &d) != HX_RTP_OK)
        return -1;
    *f = (hx__svc_frame){
        .sid = d.sid, .tid = d.tid, .begin = d.start, .end = d.end, .keyframe = d.keyframe};
    if (d.has_structure) {
        if (keep && !tr->dd && !(tr->dd = malloc(sizeof *tr->dd))) return -1;
        if (keep) *tr->dd = fresh;
        f->layers = (uint8_t)(fresh.max_sid + 1);
        if (fresh.has_sizes) {
            f->sized = 1;
            for (int s = 0; s <= fresh.max_sid && s < HX__MAX_LAYERS; s++)
                f->width[s] = fresh.width[s], f->height[s] = fresh.height[s];
        }
    }
    return 0;
}

int hx__svc_read(hx__track *tr, const uint8_t *pkt, const hx_rtp_hdr *h, hx__svc_frame *f,
                 bool keep)
{
    if (!hx__svc_capable(tr)) return -1;
    if (tr->vcodec == HX_CODEC_AV1) return from_dd(tr, pkt, h, f, keep);
    hx_vp9_desc v;
    if (hx_vp9_parse(pkt + h->payload_offset, h->payload_len, &v) != HX_RTP_OK) return -1;
    if (!v.has_layers) v.sid = v.tid = 0;
    from_vp9(&v, f);
    return 0;
}

int hx__svc_on_packet(hx__track *tr, const uint8_t *pkt, const hx_rtp_hdr *h, size_t pkt_len,
                      hx__svc_frame *f)
{
    if (hx__svc_read(tr, pkt, h, f, true) != 0) return -1;
    int n = f->layers ? f->layers : f->sid + 1 > tr->svc_layers ? f->sid + 1 : 0;
    if (n > HX__MAX_LAYERS) n = HX__MAX_LAYERS;
    if (n) tr->svc_layers = (uint8_t)n; /* the structure can shrink too (fewer layers sent) */
    tr->svc_bytes[f->sid < HX__MAX_LAYERS ? f->sid : HX__MAX_LAYERS - 1] += pkt_len;
    return tr->svc_layers > 1;
}

void hx__svc_rates(hx__track *tr, int64_t elapsed_ms)
{
    hx__rates_cumulative(tr->svc_bytes, tr->svc_rate_bytes, tr->svc_rate_bps, HX__MAX_LAYERS,
                         elapsed_ms); /* rtcp.c */
}

int hx__svc_target(const hx__consumer *c)
{
    int target = c->svc_target;
    if (c->bwe_layer >= 0 && c->bwe_layer < target) target = c->bwe_layer;
    int top = c->track->svc_layers ? c->track->svc_layers - 1 : 0;
    return target > top ? top : target;
}

bool hx__svc_filter(hx__consumer *c, const hx__svc_frame *v, bool *marker)
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
