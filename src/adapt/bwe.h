/*
 * A subscriber's downlink bandwidth estimate, from what its client reports back: transport-wide
 * congestion control feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01) when it
 * negotiated the extension, REMB (draft-alvestrand-rmcat-remb-03) and receiver reports' loss
 * otherwise (aiortc). docs/design.md §1 names the algorithm; the constants are below.
 *
 * Google Congestion Control (draft-ietf-rmcat-gcc-02) as libwebrtc runs it, kept small:
 *
 *  - Delay: packets sent within 5 ms of a group's first form a group; for consecutive groups the
 *    change in one-way delay (arrival delta minus send delta) is accumulated and smoothed
 *    (0.9 / 0.1), and a least-squares line through the last 20 (arrival time, smoothed delay)
 *    points gives the trend. The trend times min(groups, 60) times 4 is compared with an adaptive
 *    threshold (start 12.5, kept in 6..600, moving toward |trend| at 0.0087/ms when above it and
 *    0.039/ms when below): over it for more than 10 ms and two groups while rising is overuse,
 *    under its negative is underuse.
 *  - Rate (AIMD): overuse sets the delay-based rate to 0.85 × the acknowledged rate (what
 *    arrived in the last second, by the receiver's clock); underuse holds; otherwise it grows
 *    8 % a second, never past 1.5 × the acknowledged rate + 10 kbps (an estimate is only believed
 *    as far as traffic has shown it).
 *  - Loss: every 300 ms with at least 20 packets reported, a loss fraction under 2 % lets the
 *    loss-based rate grow 8 % a second (same cap); over 10 % cuts it by half the fraction, and
 *    into [0.85, 1] × the rate that arrived in that interval (what the link did deliver: under
 *    heavy loss the estimate is never above it, and never far below); in between it holds.
 *  - The estimate is the lower of the two (and of a REMB when there is no transport-cc), in
 *    [min_bps, max_bps].
 *  - Probing: an estimate grows only as far as traffic shows it, so to climb to a layer it does
 *    not send the caller asks hx_bwe_probe_due with the rate it would use. A probe sends at twice
 *    the estimate (1.5 × after a failed one), capped at what is wanted, for 400 ms with padding
 *    around the media; every packet in that time carries its id. Once feedback covers it, a probe
 *    with at most 5 % loss raises the estimate to the lower of its send and receive rates (95 % of
 *    the receive rate when that was under 90 % of the send rate: the link was full). The next
 *    probe comes 1 s after a success, 3 s after a failure or a probe that found the link full
 *    (the next then aims at 1.5 ×). Probes need transport-cc, not recent feedback: a paused
 *    downlink sends nothing else to report on.
 *
 * Pure: no clock, no allocation, no I/O. Times come in; one value per subscriber transport.
 */
#ifndef HX_ADAPT_BWE_H
#define HX_ADAPT_BWE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HX_BWE_WINDOW 20  /* trendline points */
#define HX_BWE_BUCKETS 12 /* 100 ms buckets of acknowledged bytes (1 s used) */

typedef struct hx_bwe_config {
    uint32_t min_bps, start_bps, max_bps;
} hx_bwe_config;

/** Defaults: 100 kbps .. 20 Mbps, starting at 2 Mbps. */
void hx_bwe_config_default(hx_bwe_config *c);
/** NULL when usable, else what is wrong (for a refusal at start). */
const char *hx_bwe_config_check(const hx_bwe_config *c);

/** One packet's fate as transport-cc feedback reports it. */
typedef struct hx_bwe_pkt {
    int64_t send_ms;    /* when hearth sent it */
    int64_t arrival_us; /* the receiver's clock; negative: reported lost */
    uint16_t size;      /* bytes on the wire */
    uint8_t probe;      /* the probe it belonged to, 0: none */
} hx_bwe_pkt;

/** A probe to run: pad up to bps until until_ms, tagging every packet with id. */
typedef struct hx_bwe_probe {
    uint8_t id;
    uint32_t bps;
    int64_t until_ms;
} hx_bwe_probe;

