/*
 * A subscriber's downlink (docs/design.md §1, issue 12): each subscriber gets what its link
 * carries.
 *
 *  - Every packet forwarded on a video m-line whose answer kept the transport-wide sequence
 *    extension carries the transport's next number (hx__dl_stamp: written over the publisher's
 *    own, or added), and its send time, size and probe tag go in a ring of HX__DL_RING.
 *  - The client's transport-cc feedback is matched against the ring and handed to the
 *    estimator (adapt/bwe.h); REMB and receiver reports stand in for a client without it.
 *  - The allocator (adapt/alloc.h) splits the estimate over its video consumers (the estimate
 *    covers only what is stamped, so the audio beside it is already accounted for), the tracks
 *    the subscriber pinned first (PIN, at once when that changes), then who speaks: each consumer's
 * bwe_layer caps the layer it forwards (forward.c: hx__wanted_layer), -1 pauses it. It runs at most
 * every 100 ms after feedback, at once when the estimate fell by a tenth, and every 500 ms while
 * video flows (layer rates move).
 *  - When the allocator wants more than the estimate, the estimator may start a probe: for its
 *    duration the downlink is padded up to the probe rate every 5 ms with padding-only packets
 *    on an RTX stream (what libwebrtc sends), each stamped, so the feedback shows whether the
 *    link carries the rate of the next layer before the layer is chosen.
 *
 * The ring and the estimator cost ~14 KiB per subscriber that receives video with transport-cc,
 * allocated with its first stamped packet; an audio-only subscriber costs nothing here.
 */
#include "sfu/engine_internal.h"

#include "adapt/alloc.h"
#include "common/invariant.h"

#include <stdlib.h>
#include <string.h>

#define ALLOC_MIN_MS 100
#define ALLOC_EVERY_MS 500
#define PAD_STEP_MS 5
#define PAD_SIZE 224       /* padding bytes per packet (libwebrtc's maximum) */
#define PAD_BURST 16       /* packets per step at most */
#define RTX_SHARE 0.5      /* of the estimate, for retransmissions */
#define FB_MAX HX__DL_RING /* statuses per feedback message handled */

static hx__downlink *dl_get(hx__transport *t)
{
    if (t->dl) return t->dl;
    hx__downlink *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    hx_bwe_init(&d->bwe, &t->e->cfg.bwe);
    d->alloc_estimate = hx_bwe_estimate(&d->bwe);
    d->last_alloc_ms = t->e->now_ms;
    t->dl = d;
    hx__arm(t, d->last_alloc_ms + ALLOC_EVERY_MS);
    return d;
}

int hx__dl_stamp(hx__consumer *c, uint8_t *out, size_t *olen, size_t cap, hx_rtp_hdr *oh,
                 uint16_t *seq)
{
    hx__downlink *d = dl_get(c->sub);
    if (!d) return -1;
    uint8_t v[2] = {(uint8_t)(d->next_seq >> 8), (uint8_t)d->next_seq};
    if (hx_rtp_ext_put(out, olen, cap, oh, HX__SUB_EXT_TCC, v, 2) != HX_RTP_OK) return -1;
    *seq = d->next_seq++;
    d->stamped++;
    return 0;
}

void hx__dl_sent(hx__transport *t, uint16_t seq, size_t size)
{
    hx__downlink *d = t->dl;
    if (!HX_ALWAYS(d)) return;
    int64_t now = t->e->now_ms;
    struct hx__dl_sent *s = &d->ring[seq % HX__DL_RING];
    s->send_ms = (uint32_t)now;
    s->seq = seq;
    s->size = (uint16_t)(size > UINT16_MAX ? UINT16_MAX : size);
    s->probe = hx_bwe_probe_tag(&d->bwe, now);
    s->valid = 1;
    d->recorded++;
}

/* The allocation and its consequences: a new cap asks for a keyframe of the layer it leads to. */
/* A VP8 track's lowest layer as up to three steps on the allocator's ladder (temporal.c): T0,
 * T0+T1, all of it; the layers above move up by as many. */
