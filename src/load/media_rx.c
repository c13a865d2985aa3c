/*
 * What a simulated subscriber measures, per received stream (by SSRC and
 * the trailer's simulcast layer, at most HX_LOAD_MAX_RX_STREAMS per
 * participant, in a fixed table). A server forwards one layer of a
 * simulcast track under one SSRC and switches layers at keyframes; keying
 * on the layer too makes each layer a stream of its own, with its own
 * publisher counters, so a switch is neither loss nor duplicates.
 *
 * Loss counts the publisher's trailer counters, not RTP sequence numbers:
 * expected = highest - first + 1 over the stream's life, received = distinct
 * counters seen (a 64-packet window drops duplicates). A stream starts at
 * its first packet, so a subscriber that joins late (or whose video waits
 * for a keyframe) is not charged for what came before; losses after the
 * last packet received cannot be seen (the run drains before counting).
 * Latency is arrival minus the trailer's send time, into the worker's
 * histograms; jitter is RFC 3550 §6.4.1's smoothed |D| of that transit
 * time, in microseconds, averaged over streams at the end. Video bytes and
 * the first-to-last arrival span per stream give the bitrate received per
 * layer (report.c), also by receiver group (constrained or open). Each
 * stream keeps its extended highest RTP sequence number and what it had at
 * the last receiver report, for the constrained receivers' RRs (media_fb.c).
 */
#include "load/load_internal.h"
#include "common/bytes.h"
#include "rtp/rtp.h"

#include <stdlib.h>

static hx_load_rxs *stream(hx_load_part *p, uint32_t ssrc, uint8_t kind, uint8_t layer)
{
    for (int i = 0; i < p->n_rx; i++)
        if (p->rx[i].ssrc == ssrc && p->rx[i].layer == layer) return &p->rx[i];
    if (p->n_rx == HX_LOAD_MAX_RX_STREAMS) return NULL;
    hx_load_rxs *s = &p->rx[p->n_rx++];
    *s = (hx_load_rxs){.ssrc = ssrc, .kind = kind, .layer = layer};
    return s;
}

void hx_load_rx_rtp(hx_load_part *p, const uint8_t *pkt, size_t len, uint64_t now_us)
{
    hx_load_stats *st = &p->w->st;
    hx_rtp_hdr h;
    if (hx_rtp_parse(pkt, len, &h) != 0 || h.payload_len < HX_LOAD_TRAILER_LEN) {
        st->rx_bad++;
        return;
    }
    const uint8_t *t = pkt + h.payload_offset + h.payload_len - HX_LOAD_TRAILER_LEN;
    if (t[0] != HX_LOAD_MAGIC0 || t[1] != HX_LOAD_MAGIC1) {
        st->rx_bad++;
        return;
    }
    uint8_t kind = t[2];
    uint32_t counter = hx_rd32(t + 4);
    uint64_t sent = (uint64_t)hx_rd32(t + 8) << 32 | hx_rd32(t + 12);
    uint8_t layer = (uint8_t)(t[3] >> HX_LOAD_FLAG_LAYER_SHIFT & 3);
    if (layer >= HX_LOAD_MAX_LAYERS) layer = 0;
    hx_load_rxs *s = stream(p, h.ssrc, kind, layer);
    if (!s) {
        st->rx_bad++;
        return;
    }
    atomic_fetch_add_explicit(&st->rx_packets, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&st->rx_bytes, len, memory_order_relaxed);
    if (!p->first_media_us) hx__load_first_media(p, now_us);
    if (!s->started) {
        s->started = true;
        s->first_us = now_us;
        s->first = s->highest = counter;
        s->window = 1;
        s->received = 1;
        s->ext_seq = h.seq;
    } else {
        int16_t ds = (int16_t)(h.seq - (uint16_t)s->ext_seq);
        if (ds > 0) s->ext_seq += (uint32_t)ds;
        int32_t d = (int32_t)(counter - s->highest);
        if (d > 0) {
            s->window = d >= 64 ? 1 : s->window << d | 1;
            s->highest = counter;
            s->received++;
        } else if (d > -64 && (int32_t)(counter - s->first) >= 0 && !(s->window & 1ull << -d)) {
            s->window |= 1ull << -d;
            s->received++;
        } else {
            st->dup_or_late++;
            return;
        }
    }
    s->bytes += len;
    s->last_us = now_us;
    int64_t transit = (int64_t)(now_us - sent);
    hx_load_hist_add(kind == HX_LOAD_KIND_AUDIO ? &st->lat_audio : &st->lat_video, transit);
    if (s->last_transit_us || s->received > 1) {
        double dd = (double)llabs(transit - s->last_transit_us);
        s->jitter_us += (dd - s->jitter_us) / 16.0;
    }
    s->last_transit_us = transit;
}

/* Whether s is the stream of its SSRC that arrived last: the layer that SSRC ended on. */
static bool last_of_ssrc(const hx_load_part *p, const hx_load_rxs *s)
{
    for (int i = 0; i < p->n_rx; i++) {
        const hx_load_rxs *o = &p->rx[i];
        if (o != s && o->started && o->ssrc == s->ssrc && o->last_us > s->last_us) return false;
    }
    return true;
}

void hx_load_rx_finish(hx_load_part *p, hx_load_stats *st)
{
    int g = p->constrained ? HX_LOAD_CONSTRAINED : HX_LOAD_OPEN;
    if (p->expects_media) st->g_receivers[g]++;
    for (int i = 0; i < p->n_rx; i++) {
        const hx_load_rxs *s = &p->rx[i];
        if (!s->started) continue;
        uint64_t expected = (uint64_t)(s->highest - s->first) + 1;
        st->expected += expected;
        st->received += s->received;
        st->g_expected[g] += expected;
        st->g_received[g] += s->received;
        st->jitter_sum_us += (uint64_t)s->jitter_us;
        st->jitter_streams++;
        if (s->kind == HX_LOAD_KIND_VIDEO && s->last_us > s->first_us) {
            uint64_t span = s->last_us - s->first_us;
            st->layer_bytes[s->layer] += s->bytes;
            st->layer_span_us[s->layer] += span;
            st->layer_streams[s->layer]++;
            st->g_layer_bytes[g][s->layer] += s->bytes;
            st->g_layer_span_us[g][s->layer] += span;
            st->g_layer_streams[g][s->layer]++;
            if (last_of_ssrc(p, s)) st->g_layer_final[g][s->layer]++;
        }
    }
}