typedef enum { HX_BWE_NORMAL = 0, HX_BWE_OVERUSE, HX_BWE_UNDERUSE } hx_bwe_signal;

typedef struct hx_bwe {
    hx_bwe_config cfg;
    uint32_t estimate;
    double delay_bps, loss_bps;

    /* Inter-arrival groups. */
    bool in_group, have_prev;
    int64_t g_first_send_ms, g_send_ms,
        g_arrival_us;                /* the open group: first/last send, last arrival */
    int64_t p_send_ms, p_arrival_us; /* the group before it */

    /* Trendline. */
    double acc_delay, smoothed, first_arrival_ms;
    bool have_first;
    double wx[HX_BWE_WINDOW], wy[HX_BWE_WINDOW];
    unsigned n_points, head, n_deltas;
    double threshold, prev_trend, over_ms;
    int over_count;
    int64_t last_threshold_ms;
    hx_bwe_signal signal;

    /* Rate control. */
    int64_t last_delay_ms, last_loss_ms;

    /* Acknowledged rate: bytes by 100 ms of arrival time. */
    uint64_t bucket_bytes[HX_BWE_BUCKETS];
    int64_t bucket_at;   /* index (arrival ms / 100) of the newest bucket; -1: none yet */
    int64_t acked_since; /* the first arrival's bucket */

    /* Loss intervals. */
    uint32_t loss_sent, loss_lost;
    int64_t loss_start_ms;
    uint64_t loss_bytes;                   /* received in the interval */
    int64_t loss_first_arr, loss_last_arr; /* its arrivals' span (us; first -1: none yet) */
    double last_loss;

    /* REMB / RR (peers without transport-cc). */
    uint32_t remb_bps;
    int64_t twcc_ms; /* last transport-cc feedback; 0: never */

    /* Probing. */
    uint8_t probe_id; /* current or last, 0: none yet */
    int probe_state;  /* 0 idle, 1 running, 2 awaiting feedback */
    uint32_t probe_bps;
    int64_t probe_end_ms, next_probe_ms;
    bool probe_failed;
    uint32_t p_sent, p_lost;
    uint64_t p_bytes_sent, p_bytes_recv;
    int64_t p_first_send, p_last_send, p_first_arr, p_last_arr;
    uint16_t p_first_size, p_last_size;
    uint64_t probes, probes_ok;
} hx_bwe;

void hx_bwe_init(hx_bwe *b, const hx_bwe_config *cfg);
/** A transport-cc feedback message's packets, in sequence order. */
void hx_bwe_on_feedback(hx_bwe *b, const hx_bwe_pkt *p, size_t n, int64_t now_ms);
/** A REMB: used while no transport-cc feedback came in the last 2 s. */
void hx_bwe_on_remb(hx_bwe *b, uint64_t bps, int64_t now_ms);
/** A receiver report's fraction lost (0..255) for what hearth sent: the loss controller's input
 *  while no transport-cc feedback came in the last 2 s. */
void hx_bwe_on_rr_loss(hx_bwe *b, uint8_t fraction_lost, int64_t now_ms);
static inline uint32_t hx_bwe_estimate(const hx_bwe *b)
{
    return b->estimate;
}
/** The receiver's rate over its last ten complete 100 ms (0 until known). */
uint32_t hx_bwe_acked(const hx_bwe *b);
/**
 * The caller would use `wanted_bps`: true when a probe should start now (*out says how). Needs
 * transport-cc (a REMB-only peer is never probed).
 */
bool hx_bwe_probe_due(hx_bwe *b, uint32_t wanted_bps, int64_t now_ms, hx_bwe_probe *out);
/** The probe tag for a packet sent now (0 outside a probe). */
static inline uint8_t hx_bwe_probe_tag(const hx_bwe *b, int64_t now_ms)
{
    return b->probe_state == 1 && now_ms < b->probe_end_ms ? b->probe_id : 0;
}

#endif
