/*
 * RTCP both ways. From publishers: sender reports (kept per layer, so the
 * reports hearth sends its subscribers carry the publisher's own wall-clock
 * to RTP mapping and lip sync survives the rewrite). From subscribers:
 * NACKs (answered from the packet cache, forward.c), PLI and FIR (turned
 * into a rate-limited PLI to the publisher).
 *
 * Sent on the transport tick: every 20 ms the NACKs hearth's own receive
 * side wants from publishers; every second a receiver report and REMB to
 * each publisher and a sender report per consumer to each subscriber.
 */
#include "sfu/engine_internal.h"

#include "rtp/rtcp.h"

#include <string.h>

#define NTP_EPOCH_OFFSET 2208988800ULL
#define HEARTH_SSRC 1 /* the sender SSRC of hearth's own feedback */

void hx__send_rtcp(hx__transport *t, uint8_t *pkt, size_t len)
{
    hx__engine *e = t->e;
    if (!t->srtp_out || !t->path.proto || len + HX_SRTCP_MAX_OVERHEAD > HX_ENGINE_MTU) return;
    uint8_t *out = e->io.slot(e->io.ctx); /* protected in the slot: one copy */
    memcpy(out, pkt, len);
    if (hx_srtcp_protect(t->srtp_out, out, &len, HX_ENGINE_MTU) != 0) {
        e->io.commit(e->io.ctx, &t->path, 0);
        return;
    }
    e->io.commit(e->io.ctx, &t->path, len);
    t->rtcp_out++;
    hx__arm(t, t->last_stats_ms + 2000); /* its counters moved */
}

static hx__consumer *consumer_by_ssrc(hx__transport *t, uint32_t ssrc)
{
    for (int i = 0; i < t->n_consumers; i++)
        if (t->consumers[i]->ssrc == ssrc) return t->consumers[i];
    return NULL;
}

/* A subscriber's report blocks: its jitter, and the round trip when a block names one of the
 * last two sender reports hearth sent it (RFC 3550 §6.4.1: RTT = now - sent - DLSR, on hearth's
 * own clock, so the NTP time the report carried never matters); then the downlink estimate. */
static void subscriber_report(hx__transport *t, const hx_rtcp_rb *rb, size_t n)
{
    int64_t now = t->e->now_ms;
    for (size_t i = 0; i < n; i++) {
        hx__consumer *c = consumer_by_ssrc(t, rb[i].ssrc);
        if (!c) continue;
        c->rr_seen = true;
        c->rr_jitter = rb[i].jitter;
        for (int k = 0; k < 2 && rb[i].lsr; k++) {
            if (!c->sr_sent_ms[k] || c->sr_mid[k] != rb[i].lsr) continue;
            int64_t rtt = now - c->sr_sent_ms[k] - (int64_t)((uint64_t)rb[i].dlsr * 1000 / 65536);
            if (rtt >= 0 && rtt < 60000) t->rtt_ms = rtt;
            break;
        }
    }
    hx__dl_report(t, rb, n);
}

static void from_subscriber(hx__transport *t, const hx_rtcp_pkt *p)
{
    hx_rtcp_fb fb;
    if (p->pt == HX_RTCP_RTPFB && p->count == HX_RTCP_FMT_NACK) {
        uint16_t seqs[256];
        size_t n = 0;
        if (hx_rtcp_nack_parse(p, &fb, seqs, 256, &n) != 0) return;
        hx__consumer *c = consumer_by_ssrc(t, fb.media_ssrc);
        if (!c) return;
        c->nacks += n;
        hx__resend(c, seqs, n);
    } else if (p->pt == HX_RTCP_PSFB && p->count == HX_RTCP_FMT_PLI) {
        if (hx_rtcp_fb_parse(p, &fb) != 0) return;
        hx__consumer *c = consumer_by_ssrc(t, fb.media_ssrc);
        if (c) hx__request_keyframe(c->track, c->layer);
    } else if (p->pt == HX_RTCP_PSFB && p->count == HX_RTCP_FMT_FIR) {
        hx_rtcp_fir_entry fe[8];
        size_t n = 0;
        if (hx_rtcp_fir_parse(p, &fb, fe, 8, &n) != 0) return;
        for (size_t i = 0; i < n; i++) {
            hx__consumer *c = consumer_by_ssrc(t, fe[i].ssrc);
            if (c) hx__request_keyframe(c->track, c->layer);
        }
    } else if (p->pt == HX_RTCP_RTPFB && p->count == HX_RTCP_FMT_TWCC) {
        hx__dl_feedback(t, p); /* the downlink estimate (downlink.c) */
    } else if (p->pt == HX_RTCP_PSFB && p->count == HX_RTCP_FMT_AFB) {
        hx__dl_remb(t, p);
    } else if (p->pt == HX_RTCP_RR) {
        hx_rtcp_rr rr;
        if (hx_rtcp_rr_parse(p, &rr) == 0) subscriber_report(t, rr.rb, rr.n_rb);
    } else if (p->pt == HX_RTCP_SR) {
        hx_rtcp_sr sr;
        if (hx_rtcp_sr_parse(p, &sr) == 0) subscriber_report(t, sr.rb, sr.n_rb);
    }
}

