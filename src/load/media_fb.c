/*
 * What a constrained receiver (--constrained) reports back on its subscriber
 * PeerConnection: every HX_LOAD_FB_EVERY_US one SRTCP compound of a receiver
 * report (RFC 3550 §6.4.2) and a REMB (draft-alvestrand-rmcat-remb-03 §2.2)
 * of --remb-kbps naming the video SSRCs it receives, what a real client on a
 * link of that size would say. hearthd's downlink estimator reads REMB only
 * from a subscriber without transport-cc: hearth-load's answer accepts no
 * header extension at all (sdp_gen.c), transport-wide-cc included, so every
 * hearth-load receiver is such a subscriber.
 *
 * One report block per received SSRC (a server's simulcast layer switch
 * keeps the SSRC and starts a new stream in media_rx.c: their counts add):
 * fraction and cumulative loss from the publisher's trailer counters (the
 * loss media_rx.c counts), the extended highest sequence number and jitter
 * (90 kHz units) of the stream that arrived last; no LSR / DLSR (the server's
 * SRs are not read). The first compound goes out as the PeerConnection comes
 * up, before any video, so that the server's first allocation has the REMB.
 */
#include "load/load_internal.h"
#include "rtp/rtcp.h"

#define RECEIVER_SSRC_BASE 0x30000000u /* our RTCP sender SSRC: + participant index */

/* Fill rr's blocks and remb's SSRCs from p's streams; moves the streams' report marks. */
static void blocks(hx_load_part *p, hx_rtcp_rr *rr, hx_rtcp_remb *remb)
{
    uint64_t dexp[HX_RTCP_MAX_RB] = {0}, drec[HX_RTCP_MAX_RB] = {0};
    uint64_t texp[HX_RTCP_MAX_RB] = {0}, trec[HX_RTCP_MAX_RB] = {0};
    uint64_t last_us[HX_RTCP_MAX_RB] = {0};
    for (int i = 0; i < p->n_rx; i++) {
        hx_load_rxs *s = &p->rx[i];
        if (!s->started) continue;
        int b = 0;
        while (b < rr->n_rb && rr->rb[b].ssrc != s->ssrc)
            b++;
        if (b == rr->n_rb) {
            if (rr->n_rb == HX_RTCP_MAX_RB) continue;
            rr->rb[rr->n_rb++] = (hx_rtcp_rb){.ssrc = s->ssrc};
            if (s->kind == HX_LOAD_KIND_VIDEO && remb->n_ssrc < HX_RTCP_REMB_MAX_SSRC)
                remb->ssrc[remb->n_ssrc++] = s->ssrc;
        }
        uint64_t exp = (uint64_t)(s->highest - s->first) + 1;
        dexp[b] += exp - s->rr_expected;
        drec[b] += s->received - s->rr_received;
        texp[b] += exp;
        trec[b] += s->received;
        s->rr_expected = exp;
        s->rr_received = s->received;
        if (s->last_us >= last_us[b]) {
            last_us[b] = s->last_us;
            rr->rb[b].ext_highest_seq = s->ext_seq;
            rr->rb[b].jitter = (uint32_t)(s->jitter_us * 90 / 1000);
        }
    }
    for (int b = 0; b < rr->n_rb; b++) {
        uint64_t lost = dexp[b] > drec[b] ? dexp[b] - drec[b] : 0;
        uint64_t frac = dexp[b] ? lost * 256 / dexp[b] : 0;
        uint64_t cum = texp[b] > trec[b] ? texp[b] - trec[b] : 0;
        rr->rb[b].fraction_lost = (uint8_t)(frac > 255 ? 255 : frac);
        rr->rb[b].cumulative_lost = (int32_t)(cum > 0x7fffff ? 0x7fffff : cum);
    }
}

void hx_load_rx_feedback(hx_load_part *p, uint64_t now_us, bool now)
{
    hx_lpc *pc = p->sub;
    if (!p->constrained || !pc || !pc->up || pc->closing) return;
    if (!now && now_us < p->next_fb_us) return;
    p->next_fb_us = now_us + HX_LOAD_FB_EVERY_US;
    uint32_t me = RECEIVER_SSRC_BASE + (uint32_t)p->index;
    hx_rtcp_rr rr = {.ssrc = me};
    hx_rtcp_remb remb = {.bitrate = (uint64_t)p->w->run->cfg->remb_kbps * 1000};
    blocks(p, &rr, &remb);
    uint8_t buf[HX_LOAD_PKT_MAX + 64];
    long n = hx_rtcp_rr_build(buf, HX_LOAD_PKT_MAX, &rr);
    if (n < 0) return;
    long m = hx_rtcp_remb_build(buf + n, HX_LOAD_PKT_MAX - (size_t)n, me, &remb);
    if (m < 0) return;
    if (hx_lpc_send_rtcp(pc, buf, (size_t)(n + m), sizeof buf) == 0) p->w->st.fb_sent++;
}
