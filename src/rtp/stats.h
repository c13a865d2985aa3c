/*
 * Receive side of a stream: RFC 3550 statistics for RR report blocks and
 * metrics (A.3 loss, A.8 jitter), and the NACK generator that decides
 * which missing packets hearth asks a publisher to resend.
 *
 * Both are fixed-size value types embedded in the receive stream; times
 * are passed in (microseconds on any monotonic clock).
 */
#ifndef HX_RTP_STATS_H
#define HX_RTP_STATS_H

#include "rtp/rtcp.h"
#include "rtp/seq.h"

#include <stddef.h>
#include <stdint.h>

/** RFC 3550 A.3 / A.8 receive statistics. */
typedef struct {
    uint32_t clock_rate;
    hx_seq_unwrap seq;
    uint64_t base_ext;       /**< first extended seq */
    uint64_t received;       /**< packets received, duplicates included (A.3) */
    uint64_t expected_prior; /**< at the last report */
    uint64_t received_prior;
    int have_transit;
    int32_t transit;    /**< last arrival - timestamp, clock units */
    uint32_t jitter_q4; /**< interarrival jitter * 16 (A.8) */
} hx_rx_stats;

/** Reset for a stream of clock_rate Hz. */
void hx_rx_stats_init(hx_rx_stats *s, uint32_t clock_rate);

/**
 * Account one received packet. Returns the hx_seq_unwrap_push result;
 * HX_SEQ_BAD packets are not counted, HX_SEQ_RESET restarts the counts
 * as RFC 3550 A.1 init_seq does. Jitter is updated on in-order packets
 * only (libwebrtc's choice: retransmissions would inflate it).
 */
int hx_rx_stats_update(hx_rx_stats *s, uint16_t seq, uint32_t rtp_ts, uint64_t arrival_us);

/** Packets expected so far (A.3). */
uint64_t hx_rx_stats_expected(const hx_rx_stats *s);

/** Cumulative packets lost: expected - received; negative with duplicates (A.3). */
int64_t hx_rx_stats_lost(const hx_rx_stats *s);

/**
 * Fill a report block (ssrc, fraction lost since the last call,
 * cumulative lost clamped to 24 bits, extended highest seq with the cycle
 * count in the upper 16 bits, jitter) and start a new interval. LSR/DLSR
 * are left 0 for the caller, which knows the last SR.
 */
void hx_rx_stats_report(hx_rx_stats *s, uint32_t ssrc, hx_rtcp_rb *rb);

/** Missing packets the generator tracks at once. */
#define HX_NACK_MAX 256

/** Results of hx_nack_gen_on_packet. */
enum {
    HX_NACK_OK = 0,
    HX_NACK_KEYFRAME = 1, /**< more missing than can be tracked: list cleared, ask a keyframe */
};

/** One missing packet. */
typedef struct {
    uint64_t ext;
    uint64_t sent_us; /**< last NACK for it; 0 = not yet */
    uint8_t tries;
} hx_nack_item;

/** Receive-side NACK generator. */
typedef struct {
    hx_seq_unwrap seq;
    uint8_t max_tries;
    uint16_t max_age_seq; /**< a missing packet this far behind the newest is given up */
    size_t n;
    hx_nack_item items[HX_NACK_MAX]; /**< increasing ext */
} hx_nack_gen;

/** Reset; e.g. max_tries 10, max_age_seq 10000 (libwebrtc's NackRequester). */
void hx_nack_gen_init(hx_nack_gen *g, uint8_t max_tries, uint16_t max_age_seq);

/** Note a received packet (originals and recovered ones): HX_NACK_OK or HX_NACK_KEYFRAME. */
int hx_nack_gen_on_packet(hx_nack_gen *g, uint16_t seq);

/**
 * The seqs to NACK now (up to cap, oldest first): missing ones not asked
 * for within rtt_us. Each one counts a try; after max_tries it is dropped.
 * Returns how many were written.
 */
size_t hx_nack_gen_collect(hx_nack_gen *g, uint64_t now_us, uint64_t rtt_us, uint16_t *out,
                           size_t cap);

#endif