static void from_publisher(hx__transport *t, const hx_rtcp_pkt *p)
{
    if (p->pt != HX_RTCP_SR) return;
    hx_rtcp_sr sr;
    if (hx_rtcp_sr_parse(p, &sr) != 0) return;
    for (int i = 0; i < t->n_tracks; i++)
        for (int l = 0; l < t->tracks[i]->n_layers; l++) {
            hx__layer *ly = &t->tracks[i]->layers[l];
            if (ly->ssrc != sr.ssrc) continue;
            ly->sr_ntp = sr.ntp;
            ly->sr_rtp = sr.rtp_ts;
            ly->sr_at_ms = t->e->now_ms;
            hx__relay_sr(t->tracks[i], l); /* the room's other workers (relay.c) */
        }
}

void hx__rx_rtcp(hx__transport *t, uint8_t *pkt, size_t len)
{
    if (!t->srtp_in || hx_srtcp_unprotect(t->srtp_in, pkt, &len) != 0) {
        t->srtp_errors++;
        return;
    }
    t->rtcp_in++;
    hx_rtcp_iter it;
    hx_rtcp_pkt p;
    hx_rtcp_iter_init(&it, pkt, len);
    while (hx_rtcp_iter_next(&it, &p) == 1) {
        if (t->role == HX__SUBSCRIBER)
            from_subscriber(t, &p);
        else
            from_publisher(t, &p);
    }
}

/* The wall clock as NTP: the core's time plus the carrier's wall offset (core.h). */
static uint64_t ntp_now(const hx__engine *e)
{
    int64_t unix_ms = e->now_ms + e->wall_offset_ms;
    if (unix_ms < 0) unix_ms = 0;
    uint64_t sec = (uint64_t)(unix_ms / 1000) + NTP_EPOCH_OFFSET;
    uint64_t frac = ((uint64_t)(unix_ms % 1000) << 32) / 1000;
    return sec << 32 | frac;
}

static uint64_t ntp_add_ms(uint64_t ntp, int64_t ms)
{
    return ntp + (uint64_t)((ms << 32) / 1000);
}

void hx__rates_cumulative(const uint64_t *bytes, uint64_t *at, uint32_t *bps, int n,
                          int64_t elapsed_ms)
{
    uint64_t sum = 0;
    for (int i = 0; i < n; i++) {
        if (elapsed_ms > 0) {
            sum += (bytes[i] - at[i]) * 8000 / (uint64_t)elapsed_ms;
            uint32_t r = sum > UINT32_MAX ? UINT32_MAX : (uint32_t)sum;
            bps[i] = bps[i] && r ? (uint32_t)(0.4 * bps[i] + 0.6 * r) : r;
        }
        at[i] = bytes[i];
    }
}

/* Each layer's rate over the last report interval, smoothed (the downlink allocator's input). */
void hx__layer_rates(hx__transport *t)
{
    int64_t now = t->e->now_ms;
    for (int i = 0; i < t->n_tracks; i++) {
        hx__track *tr = t->tracks[i];
        if (tr->svc_layers > 1) /* its spatial layers too (svc.c), over the same interval */
            hx__svc_rates(tr, tr->layers[0].rate_ms ? now - tr->layers[0].rate_ms : 0);
        for (int l = 0; l < tr->n_layers; l++) {
            hx__layer *ly = &t->tracks[i]->layers[l];
            if (ly->tl_max) /* its temporal layers too (temporal.c) */
                hx__temporal_rates(ly, ly->rate_ms ? now - ly->rate_ms : 0);
            if (ly->rate_ms && now > ly->rate_ms) {
                uint64_t r = (ly->bytes - ly->rate_bytes) * 8000 / (uint64_t)(now - ly->rate_ms);
                if (r > UINT32_MAX) r = UINT32_MAX;
                ly->rate_bps = ly->rate_bps && r ? (uint32_t)(0.4 * ly->rate_bps + 0.6 * r)
                                                 : (uint32_t)r;
            }
            ly->rate_bytes = ly->bytes;
            ly->rate_ms = now;
        }
    }
}