static void temporal_ladder(const hx__consumer *c, hx_alloc_track *a)
{
    int k = hx__temporal_steps(c->track);
    if (k < 2 || a->n_layers + k - 1 > HX_ALLOC_MAX_LAYERS) return;
    for (int l = a->n_layers - 1; l >= 1; l--)
        a->layer_bps[l + k - 1] = a->layer_bps[l];
    uint32_t all = a->layer_bps[0];
    for (int s = 0; s < k; s++)
        a->layer_bps[s] = hx__temporal_step_bps(c->track, s, all);
    a->n_layers = (uint8_t)(a->n_layers + k - 1);
    a->max_layer = (int8_t)(a->max_layer + k - 1);
    if (a->current == 0)
        a->current = (int8_t)(c->tl_cur < k - 1 ? c->tl_cur : k - 1);
    else if (a->current > 0)
        a->current = (int8_t)(a->current + k - 1);
}

static void allocate(hx__transport *t)
{
    hx__downlink *d = t->dl;
    hx__engine *e = t->e;
    int64_t now = e->now_ms;
    d->last_alloc_ms = now;
    uint32_t est = hx_bwe_estimate(&d->bwe);
    d->alloc_estimate = est;
    hx_alloc_track at[HX__MAX_CONSUMERS];
    hx__consumer *who[HX__MAX_CONSUMERS];
    size_t n = 0;
    for (int i = 0; i < t->n_consumers; i++) {
        hx__consumer *c = t->consumers[i];
        if (!c->negotiated || c->paused || c->track->muted) continue;
        const hx__track *tr = c->track;
        if (tr->kind != HX_SDP_VIDEO) continue;
        hx_alloc_track *a = &at[n];
        memset(a, 0, sizeof *a);
        a->n_layers = tr->n_layers;
        for (int l = 0; l < tr->n_layers && l < HX_ALLOC_MAX_LAYERS; l++) {
            const hx__layer *ly = &tr->layers[l];
            bool sending = ly->last_packet_ms && now - ly->last_packet_ms < 1000;
            /* A layer that just began has no measured rate: count it as a little, not free. */
            a->layer_bps[l] = !sending ? 0 : ly->rate_bps ? ly->rate_bps : 1000;
        }
        a->max_layer = (int8_t)(c->target_layer < 0 ? 0 : c->target_layer);
        a->current = (int8_t)(c->bwe_layer == -1 ? -1 : c->layer);
        /* Served first: what its subscriber pinned, then who speaks (loudest first), then the
         * larger size asked for (alloc.h). */
        int rank = hx__speaker_rank(tr->pub);
        a->priority = (uint8_t)(c->pinned  ? HX_SPEAKER_MAX + 1
                                : rank < 0 ? 0
                                           : HX_SPEAKER_MAX - rank);
        a->size = (uint32_t)c->want_w * c->want_h;
        if (tr->svc_layers > 1) {
            /* Spatial layers instead (svc.c): each one's rate includes those below it. */
            a->n_layers = tr->svc_layers;
            bool sending =
                tr->layers[0].last_packet_ms && now - tr->layers[0].last_packet_ms < 1000;
            for (int l = 0; l < tr->svc_layers && l < HX_ALLOC_MAX_LAYERS; l++)
                a->layer_bps[l] = !sending ? 0 : tr->svc_rate_bps[l] ? tr->svc_rate_bps[l] : 1000;
            a->max_layer =
                c->svc_target < tr->svc_layers ? c->svc_target : (int8_t)(tr->svc_layers - 1);
            a->current = (int8_t)(c->bwe_layer == -1 ? -1 : c->svc_cur);
        } else {
            temporal_ladder(c, a);
        }
        who[n++] = c;
    }
    /* The estimate measures what is stamped (video, its retransmissions, padding): audio flows
     * beside it, and what it takes of the link already shows as video the link did not carry. */
    hx_alloc_run(at, n, est, &d->wanted_bps);
    if (!e->cfg.adaptive) return; /* estimated and allocated, not applied (engine.h) */
    for (size_t i = 0; i < n; i++) {
        hx__consumer *c = who[i];
        int cap = at[i].result, steps = hx__temporal_steps(c->track);
        uint8_t tl = HX__TL_ALL; /* the lowest layer's steps: temporal caps (temporal.c) */
        if (steps > 1 && cap >= 0 && cap < steps - 1) tl = (uint8_t)cap;
        if (steps > 1 && cap >= 0) cap = cap < steps ? 0 : cap - (steps - 1);
        if (cap == c->bwe_layer && tl == c->tl_target) continue;
        d->layer_changes++;
        if (cap == c->bwe_layer) { /* the frame rate alone: no keyframe needed */
            c->tl_target = tl;
            hx__receiving_check(c);
            continue;
        }
        c->tl_target = tl;
        int before = c->bwe_layer;
        c->bwe_layer = cap;
        if (cap < 0) {
            c->layer = -1; /* paused: its return is a switch, at a keyframe */
            hx__receiving_check(c);
            continue;
        }
        hx__receiving_check(c); /* limited or not (the layer itself changes at a keyframe) */
        int want = hx__wanted_layer(c, now);
        if (before == -1 || want != c->layer ||
            (c->track->svc_layers > 1 && hx__svc_target(c) > c->svc_cur))
            hx__request_keyframe(c->track, want);
    }
    hx_bwe_probe p;
    /* The allocator climbs with a margin (alloc.h): a probe must show that much to help. */
    uint64_t aim = (uint64_t)d->wanted_bps * 6 / 5;
    if (!d->probing &&
        hx_bwe_probe_due(&d->bwe, aim > UINT32_MAX ? UINT32_MAX : (uint32_t)aim, now, &p)) {
        d->probe = p;
        d->probing = true;
        d->probe_start_ms = now;
        d->next_pad_ms = now;
        d->probe_bytes_at = t->bytes_out;
        d->pad_bytes = 0;
    }
    hx__arm(t, hx__dl_due(t));
}

