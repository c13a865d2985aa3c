/*
 * Transport-wide congestion control feedback (draft-holmer-rmcat-
 * transport-wide-cc-extensions-01) for publishers: every packet that
 * carries the transport-wide sequence number has its arrival time noted,
 * and every 50 ms the transport sends one feedback packet covering what
 * arrived (and what did not) since the last one. With it, a browser's
 * send-side bandwidth estimator ramps up its bitrate toward what the path
 * carries instead of staying at its start rate.
 *
 * Memory: a ring of HX__TWCC_RING arrival times (8 KiB) per publisher
 * transport, allocated with the first packet that carries a sequence number,
 * so that a participant who never publishes (its publisher transport idle) or
 * a sender without the extension costs nothing; a gap wider than the ring is
 * reported as lost. Without the memory for it a transport gets no feedback
 * until the next answer negotiates the extension again.
 */
#include "sfu/engine_internal.h"

#include "rtp/rtcp.h"

#include <stdlib.h>
#include <string.h>

#define FEEDBACK_MS 50

void hx__twcc_init(hx__twcc *w)
{
    memset(w, 0, sizeof *w);
    hx_seq_unwrap_init(&w->seq);
    for (size_t i = 0; i < HX__TWCC_RING; i++)
        w->arrival_us[i] = -1;
}

void hx__twcc_on_packet(hx__transport *t, const uint8_t *pkt, const hx_rtp_hdr *h)
{
    uint16_t seq;
    if (!t->twcc_id || hx_rtp_ext_twcc_seq(pkt, h, t->twcc_id, &seq) < 0) return;
    if (!t->twcc) {
        if (!(t->twcc = malloc(sizeof *t->twcc))) {
            t->twcc_id = 0; /* not again for every packet */
            return;
        }
        hx__twcc_init(t->twcc);
    }
    hx__twcc *w = t->twcc;
    uint64_t ext;
    if (hx_seq_unwrap_push(&w->seq, seq, &ext) < 0) return;
    if (!w->started) {
        w->started = true;
        w->base = ext;
        w->highest = ext;
    }
    if (ext < w->base) return; /* reported already (as lost) */
    if (ext > w->highest) {
        for (uint64_t s = w->highest + 1; s < ext; s++) /* the gap, until something fills it */
            w->arrival_us[s % HX__TWCC_RING] = -1;
        w->highest = ext;
    }
    if (w->highest - w->base >= HX__TWCC_RING) w->base = w->highest - HX__TWCC_RING + 1;
    w->arrival_us[ext % HX__TWCC_RING] = t->e->now_ms * 1000;
    w->media_ssrc = h->ssrc;
    hx__arm(t, w->last_ms + FEEDBACK_MS);
}

void hx__twcc_tick(hx__transport *t)
{
    hx__twcc *w = t->twcc;
    int64_t now = t->e->now_ms;
    if (!w->started || w->base > w->highest || now - w->last_ms < FEEDBACK_MS) return;
    w->last_ms = now;
    int64_t arrivals[HX__TWCC_RING];
    size_t n = (size_t)(w->highest - w->base + 1);
    for (size_t i = 0; i < n; i++)
        arrivals[i] = w->arrival_us[(w->base + i) % HX__TWCC_RING];
    /* The reference time is the first arrival: skip leading losses into the next report's range. */
    uint8_t buf[1200];
    size_t used = 0;
    long len = hx_rtcp_twcc_build(buf, sizeof buf, 1, w->media_ssrc, (uint16_t)w->base, w->fb_count,
                                  arrivals, n, &used);
    if (len <= 0 || used == 0) return;
    hx__send_rtcp(t, buf, (size_t)len);
    w->fb_count++;
    w->base += used;
}