static void publisher_reports(hx__transport *t)
{
    uint8_t buf[1200];
    size_t len = 0;
    hx_rtcp_rr rr = {.ssrc = HEARTH_SSRC};
    hx_rtcp_remb remb = {.bitrate = t->e->cfg.remb_bps};
    for (int i = 0; i < t->n_tracks; i++)
        for (int l = 0; l < t->tracks[i]->n_layers; l++) {
            hx__layer *ly = &t->tracks[i]->layers[l];
            if (!ly->ssrc || !ly->stats_started || rr.n_rb >= HX_RTCP_MAX_RB) continue;
            hx_rtcp_rb *rb = &rr.rb[rr.n_rb++];
            hx_rx_stats_report(&ly->stats, ly->ssrc, rb);
            if (ly->sr_at_ms) {
                rb->lsr = (uint32_t)(ly->sr_ntp >> 16);
                rb->dlsr = (uint32_t)(((t->e->now_ms - ly->sr_at_ms) * 65536) / 1000);
            }
            if (t->tracks[i]->kind == HX_SDP_VIDEO && remb.n_ssrc < HX_RTCP_REMB_MAX_SSRC)
                remb.ssrc[remb.n_ssrc++] = ly->ssrc;
        }
    if (!rr.n_rb) return;
    long n = hx_rtcp_rr_build(buf, sizeof buf, &rr);
    if (n <= 0) return;
    len = (size_t)n;
    if (remb.n_ssrc &&
        (n = hx_rtcp_remb_build(buf + len, sizeof buf - len, HEARTH_SSRC, &remb)) > 0)
        len += (size_t)n;
    hx__send_rtcp(t, buf, len);
}

static void subscriber_reports(hx__transport *t)
{
    int64_t now = t->e->now_ms;
    uint64_t wall = ntp_now(t->e);
    for (int i = 0; i < t->n_consumers; i++) {
        hx__consumer *c = t->consumers[i];
        if (!c->packets || c->layer < 0) continue;
        const hx__layer *ly = &c->track->layers[c->layer];
        uint32_t clock = c->track->codec.clock ? c->track->codec.clock : 90000;
        hx_rtcp_sr sr = {.ssrc = c->ssrc,
                         .packet_count = (uint32_t)c->packets,
                         .octet_count = (uint32_t)c->bytes};
        if (ly->sr_at_ms) { /* the publisher's mapping, moved into the rewritten timestamp space */
            int64_t dt = now - ly->sr_at_ms;
            sr.ntp = ntp_add_ms(ly->sr_ntp, dt);
            sr.rtp_ts = ly->sr_rtp + (uint32_t)(dt * (int64_t)clock / 1000) +
                        (c->last_ts_out - c->last_ts_src);
        } else {
            sr.ntp = wall;
            sr.rtp_ts = c->last_ts_out + (uint32_t)((now - c->last_out_ms) * (int64_t)clock / 1000);
        }
        uint8_t buf[128];
        long n = hx_rtcp_sr_build(buf, sizeof buf, &sr);
        if (n <= 0) continue;
        hx__send_rtcp(t, buf, (size_t)n);
        c->sr_mid[c->sr_next] = (uint32_t)(sr.ntp >> 16); /* what its LSR will say */
        c->sr_sent_ms[c->sr_next] = now ? now : 1;
        c->sr_next ^= 1;
    }
}

static void publisher_nacks(hx__transport *t)
{
    uint64_t us = (uint64_t)t->e->now_ms * 1000;
    for (int i = 0; i < t->n_tracks; i++)
        for (int l = 0; l < t->tracks[i]->n_layers; l++) {
            hx__layer *ly = &t->tracks[i]->layers[l];
            if (!ly->ssrc || t->tracks[i]->kind != HX_SDP_VIDEO) continue;
            uint16_t seqs[64];
            size_t n = hx_nack_gen_collect(&ly->nack, us, 30000, seqs, 64);
            if (!n) continue;
            uint8_t buf[512];
            long len = hx_rtcp_nack_build(buf, sizeof buf, HEARTH_SSRC, ly->ssrc, seqs, n);
            if (len > 0) hx__send_rtcp(t, buf, (size_t)len);
        }
}

void hx__rtcp_tick(hx__transport *t)
{
    int64_t now = t->e->now_ms;
    if (t->twcc) hx__twcc_tick(t);
    if (t->role == HX__PUBLISHER && now - t->last_nack_ms >= 20) {
        t->last_nack_ms = now;
        publisher_nacks(t);
        for (int i = 0; i < t->n_tracks; i++) {
            hx__track *tr = t->tracks[i];
            if (tr->pli_pending && now - tr->last_pli_ms >= HX__PLI_MIN_MS)
                hx__request_keyframe(tr, tr->pli_pending > 0 ? tr->pli_pending - 1 : -1);
        }
    }
    if (now - t->last_report_ms < 1000) return;
    t->last_report_ms = now;
    /* A subscriber still waiting for its first keyframe asks again (the last one may have been
     * lost). */
    for (int i = 0; t->role == HX__SUBSCRIBER && i < t->n_consumers; i++) {
        hx__consumer *c = t->consumers[i];
        if (c->negotiated && !c->paused && c->bwe_layer != -1 &&
            (c->need_keyframe || c->layer < 0 || c->layer != hx__wanted_layer(c, now)) &&
            c->track->kind == HX_SDP_VIDEO)
            hx__request_keyframe(c->track, hx__wanted_layer(c, now));
    }
    if (t->role == HX__PUBLISHER) {
        hx__layer_rates(t);
        publisher_reports(t);
    }
    else
        subscriber_reports(t);
}