/* Whose RTX stream carries the padding: none when retransmissions must travel in the media
 * stream (media.retransmit = original: the client may not take RTX at all): a probe then
 * carries only the media. */
static hx__consumer *pad_consumer(const hx__transport *t)
{
    if (t->e->cfg.retransmit_original) return NULL;
    for (int i = 0; i < t->n_consumers; i++) {
        hx__consumer *c = t->consumers[i];
        if (c->negotiated && c->tcc && c->rtx_ssrc && c->rtx_pt && c->packets) return c;
    }
    return NULL;
}

/* Padding-only packets on an RTX stream, up to the probe's rate so far. */
static void pad(hx__transport *t)
{
    hx__downlink *d = t->dl;
    hx__engine *e = t->e;
    int64_t now = e->now_ms;
    d->next_pad_ms = now + PAD_STEP_MS;
    if (now >= d->probe.until_ms) {
        d->probing = false;
        return;
    }
    hx__consumer *c = pad_consumer(t);
    if (!c || !t->path.proto || !t->srtp_out) return;
    int64_t due = (int64_t)d->probe.bps * (now - d->probe_start_ms + PAD_STEP_MS) / 8000;
    int64_t sent = (int64_t)(t->bytes_out - d->probe_bytes_at);
    for (int k = 0; k < PAD_BURST && sent < due; k++) {
        uint8_t ext[2] = {(uint8_t)(d->next_seq >> 8), (uint8_t)d->next_seq};
        hx_rtp_ext x = {.id = HX__SUB_EXT_TCC, .len = 2, .val = ext};
        hx_rtp_build_args a = {.pt = c->rtx_pt,
                               .seq = c->rtx_seq,
                               .ts = c->last_ts_out,
                               .ssrc = c->rtx_ssrc,
                               .ext = &x,
                               .n_ext = 1,
                               .padding = PAD_SIZE};
        uint8_t *out = e->io.slot(e->io.ctx);
        long len = hx_rtp_build(out, HX_ENGINE_MTU - HX_SRTP_MAX_OVERHEAD, &a);
        size_t plen = len > 0 ? (size_t)len : 0;
        if (len <= 0 || hx_srtp_protect(t->srtp_out, out, &plen, HX_ENGINE_MTU) != 0) {
            e->io.commit(e->io.ctx, &t->path, 0);
            return;
        }
        e->io.commit(e->io.ctx, &t->path, plen);
        c->rtx_seq++;
        hx__dl_sent(t, d->next_seq++, plen);
        t->bytes_out += plen;
        t->packets_out++;
        d->pad_bytes += plen;
        d->padding_packets++;
        sent += (int64_t)plen;
    }
}

/* Retransmissions on a link that just proved too narrow load it further, and a full queue
 * loses more, which asks for more: at most RTX_SHARE of the estimate goes to them (libwebrtc
 * caps them similarly), with half a second of it as a burst. */
