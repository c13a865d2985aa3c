/*
 * Receive statistics, RFC 3550 A.3 (loss) and A.8 (jitter).
 *
 *   expected  = extended max - base + 1
 *   lost      = expected - received            (cumulative, signed)
 *   fraction  = (expected_interval - received_interval) * 256 /
 *               expected_interval, 0 when negative (A.3)
 *   jitter    = J += (|D| - J) / 16 with D the change in transit time
 *               (arrival in clock units - RTP timestamp), kept scaled by
 *               16 in integers as A.8 does
 * Extended numbers come from hx_seq_unwrap, which starts at 65536 + seq;
 * the report subtracts that lap so the cycle count starts at 0.
 */
#include "rtp/stats.h"

#include <string.h>

void hx_rx_stats_init(hx_rx_stats *s, uint32_t clock_rate)
{
    memset(s, 0, sizeof *s);
    s->clock_rate = clock_rate;
    hx_seq_unwrap_init(&s->seq);
}

static void restart(hx_rx_stats *s, uint64_t ext)
{
    s->base_ext = ext;
    s->received = 0;
    s->expected_prior = 0;
    s->received_prior = 0;
    s->have_transit = 0;
}

int hx_rx_stats_update(hx_rx_stats *s, uint16_t seq, uint32_t rtp_ts, uint64_t arrival_us)
{
    uint64_t ext;
    int first = !s->seq.started;
    int kind = hx_seq_unwrap_push(&s->seq, seq, &ext);
    if (kind == HX_SEQ_BAD) return kind;
    if (first || kind == HX_SEQ_RESET) restart(s, ext);
    s->received++;
    if (kind == HX_SEQ_OLD) return kind;

    uint32_t arrival = (uint32_t)(arrival_us * s->clock_rate / 1000000u);
    int32_t transit = (int32_t)(arrival - rtp_ts);
    if (s->have_transit) {
        int64_t d = (int64_t)transit - s->transit;
        if (d < 0) d = -d;
        if (d > INT32_MAX) d = INT32_MAX;
        s->jitter_q4 += (uint32_t)d - ((s->jitter_q4 + 8) >> 4);
    }
    s->transit = transit;
    s->have_transit = 1;
    return kind;
}

uint64_t hx_rx_stats_expected(const hx_rx_stats *s)
{
    return s->seq.started ? s->seq.max - s->base_ext + 1 : 0;
}

int64_t hx_rx_stats_lost(const hx_rx_stats *s)
{
    return (int64_t)hx_rx_stats_expected(s) - (int64_t)s->received;
}

void hx_rx_stats_report(hx_rx_stats *s, uint32_t ssrc, hx_rtcp_rb *rb)
{
    memset(rb, 0, sizeof *rb);
    rb->ssrc = ssrc;
    if (!s->seq.started) return;
    uint64_t expected = hx_rx_stats_expected(s);
    int64_t lost = hx_rx_stats_lost(s);
    uint64_t exp_int = expected - s->expected_prior;
    int64_t lost_int = (int64_t)exp_int - (int64_t)(s->received - s->received_prior);
    s->expected_prior = expected;
    s->received_prior = s->received;
    if (exp_int > 0 && lost_int > 0) {
        int64_t f = (lost_int << 8) / (int64_t)exp_int;
        rb->fraction_lost = (uint8_t)(f > 255 ? 255 : f);
    }
    if (lost > 0x7fffff) lost = 0x7fffff;
    if (lost < -0x800000) lost = -0x800000;
    rb->cumulative_lost = (int32_t)lost;
    rb->ext_highest_seq = (uint32_t)(s->seq.max - 0x10000u);
    rb->jitter = s->jitter_q4 >> 4;
}
