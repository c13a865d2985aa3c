/*
 * Per-stream packet cache for answering NACKs, and RTX (RFC 4588)
 * wrapping and unwrapping.
 *
 * The cache is allocated once, when the stream is created, and never
 * again: a power-of-two number of fixed 1500-byte slots indexed by
 * sequence number. Entries also expire by age. Lookups are O(1) and
 * allocation-free, for the per-packet path.
 */
#ifndef HX_RTP_CACHE_H
#define HX_RTP_CACHE_H

#include "rtp/rtp.h"
#include "rtp/seq.h"

#include <stddef.h>
#include <stdint.h>

/** Largest cache (slots); a power of two that divides 65536. */
#define HX_RTP_CACHE_MAX 32768

/** One cached packet. */
typedef struct {
    uint64_t ext_seq;    /**< extended seq; 0 = empty slot */
    uint64_t arrival_us; /**< when it was stored */
    uint64_t resent_us;  /**< last retransmission; 0 = never */
    uint16_t len;
    uint8_t data[HX_RTP_MAX_PACKET];
} hx_rtp_cache_entry;

/** The cache: capacity slots, entries older than max_age_us are ignored. */
typedef struct {
    hx_rtp_cache_entry *slots;
    size_t capacity;
    uint64_t max_age_us;
    hx_seq_unwrap seq;
} hx_rtp_cache;

/** Allocate the slots (capacity: power of two, 16..HX_RTP_CACHE_MAX). 0 or -ENOMEM/-EINVAL. */
int hx_rtp_cache_init(hx_rtp_cache *c, size_t capacity, uint64_t max_age_us);

/** Free the slots; safe on a zeroed or already destroyed cache. */
void hx_rtp_cache_destroy(hx_rtp_cache *c);

/** Store a copy of an RTP packet (its seq is read from the header). 0 or HX_RTP_E*. */
int hx_rtp_cache_put(hx_rtp_cache *c, const uint8_t *pkt, size_t len, uint64_t now_us);

/** The entry for seq if cached and not expired, else NULL. */
const hx_rtp_cache_entry *hx_rtp_cache_get(const hx_rtp_cache *c, uint16_t seq, uint64_t now_us);

/**
 * NACK responder: the entry for seq if it may be resent now, i.e. it was
 * not resent within min_interval_us (about one RTT); marks it resent.
 */
const hx_rtp_cache_entry *hx_rtp_cache_resend(hx_rtp_cache *c, uint16_t seq, uint64_t now_us,
                                              uint64_t min_interval_us);

/**
 * Build the RTX packet for an original RTP packet: header, CSRCs and
 * extensions copied, SSRC/PT/seq replaced, the original seq (OSN) in the
 * first two payload bytes, padding dropped. Returns its length or HX_RTP_E*.
 */
long hx_rtx_wrap(uint8_t *out, size_t cap, const uint8_t *pkt, size_t len, uint32_t rtx_ssrc,
                 uint8_t rtx_pt, uint16_t rtx_seq);

/**
 * Turn an RTX packet back into the original in place: seq from the OSN,
 * the given SSRC and PT, the OSN removed. Returns the new length, or
 * HX_RTP_E* (HX_RTP_EINVAL for an RTX packet without an OSN, i.e. padding).
 */
long hx_rtx_unwrap(uint8_t *buf, size_t len, uint32_t ssrc, uint8_t pt);

#endif