bool hx__dl_rtx_allowed(hx__transport *t, size_t bytes)
{
    hx__downlink *d = t->dl;
    if (!d || !t->e->cfg.adaptive) return true;
    int64_t now = t->e->now_ms;
    double rate = hx_bwe_estimate(&d->bwe) * RTX_SHARE / 8000.0; /* bytes per ms */
    d->rtx_tokens += rate * (double)(now - d->rtx_ms);
    if (d->rtx_tokens > rate * 500) d->rtx_tokens = rate * 500;
    d->rtx_ms = now;
    if (d->rtx_tokens < (double)bytes) {
        d->rtx_refused++;
        return false;
    }
    d->rtx_tokens -= (double)bytes;
    return true;
}

void hx__dl_tick(hx__transport *t)
{
    hx__downlink *d = t->dl;
    if (!d) return;
    int64_t now = t->e->now_ms;
    if (d->probing && now >= d->next_pad_ms) pad(t);
    if (now - d->last_alloc_ms >= ALLOC_EVERY_MS) allocate(t);
}

int64_t hx__dl_due(const hx__transport *t)
{
    const hx__downlink *d = t->dl;
    if (!d) return INT64_MAX;
    int64_t due = INT64_MAX;
    if (d->probing) due = d->next_pad_ms;
    for (int i = 0; i < t->n_consumers; i++) {
        const hx__consumer *c = t->consumers[i];
        if (c->negotiated && c->track->kind == HX_SDP_VIDEO) {
            int64_t a = d->last_alloc_ms + ALLOC_EVERY_MS;
            return a < due ? a : due;
        }
    }
    return due;
}

void hx__dl_replan(hx__transport *t)
{
    if (t->dl) allocate(t);
}

/* After new input to the estimator: allocate again if it is time, or at once on a fall. */
static void reconsider(hx__transport *t)
{
    hx__downlink *d = t->dl;
    uint32_t est = hx_bwe_estimate(&d->bwe);
    int64_t now = t->e->now_ms;
    if (now - d->last_alloc_ms >= ALLOC_MIN_MS || est < d->alloc_estimate * 0.9) allocate(t);
}

void hx__dl_feedback(hx__transport *t, const hx_rtcp_pkt *p)
{
    hx__downlink *d = t->dl;
    if (!d) return; /* nothing stamped yet */
    hx_twcc_status st[FB_MAX];
    hx_bwe_pkt pk[FB_MAX];
    hx_twcc_fb fb;
    if (hx_rtcp_twcc_parse(p, &fb, st, FB_MAX) != HX_RTP_OK) return;
    int64_t now = t->e->now_ms;
    int64_t arrival = (int64_t)fb.ref_time * 64000;
    size_t n = 0;
    for (size_t i = 0; i < fb.status_count; i++) {
        uint16_t seq = (uint16_t)(fb.base_seq + i);
        bool got = st[i].status != HX_TWCC_NOT_RECEIVED;
        if (got) arrival += (int64_t)st[i].delta * 250;
        struct hx__dl_sent *s = &d->ring[seq % HX__DL_RING];
        if (!s->valid || s->seq != seq) continue; /* unknown, or reported already */
        uint32_t age = (uint32_t)now - s->send_ms;
        if (age > 10000) continue; /* a number from a lap of the ring long ago */
        if (got) s->valid = 0;     /* a loss may still be reported received later */
        if (got)
            d->reported_got++;
        else
            d->reported_lost++;
        pk[n++] = (hx_bwe_pkt){.send_ms = now - (int64_t)age,
                               .arrival_us = got ? arrival : -1,
                               .size = s->size,
                               .probe = s->probe};
    }
    d->feedbacks++;
    hx_bwe_on_feedback(&d->bwe, pk, n, now);
    reconsider(t);
}

void hx__dl_remb(hx__transport *t, const hx_rtcp_pkt *p)
{
    hx_rtcp_fb fb;
    hx_rtcp_remb r;
    if (hx_rtcp_remb_parse(p, &fb, &r) != HX_RTP_OK) return;
    hx__downlink *d = dl_get(t);
    if (!d) return;
    hx_bwe_on_remb(&d->bwe, r.bitrate, t->e->now_ms);
    reconsider(t);
}

void hx__dl_report(hx__transport *t, const hx_rtcp_rb *rb, size_t n)
{
    hx__downlink *d = t->dl;
    if (!d) return;
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < t->n_consumers; k++)
            if (t->consumers[k]->ssrc == rb[i].ssrc &&
                t->consumers[k]->track->kind == HX_SDP_VIDEO) {
                hx_bwe_on_rr_loss(&d->bwe, rb[i].fraction_lost, t->e->now_ms);
                reconsider(t);
                return;
            }
}
