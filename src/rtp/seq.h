/*
 * RTP sequence numbers: 16-bit unwrapping to 64 bits (RFC 3550 A.1), and
 * the per-subscriber rewriter that gives a subscriber one continuous
 * stream (SSRC, seq, timestamp) across source switches.
 *
 * Both are small value types the caller embeds (one per stream, one per
 * subscriber stream); no allocation, no clock: times are passed in.
 */
#ifndef HX_RTP_SEQ_H
#define HX_RTP_SEQ_H

#include <stddef.h>
#include <stdint.h>

/** A forward jump larger than this is suspect (RFC 3550 A.1). */
#define HX_SEQ_MAX_DROPOUT 3000
/** A backward step larger than this is suspect (mediasoup's value; RFC 3550 uses 100). */
#define HX_SEQ_MAX_MISORDER 1500

/** Results of hx_seq_unwrap. */
enum {
    HX_SEQ_BAD = -1, /**< a big jump not yet confirmed: *ext not set, drop the packet */
    HX_SEQ_NEW = 0,  /**< newest so far */
    HX_SEQ_OLD = 1,  /**< reordered, retransmitted or duplicate */
    HX_SEQ_RESET = 2 /**< a big jump confirmed by the next packet: the source restarted */
};

/** Unwrapper state. Extended numbers start at 65536 + the first seq, so late packets fit. */
typedef struct {
    int started;
    uint64_t max;     /**< highest extended seq */
    uint32_t bad_seq; /**< RFC 3550 A.1 bad_seq; > 0xffff when none */
} hx_seq_unwrap;

/** Reset to "no packet seen". */
void hx_seq_unwrap_init(hx_seq_unwrap *u);

/** Extend seq; returns HX_SEQ_*. After HX_SEQ_RESET *ext is still above every earlier one. */
int hx_seq_unwrap_push(hx_seq_unwrap *u, uint16_t seq, uint64_t *ext);

/** Extend seq relative to the current maximum without changing state (0 if none yet). */
uint64_t hx_seq_unwrap_peek(const hx_seq_unwrap *u, uint16_t seq);

/** Dropped input seqs remembered so reordered packets map correctly. */
#define HX_SEQ_RW_DROPS 64

/** Results of hx_seq_rw_map. */
enum {
    HX_SEQ_RW_FORWARD = 0, /**< send with *seq_out / *ts_out */
    HX_SEQ_RW_SKIP = 1,    /**< do not send (before the switch, too old, unconfirmed jump) */
};

/** Per-subscriber rewriter state (mediasoup SeqManager + RtpStreamSend). */
typedef struct {
    uint32_t clock_rate;
    int started, switch_pending;
    uint32_t src_ssrc;
    hx_seq_unwrap in;
    uint64_t in_base, out_base, out_max, dropped, drop_floor;
    uint64_t drops[HX_SEQ_RW_DROPS]; /**< ring of dropped extended input seqs, increasing */
    size_t drop_head, drop_n;
    uint32_t ts_offset, last_ts_out;
    uint64_t last_us; /**< wall time of the newest packet sent */
} hx_seq_rewriter;

/** Start a rewriter: the first packet goes out as first_seq / first_ts. */
void hx_seq_rw_init(hx_seq_rewriter *rw, uint32_t clock_rate, uint16_t first_seq,
                    uint32_t first_ts);

/**
 * Map a source packet. A new src_ssrc, a pending switch or a confirmed
 * restart re-bases: seq continues at last+1, the timestamp advances by
 * the wall time since the last packet sent (at least 1). Pass only the
 * packets of the source being forwarded: any other SSRC is a switch.
 */
int hx_seq_rw_map(hx_seq_rewriter *rw, uint32_t src_ssrc, uint16_t seq, uint32_t ts,
                  uint64_t now_us, uint16_t *seq_out, uint32_t *ts_out);

/** A packet of the current source is not forwarded: later packets close the gap. */
void hx_seq_rw_drop(hx_seq_rewriter *rw, uint32_t src_ssrc, uint16_t seq);

/** Re-base at the next mapped packet (layer switch, resume after pause). */
void hx_seq_rw_switch(hx_seq_rewriter *rw);

#endif
